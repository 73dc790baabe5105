package web

import (
	"context"
	"net/http"
	"time"
)

// readier is a store that can say whether it takes writes now
// (store/sqlite's DB.Ready).
type readier interface {
	Ready(ctx context.Context) error
}

// readyz answers 200 when the server can do its work: the store's schema is
// current and a write commits; 503 with the reason otherwise. /healthz only
// says the process answers; a load balancer or orchestrator should route
// on /readyz.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	rs, ok := s.Store.(readier)
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "this store cannot check that it takes writes"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := rs.Ready(ctx); err != nil {
		s.logger().Error("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
