package api

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/louyuan/louyuan/internal/louyuan"
)

// statusOf is the one table from error kinds to HTTP statuses.
var statusOf = map[louyuan.Kind]int{
	louyuan.KindInvalid:          http.StatusBadRequest,
	louyuan.KindMethodNotAllowed: http.StatusMethodNotAllowed,
	louyuan.KindUnauthorized:     http.StatusUnauthorized,
	louyuan.KindForbidden:        http.StatusForbidden,
	louyuan.KindNotFound:         http.StatusNotFound,
	louyuan.KindConflict:         http.StatusConflict,
	louyuan.KindTooLarge:         http.StatusRequestEntityTooLarge,
	louyuan.KindRateLimited:      http.StatusTooManyRequests,
	louyuan.KindUnavailable:      http.StatusServiceUnavailable,
	louyuan.KindInternal:         http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail carries a stable code and a Chinese message.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Details   any    `json:"details,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// fail writes err as a JSON error. Internal causes are logged with the
// request ID, never sent.
func fail(c *gin.Context, err error) {
	var e *louyuan.Error
	if !errors.As(err, &e) {
		e = louyuan.Internalf(err, "unexpected error")
	}
	if e.Kind == louyuan.KindInternal && louyuan.Unreachable(err) {
		// The database or Redis is down or dropped the connection: the
		// client may try again shortly (503), nothing is broken (500).
		e = louyuan.ErrUnreachable(err)
	}
	status, ok := statusOf[e.Kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	rid := c.GetString(requestIDKey)
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	if status >= 500 {
		slog.ErrorContext(c.Request.Context(), "request failed", "request_id", rid, "code", e.Code, "err", e.Error())
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, Details: e.Details, RequestID: rid}})
}

var (
	errBadJSON    = louyuan.Invalid("bad_json", "请求内容不是有效的 JSON")
	errBadRequest = louyuan.Invalid("bad_request", "请求参数有误，请检查后重试")
	errTooLarge   = &louyuan.Error{Kind: louyuan.KindTooLarge, Code: "body_too_large", Message: "上传的内容太大"}
	errBadID      = louyuan.Invalid("bad_id", "编号格式不正确")
)
