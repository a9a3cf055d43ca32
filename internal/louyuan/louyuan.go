// Package louyuan is the shared kernel of the Louyuan backend: the one coded
// error type every layer returns, and the small value types (areas, scopes)
// that several domain packages share. It imports nothing but the standard
// library.
package louyuan

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is the class of an error. The API layer maps each Kind to one HTTP
// status; domain code never thinks in HTTP terms.
type Kind string

// The error kinds.
const (
	KindInvalid          Kind = "invalid"            // the request itself is wrong
	KindMethodNotAllowed Kind = "method_not_allowed" // the route exists, not with this method
	KindUnauthorized     Kind = "unauthorized"       // no valid session or credentials
	KindForbidden        Kind = "forbidden"          // authenticated, but not allowed here
	KindNotFound         Kind = "not_found"          // no such thing (or not visible to the caller)
	KindConflict         Kind = "conflict"           // the state of things does not allow it
	KindTooLarge         Kind = "too_large"          // a body or file over its limit
	KindRateLimited      Kind = "rate_limited"       // too many attempts; try later
	KindUnavailable      Kind = "unavailable"        // a dependency is down
	KindInternal         Kind = "internal"           // a bug or an unexpected failure
)

// Error is the one error type that crosses package boundaries. Code is a
// stable machine-readable identifier (for example "invite_code_used");
// Message is Chinese text a resident or clerk can act on. Err, when set, is
// the underlying cause: it is logged, never sent to clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details any
	Err     error
	// RetryAfter, on a rate-limited error, is how long until a try may
	// succeed (sent as the Retry-After header).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input.
func Invalid(code, message string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: message}
}

// NotFound reports a missing (or invisible) resource.
func NotFound(code, message string) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: message}
}

// Forbidden reports a caller without the role or scope for an action.
func Forbidden(code, message string) *Error {
	return &Error{Kind: KindForbidden, Code: code, Message: message}
}

// Conflict reports an action the current state does not allow.
func Conflict(code, message string) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: message}
}

// Unauthorized reports a missing, expired or wrong credential.
func Unauthorized(code, message string) *Error {
	return &Error{Kind: KindUnauthorized, Code: code, Message: message}
}

// Limited is a rate-limited error with a Chinese message that says when to
// try again, and the same wait in RetryAfter.
func Limited(code string, retry time.Duration, format string, args ...any) *Error {
	return &Error{Kind: KindRateLimited, Code: code, Message: fmt.Sprintf(format, args...), RetryAfter: retry}
}

// RateLimited reports too many attempts.
func RateLimited(code, message string) *Error {
	return &Error{Kind: KindRateLimited, Code: code, Message: message}
}

// Internalf wraps an unexpected failure; the cause is kept for the log.
func Internalf(err error, format string, args ...any) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Message: "系统繁忙，请稍后再试", Err: fmt.Errorf(format+": %w", append(args, err)...)}
}

// ErrorKind returns the kind of err, KindInternal when err is not an *Error.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// ErrorCode returns the code of err, "internal" when err is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return "internal"
}

// AsError finds the *Error in err's chain.
func AsError(err error, target **Error) bool { return errors.As(err, target) }

// IsKind reports whether err is an *Error of the given kind.
func IsKind(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// China is the time zone residents and staff read every time in (UTC+8,
// no daylight saving): dates of council terms, invite expiries, times in
// exports and notices.
var China = time.FixedZone("CST", 8*3600)

// Limiter counts tries per key within a window (Redis, shared by every
// instance).
type Limiter interface {
	Allow(ctx context.Context, key string, limit int, per time.Duration) (ok bool, retryAfter time.Duration, err error)
}

// HourlyLimit is how many tries of Key an hour; a Limit of 0 is none.
type HourlyLimit struct {
	Key   string
	Limit int
}

// AllowHourly counts one try against each of limits in turn. Past one it
// answers Limited with code and message, a format given the minutes to
// wait (e.g. "查找次数过多，请%d分钟后再试").
func AllowHourly(ctx context.Context, l Limiter, code, message string, limits ...HourlyLimit) error {
	for _, h := range limits {
		if h.Limit <= 0 {
			continue
		}
		ok, retry, err := l.Allow(ctx, h.Key, h.Limit, time.Hour)
		if err != nil {
			return err
		}
		if !ok {
			return Limited(code, retry, message, int(retry.Minutes())+1)
		}
	}
	return nil
}
