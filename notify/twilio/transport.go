// This file is the hand-written part of the HTTP path to Twilio: the shared
// connection pool every Send and Lookup uses, and the per-call wrapper
// (call) around it.
//
// Why it exists: twilio-go builds its requests with context.Background()
// and drops the status and headers of an error reply, so without the
// wrapper a Send could not be cancelled, could not tell "never sent" from
// "may have been sent" (Ambiguous), and would lose 429's Retry-After. The
// wrapper is one small struct per call over one shared *http.Transport, not
// an http.Client and transport per call, so that keep-alive connections
// are reused across calls.
//
// What justifies the pool's size: BenchmarkTwilioSend (bench_test.go)
// reports 1 TCP connection for the whole run, and
// BenchmarkTwilioSendConcurrency32, 32 senders at once, 38 to 62
// connections for 5,000 sends (on 2 CPUs); with net/http's default of 2
// idle connections per host the same run opened 284 to 607, each a TCP and
// TLS handshake against the real api.twilio.com. Run
//
//	go test ./notify/twilio -run '^$' -bench TwilioSend -benchtime 5000x
//
// and compare the conns column before changing either.

package twilio

import (
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"
)

// maxIdleConnsPerHost keeps an idle keep-alive connection for each of up
// to 32 sends in flight (AFTERCARE_SEND_CONCURRENCY; docs/performance.md
// measures dispatch up to 32); see the file comment.
const maxIdleConnsPerHost = 32

// newPool returns the transport every call of a Sender shares.
func newPool() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = maxIdleConnsPerHost
	return t
}

// call is the http.RoundTripper of one Send or Lookup. twilio-go builds its
// requests with context.Background() and keeps neither the HTTP status nor
// the headers of an error reply, so each call gets its own transport that
//
//   - gives every request the caller's context (cancellation) and a
//     deadline of Config.Timeout per round trip, body included;
//   - sends requests for https://api.twilio.com/... to Config.BaseURL;
//   - records whether a request was written in full (before that, a failure
//     cannot have sent anything), and the status and headers of the last
//     response (429's Retry-After, a 5xx with an HTML body).
type call struct {
	base    http.RoundTripper
	ctx     context.Context
	timeout time.Duration
	target  *url.URL // nil: leave the URL alone

	mu       sync.Mutex
	wrote    bool
	timedOut bool
	status   int
	header   http.Header
}

func (c *call) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				c.mu.Lock()
				c.wrote = true
				c.mu.Unlock()
			}
		},
	})
	r := req.WithContext(ctx)
	if c.target != nil {
		u := *req.URL
		u.Scheme, u.Host = c.target.Scheme, c.target.Host
		u.Path = c.target.Path + u.Path
		if u.RawPath != "" {
			u.RawPath = c.target.EscapedPath() + u.RawPath
		}
		r.URL, r.Host = &u, ""
	}
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		c.noteTimeout(ctx)
		cancel()
		return nil, err
	}
	c.mu.Lock()
	c.status, c.header = resp.StatusCode, resp.Header
	c.mu.Unlock()
	resp.Body = &body{ReadCloser: resp.Body, call: c, ctx: ctx, cancel: cancel}
	return resp, nil
}

// noteTimeout records that the per-request deadline, not the caller, ended
// the request.
func (c *call) noteTimeout(ctx context.Context) {
	if ctx.Err() == context.DeadlineExceeded && c.ctx.Err() == nil {
		c.mu.Lock()
		c.timedOut = true
		c.mu.Unlock()
	}
}

// state returns what the transport saw.
func (c *call) state() (wrote, timedOut bool, status int, header http.Header) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrote, c.timedOut, c.status, c.header
}

// body releases the request's deadline when the response is read or closed.
type body struct {
	io.ReadCloser
	call   *call
	ctx    context.Context
	cancel context.CancelFunc
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.call.noteTimeout(b.ctx)
	}
	return n, err
}

func (b *body) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// rewriteTarget parses Config.BaseURL into the scheme, host and path prefix
// requests are sent to.
func rewriteTarget(base string) *url.URL {
	if base == "" {
		return nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u
}
