package web

import "net/http"

// routesManager mounts the practice manager's and admin's pages. (Being built.)
func (s *Server) routesManager(mux *http.ServeMux) {}
