package louyuan

import (
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"
)

// Unreachable reports whether err says that a backing service (the
// database, Redis) could not be reached or dropped the connection, rather
// than refused the request: a refused or reset connection, a dial
// failure, a connection the driver found dead ("invalid connection",
// driver.ErrBadConn), or a server shutting down (MySQL 1053) or killing the
// connection (1927). Such an error is a 503 the client may retry, never a
// 500.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	// The MySQL driver's own sentinels and server errors, known by their
	// text so that this package needs no driver.
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch msg := e.Error(); {
		case msg == "invalid connection", msg == "driver: bad connection",
			strings.HasPrefix(msg, "Error 1053"), strings.HasPrefix(msg, "Error 1927"):
			return true
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				if Unreachable(inner) {
					return true
				}
			}
		}
	}
	return false
}

// ErrUnreachable is the error a client sees when a backing service is
// down: a 503 with a Chinese message to try again shortly.
func ErrUnreachable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: "service_unavailable", Message: "服务暂时不可用，请稍后再试", Err: err}
}
