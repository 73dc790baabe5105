package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startLimited serves a trivial handler on loopback within l.
func startLimited(t *testing.T, l httpLimits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), l)
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server closes c within d (a safety
// deadline: a server without the limit keeps it open and the read times
// out instead).
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

// TestServeLimitsSet: serve's server has every limit.
func TestServeLimitsSet(t *testing.T) {
	t.Parallel()
	hs := newHTTPServer(http.NotFoundHandler(), serveLimits)
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes <= 0 || hs.MaxHeaderBytes > 1<<20 {
		t.Fatalf("serve's http.Server: ReadHeaderTimeout %v, ReadTimeout %v, IdleTimeout %v, MaxHeaderBytes %d; want them all set",
			hs.ReadHeaderTimeout, hs.ReadTimeout, hs.IdleTimeout, hs.MaxHeaderBytes)
	}
}

// TestSlowClientCutOff: with short limits, a client that sends half its
// headers and stops, and one that idles after a request, are both
// disconnected; headers past the limit get 431. No sleeping: the test
// waits for the server to close the connection.
func TestSlowClientCutOff(t *testing.T) {
	t.Parallel()
	addr := startLimited(t, httpLimits{ReadHeader: 200 * time.Millisecond, Read: time.Second, Idle: 200 * time.Millisecond, MaxHeaderBytes: 4 << 10})

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: a")
	if !closedWithin(t, slow, 5*time.Second) {
		t.Fatal("a client that stopped halfway through its headers was still connected after 5 s (ReadHeaderTimeout is 200 ms)")
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("a plain request: %v %v", resp, err)
	}
	resp.Body.Close()
	if !closedWithin(t, idle, 5*time.Second) {
		t.Fatal("an idle kept-alive connection was still open after 5 s (IdleTimeout is 200 ms)")
	}

	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("b", 64<<10))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("64 KB of headers against a 4 KB limit: %d, want 431", resp.StatusCode)
	}
}
