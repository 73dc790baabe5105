package main

import (
	"net/http"
	"time"
)

// httpLimits bound how long and how much a client may hold of the HTTP
// server, so that slow or idle connections cannot pile up.
type httpLimits struct {
	// ReadHeader is the time to send a request's headers (slowloris).
	ReadHeader time.Duration
	// Read is the time to send a whole request, body included: enough for
	// the largest upload (32 MB) on a slow line.
	Read time.Duration
	// Idle is how long a kept-alive connection may wait for its next request.
	Idle time.Duration
	// MaxHeaderBytes bounds a request's headers (cookies included).
	MaxHeaderBytes int
}

// serveLimits are serve's. There is no write timeout: CSV exports stream,
// and a slow reader costs only its own connection.
var serveLimits = httpLimits{ReadHeader: 10 * time.Second, Read: 2 * time.Minute, Idle: 2 * time.Minute, MaxHeaderBytes: 64 << 10}

// newHTTPServer is serve's http.Server for handler h within limits l.
func newHTTPServer(h http.Handler, l httpLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.ReadHeader, ReadTimeout: l.Read,
		IdleTimeout: l.Idle, MaxHeaderBytes: l.MaxHeaderBytes}
}
