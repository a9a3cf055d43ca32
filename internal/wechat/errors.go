package wechat

import (
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/util"
)

// WeChat errcode values that callers of this package may want to act on.
const (
	CodeBusy            = -1    // system busy; retry later
	CodeInvalidToken    = 40001 // access_token invalid or not the latest
	CodeInvalidOpenID   = 40003 // openid invalid
	CodeInvalidCode     = 40029 // login or phone code invalid
	CodeInvalidTemplate = 40037 // template_id invalid
	CodeCodeUsed        = 40163 // login or phone code already used
	CodeTokenExpired    = 42001 // access_token expired
	CodeUserRefused     = 43101 // user has not subscribed to this template (or used up the grant)
	CodeRateLimited     = 45011 // api minute-quota reached
	CodeArgumentInvalid = 47003 // template data invalid
)

// ErrUnavailable is returned, wrapped, when the circuit breaker in front of
// the WeChat API is open: recent calls failed on the transport or with
// "system busy", so this call was not attempted.
var ErrUnavailable = errors.New("wechat: API unavailable (circuit open)")

// APIError is a WeChat answer whose errcode is not 0.
type APIError struct {
	Code int
	Msg  string
}

// Error implements error.
func (e *APIError) Error() string {
	return fmt.Sprintf("wechat: errcode %d: %s", e.Code, e.Msg)
}

// ErrCode returns the WeChat errcode carried by err, or 0 when err is not
// (and does not wrap) an *APIError.
func ErrCode(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return 0
}

// isTokenRejected reports whether err says the access token used was not
// accepted, so a fresh token may make the call succeed.
func isTokenRejected(err error) bool {
	code := ErrCode(err)
	return code == CodeInvalidToken || code == CodeTokenExpired
}

// fromSDKError turns the SDK's *util.CommonError into an *APIError and leaves
// every other error as it is.
func fromSDKError(err error) error {
	var common *util.CommonError
	if errors.As(err, &common) {
		return &APIError{Code: int(common.ErrCode), Msg: common.ErrMsg}
	}
	return err
}
