package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
)

// unhealthyCode marks a failed health check: exit status 1, which a
// container's HEALTHCHECK reads as unhealthy.
const unhealthyCode = "unhealthy"

func (a *app) healthcheckCmd() *cobra.Command {
	var url string
	var timeout time.Duration
	c := &cobra.Command{
		Use:   "healthcheck",
		Short: "Ask a running serve whether it is ready (GET /readyz); exit 0 if so, 1 if not",
		Long: `Ask a running serve whether it can do its work: GET /readyz answers 200 when
the database's migrations are all applied and a write commits. Exit status 0
when ready; 1 with a one-line reason otherwise (not answering, a timeout, or
the reason /readyz gives). Made for a container's HEALTHCHECK: the image has no
curl.

The address is --url, or else AFTERCARE_HTTP_ADDR's (default 127.0.0.1:8080)
with /readyz; a serve listening on every address (0.0.0.0, ::, :8080) is asked
on 127.0.0.1. It does not open the database.`,
		Example: `  aftercare healthcheck
  aftercare healthcheck --url http://127.0.0.1:8080/readyz --timeout 3s`,
		Args: needArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if url == "" {
				cfg, err := loadConfig(a.env)
				if err != nil {
					return envError(err)
				}
				if url, err = readyURL(cfg.HTTPAddr); err != nil {
					return err
				}
			}
			if u, err := neturl.Parse(url); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return &aftercare.Error{Code: usageCode, Message: fmt.Sprintf("--url must be an http:// URL, e.g. http://127.0.0.1:8080/readyz; got %q", url)}
			}
			if timeout <= 0 {
				return &aftercare.Error{Code: usageCode, Message: "--timeout must be positive, e.g. 5s"}
			}
			ctx, cancel := context.WithTimeout(c.Context(), timeout)
			defer cancel()
			if err := checkReady(ctx, url); err != nil {
				if a.jsonOut {
					// A script asking for JSON gets it either way; the
					// exit status and standard error say the same.
					_ = a.printJSON(map[string]string{"status": "not_ready", "url": url, "reason": err.Error()})
				}
				return &aftercare.Error{Code: unhealthyCode, Message: "not ready: " + err.Error()}
			}
			if a.jsonOut {
				return a.printJSON(map[string]string{"status": "ok", "url": url})
			}
			a.printf("ready: %s\n", url)
			return nil
		},
	}
	c.Flags().StringVar(&url, "url", "", "the readiness URL (default: http://AFTERCARE_HTTP_ADDR/readyz)")
	c.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return c
}

// readyURL is /readyz on serve's listening address addr, asked on loopback
// when addr listens on every address.
func readyURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", aftercare.Errorf(aftercare.EINVALID, "AFTERCARE_HTTP_ADDR=%q is not host:port (e.g. 0.0.0.0:8080); or pass --url", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkReady GETs url and returns nil for a 200, or an error with the
// reason: the server's own (/readyz's JSON "reason") when it gave one.
func checkReady(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("bad --url %q: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s did not answer in time", url)
		}
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("%s: nothing is listening there (connection refused): is serve running, and at this address?", url)
		}
		return fmt.Errorf("%s: %w", url, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	var r struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(body, &r) == nil && r.Reason != "" {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, oneLine(r.Reason))
	}
	return fmt.Errorf("%s: %s", url, resp.Status)
}

// unwrapURLError drops *url.Error's "Get \"URL\":" prefix: the URL is
// said once already.
func unwrapURLError(err error) error {
	if u, ok := err.(interface{ Unwrap() error }); ok && u.Unwrap() != nil {
		return u.Unwrap()
	}
	return err
}

// oneLine keeps a reason on one line, as a health check's log shows it.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
