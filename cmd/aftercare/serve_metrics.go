package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/metrics"
)

// serveMetrics serves Prometheus's /metrics on a listener of its own,
// AFTERCARE_METRICS_ADDR, and nothing when it is empty. A listener of its
// own rather than a path of the main server: the main server faces the
// internet behind a proxy (Twilio and patients must reach it), and a
// /metrics there would be public unless every proxy blocked it, while this
// one is reachable only where its address is (127.0.0.1, a private
// network), without touching the proxy. It returns a function that shuts
// the listener down. m may be nil when addr is empty.
func serveMetrics(addr string, m *metrics.Metrics, logger *slog.Logger) (func(context.Context), error) {
	if addr == "" {
		return func(context.Context) {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, aftercare.Errorf(aftercare.EINVALID, "cannot listen on AFTERCARE_METRICS_ADDR=%s: %v; give a free host:port such as 127.0.0.1:9090, or leave it empty for no metrics", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	hs := newHTTPServer(mux, serveLimits)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("the metrics listener stopped", "err", err)
		}
	}()
	logger.Info("metrics serving", "addr", ln.Addr().String(), "path", "/metrics")
	return func(ctx context.Context) {
		if err := hs.Shutdown(ctx); err != nil {
			logger.Warn("metrics connections still open at shutdown were closed", "err", err)
		}
	}, nil
}
