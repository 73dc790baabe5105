package web

import (
	"net/http"

	"github.com/aftercare/aftercare"
)

// routesFrontDesk mounts the front desk's pages. (Being built.)
func (s *Server) routesFrontDesk(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.page(aftercare.RoleFrontDesk, func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "home", "Today", nil)
	}))
}
