package web

import "net/http"

// routesAPI mounts the JSON API under /api/v1. (Being built.)
func (s *Server) routesAPI(mux *http.ServeMux) {}
