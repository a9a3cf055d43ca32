package louyuan

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
)

func TestUnreachable(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("Error 1062 (23000): Duplicate entry"), false},
		{Internalf(dial, "read motion"), true},
		{fmt.Errorf("begin: %w", driver.ErrBadConn), true},
		{Internalf(errors.New("invalid connection"), "cast"), true},
		{errors.Join(errors.New("x"), fmt.Errorf("q: %w", errors.New("Error 1053 (08S01): Server shutdown in progress"))), true},
		{fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{Invalid("bad", "错误"), false},
	} {
		if got := Unreachable(c.err); got != c.want {
			t.Errorf("Unreachable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
