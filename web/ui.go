package web

import (
	"fmt"
	"html"
	"net/http"

	"github.com/aftercare/aftercare"
)

// routesUI mounts the staff app. (Being built.)
func (s *Server) routesUI(mux *http.ServeMux) {}

// render writes the page template name with data inside the app's layout.
// (Stub until the templates land.)
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>%s</title><p>%s</p>", html.EscapeString(title), html.EscapeString(name))
}

// renderError writes the app's error page for err.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(statusOf(aftercare.ErrorCode(err)))
	fmt.Fprintf(w, "<!doctype html><p>%s</p>", html.EscapeString(aftercare.ErrorMessage(err)))
}
