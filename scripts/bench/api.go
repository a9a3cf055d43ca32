package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// apiClient calls the server over loopback. Every call has its own
// timeout; the transport keeps enough idle connections for the highest
// concurrency so that measured runs reuse connections.
type apiClient struct {
	base string
	hc   *http.Client
	tr   *http.Transport
}

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // per-call context timeouts instead
		DisableCompression:    true,
		ForceAttemptHTTP2:     false,
	}
}

func newAPIClient(base string) *apiClient {
	tr := newTransport()
	return &apiClient{base: base, tr: tr, hc: &http.Client{Transport: tr}}
}

func (a *apiClient) close() { a.tr.CloseIdleConnections() }

// do sends one request and reads the whole answer.
func (a *apiClient) do(ctx context.Context, timeout time.Duration, method, path, token string, body []byte, contentType string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return resp.StatusCode, data, nil
}

// call sends in as JSON (nil: no body), wants the status, and decodes the
// answer into out (nil: ignored).
func (a *apiClient) call(ctx context.Context, timeout time.Duration, method, path, token string, in any, want int, out any) error {
	var body []byte
	ct := ""
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		ct = "application/json"
	}
	status, data, err := a.do(ctx, timeout, method, path, token, body, ct)
	if err != nil {
		return err
	}
	if status != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d: %s", method, path, status, want, clip(data, 500))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w: %s", method, path, err, clip(data, 300))
		}
	}
	return nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
