package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// healthcheckCmd asks the running server whether it is ready: it GETs
// /readyz on the configured http.addr (a wildcard host becomes the
// loopback) and fails unless the answer is 200. The runtime image has no
// shell or curl, so Docker's and compose's health checks run this.
func healthcheckCmd(ctx context.Context, cfg *Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("path", "/readyz", "path to GET (/healthz: the process only; /readyz: database and Redis too)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("usage: server healthcheck [-path /readyz] [-timeout 5s]")
	}
	url, err := healthcheckURL(cfg.HTTP.Addr, *path)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s: %s %s", url, resp.Status, body)
	}
	fmt.Fprintf(stdout, "ok: GET %s: %s\n", url, resp.Status)
	return nil
}

// healthcheckURL turns a listen address into a URL this host can reach.
func healthcheckURL(addr, path string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("healthcheck: http.addr %q: %w", addr, err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	if port == "0" {
		return "", fmt.Errorf("healthcheck: http.addr %q has no fixed port", addr)
	}
	return "http://" + net.JoinHostPort(host, port) + path, nil
}
