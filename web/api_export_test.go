package web

import "github.com/aftercare/aftercare"

// APIRoute is a route of the JSON API as the tests see it.
type APIRoute struct {
	Method, Path string // Path under /api/v1, as docs/openapi.yaml writes it
	Role         aftercare.Role
}

// APIRoutes lists every route the server mounts under /api/v1.
func APIRoutes() []APIRoute {
	var out []APIRoute
	for _, rt := range (&Server{}).apiRoutes() {
		out = append(out, APIRoute{rt.Method, rt.Path, rt.Role})
	}
	return out
}
