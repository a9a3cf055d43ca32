package wechat

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// realAPIBase is the origin every mini-program URL in the SDK starts with.
const realAPIBase = "https://api.weixin.qq.com"

// sdkHTTPBackstop is the least Timeout of the SDK's process-wide HTTP client.
// Calls made by Client are bounded by Config.Timeout through their context;
// the client's own Timeout only guards SDK paths that take no context.
const sdkHTTPBackstop = 30 * time.Second

// sdkGlobals records what New installed in the SDK's package variables
// util.SetURIModifier and util.DefaultHTTPClient. The SDK reads both without
// synchronisation on every request, so they are written once per process,
// before the first request, and never again.
var sdkGlobals struct {
	sync.Mutex
	installed bool
	baseURL   string
}

// installSDKGlobals points the SDK at baseURL ("" for the real API) and
// gives it an HTTP client with a timeout. A later call must ask for the same
// baseURL: two clients talking to different WeChat origins cannot coexist in
// one process.
func installSDKGlobals(baseURL string, timeout time.Duration) error {
	sdkGlobals.Lock()
	defer sdkGlobals.Unlock()
	if sdkGlobals.installed {
		if sdkGlobals.baseURL != baseURL {
			return fmt.Errorf("wechat: BaseURL %q conflicts with %q already installed process-wide in the SDK", baseURL, sdkGlobals.baseURL)
		}
		return nil
	}

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64 // the default of 2 churns connections under load
	util.DefaultHTTPClient = &http.Client{
		Transport: transport,
		Timeout:   max(timeout, sdkHTTPBackstop),
	}
	if baseURL != "" {
		util.SetURIModifier(func(uri string) string {
			if rest, ok := strings.CutPrefix(uri, realAPIBase); ok {
				return baseURL + rest
			}
			return uri
		})
	}
	sdkGlobals.installed = true
	sdkGlobals.baseURL = baseURL
	return nil
}

// fixedToken is an access-token handle that answers one token. Each call
// hands the SDK a context holding the token it fetched itself, so that on
// 40001/42001 the client knows exactly which token was rejected.
type fixedToken string

func (t fixedToken) GetAccessToken() (string, error) { return string(t), nil }

func (t fixedToken) GetAccessTokenContext(context.Context) (string, error) { return string(t), nil }

// secretParams matches query parameters that must not reach a log: the SDK
// and net/http put the full URL, query included, into their error messages.
var secretParams = regexp.MustCompile(`((?:secret|access_token|js_code)=)[^&\s"]*`)

// redactedError hides secrets in the message of the error it wraps.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redact returns err with app secrets, access tokens and login codes masked
// in its message; errors.Is and errors.As still see the original.
func redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := secretParams.ReplaceAllString(msg, "${1}REDACTED")
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// maskPhone keeps the first three and last four digits: 138****1234.
func maskPhone(phone string) string {
	if len(phone) < 8 {
		return strings.Repeat("*", len(phone))
	}
	return phone[:3] + strings.Repeat("*", len(phone)-7) + phone[len(phone)-4:]
}
