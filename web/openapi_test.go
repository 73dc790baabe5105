package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

// The API is described in docs/openapi.yaml. Every API test runs on a
// server whose every /api/ exchange is checked against that description:
// each response must be one the description gives for its route and
// status, and each request the server accepted (2xx) must be one the
// description allows. So the description cannot drift from the server
// without a test failing.

const specPath = "../docs/openapi.yaml"

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// loadSpec reads and validates docs/openapi.yaml once.
func loadSpec(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		// The import body is any CSV (its rows may be ragged: the server
		// reports such rows), and kin-openapi's own CSV decoder refuses
		// ragged rows.
		openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.PlainBodyDecoder)
		loader := openapi3.NewLoader()
		spec.doc, spec.err = loader.LoadFromFile(specPath)
		if spec.err != nil {
			return
		}
		if spec.err = spec.doc.Validate(context.Background()); spec.err != nil {
			return
		}
		spec.router, spec.err = legacy.NewRouter(spec.doc)
	})
	if spec.err != nil {
		t.Fatalf("%s: %v", specPath, spec.err)
	}
	return spec.doc, spec.router
}

// newAPIApp is newTestApp with every /api/ exchange checked against
// docs/openapi.yaml.
func newAPIApp(t *testing.T) *testApp {
	t.Helper()
	_, router := loadSpec(t)
	a := newTestApp(t)
	a.HTTP.Config.Handler = specChecker(t, router, a.HTTP.Config.Handler)
	return a
}

// specChecker serves next and checks each /api/ exchange against the
// description, failing t on a mismatch.
func specChecker(t *testing.T, router routers.Router, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading a request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if p := recover(); p != nil {
					// A handler that aborts (a broken CSV export) must
					// still break the connection.
					copyResponse(w, rec)
					panic(p)
				}
			}()
			next.ServeHTTP(rec, r)
		}()
		copyResponse(w, rec)
		if err := checkExchange(router, r, body, rec); err != nil {
			t.Errorf("%s %s: %v", r.Method, r.URL.RequestURI(), err)
		}
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// checkExchange checks one request and its response against the
// description.
func checkExchange(router routers.Router, r *http.Request, body []byte, rec *httptest.ResponseRecorder) error {
	ctx := context.Background()
	req := r.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := router.FindRoute(req)
	if err != nil {
		// Only the API's catch-all may answer a route the description
		// does not have.
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed || rec.Code == http.StatusUnauthorized {
			return nil
		}
		return fmt.Errorf("not in %s (%v), yet answered %d", specPath, err, rec.Code)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if rec.Code < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return fmt.Errorf("the server accepted (%d) a request the description refuses: %v", rec.Code, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(rec.Body.Bytes())
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return fmt.Errorf("the response (%d %s) is not as described: %v", rec.Code, truncate(rec.Body.String(), 300), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// TestOpenAPIRoutes checks that every route the server mounts under
// /api/v1 is in docs/openapi.yaml with the same weakest role, and that
// every operation of the description is mounted.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	doc, _ := loadSpec(t)
	described := map[string]string{} // "METHOD /path" -> x-min-role
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			role, _ := op.Extensions["x-min-role"].(string)
			described[method+" "+path] = role
			if role == "" {
				t.Errorf("%s %s has no x-min-role", method, path)
			}
			for _, status := range []string{"401", "403"} {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s %s does not describe its %s answer", method, path, status)
				}
			}
		}
	}
	mounted := map[string]bool{}
	for _, rt := range web.APIRoutes() {
		key := rt.Method + " " + rt.Path
		mounted[key] = true
		role, ok := described[key]
		switch {
		case !ok:
			t.Errorf("the server mounts %s %s, which %s does not describe", rt.Method, "/api/v1"+rt.Path, specPath)
		case role != string(rt.Role):
			t.Errorf("%s %s: the server wants role %s, %s says %s", rt.Method, rt.Path, rt.Role, specPath, role)
		}
	}
	for key := range described {
		if !mounted[key] {
			t.Errorf("%s describes %s, which the server does not mount", specPath, key)
		}
	}
	if doc.Servers[0].URL != "/api/v1" {
		t.Errorf("servers: %q, want /api/v1", doc.Servers[0].URL)
	}
	if len(doc.Security) != 1 || doc.Components.SecuritySchemes["bearer"] == nil {
		t.Errorf("the description must require the bearer scheme everywhere")
	}
}

// TestOpenAPIRoutesMounted calls every described operation on a live
// server, as a token of the role it names, and checks that a handler
// answered (not the API's catch-all), and that a weaker role gets 403.
func TestOpenAPIRoutesMounted(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	tokens := map[aftercare.Role]string{}
	for _, r := range aftercare.Roles {
		tokens[r] = a.Token(a.Main, r)
	}
	for _, rt := range web.APIRoutes() {
		path := "/api/v1" + strings.NewReplacer("{id}", "999999", "{message_id}", "999999", "{slug}", "no-such-protocol").Replace(rt.Path)
		resp := a.API(tokens[rt.Role], rt.Method, path, strings.NewReader("{}"))
		body := readBody(t, resp)
		if strings.Contains(body, "no API route") || resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s %s: answered by the catch-all: %d %s", rt.Method, path, resp.StatusCode, body)
		}
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			t.Errorf("%s %s as %s: %d %s", rt.Method, path, rt.Role, resp.StatusCode, body)
		}
		i := slices.Index(aftercare.Roles, rt.Role)
		if i > 0 {
			weaker := aftercare.Roles[i-1]
			resp := a.API(tokens[weaker], rt.Method, path, strings.NewReader("{}"))
			if body := readBody(t, resp); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s %s as %s: %d %s, want 403", rt.Method, path, weaker, resp.StatusCode, body)
			}
		}
	}
	// Anything else under /api/ is JSON, after authentication.
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/v1/nothing-here", http.StatusNotFound},
		{"GET", "/api/v2/enrollments", http.StatusNotFound},
		{"DELETE", "/api/v1/enrollments/1", http.StatusMethodNotAllowed},
		{"PUT", "/api/v1/clinic", http.StatusMethodNotAllowed},
	} {
		resp := a.API(tokens[aftercare.RoleAdmin], c.method, c.path, nil)
		e := errorOf(t, resp)
		if resp.StatusCode != c.status || e.Code == "" {
			t.Errorf("%s %s: %d %+v, want %d with a JSON error", c.method, c.path, resp.StatusCode, e, c.status)
		}
		if resp := a.API("", c.method, c.path, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", c.method, c.path, resp.StatusCode)
		}
	}
}

// TestSpecCheckerCatches makes sure the checker fails the exchanges it
// should: an answer missing a field or with one too many, a status the
// description does not give, and a request accepted that the description
// refuses.
func TestSpecCheckerCatches(t *testing.T) {
	t.Parallel()
	_, router := loadSpec(t)
	clinic := `{"id":1,"slug":"main","name":"Glow","phone":"","country":"US","tz":"UTC","window":"08:00-21:00",` +
		`"daily_cap":3,"email_fallback":true,"show_treatment":false,"sms_from":"","email_from":"",` +
		`"alert_email":"","twilio_opt_out_replies":false,"retention_days":0,"patient_links":false,"summary_at":"07:00","summary_to":"","default":true,"created_at":"2026-11-23T17:00:00Z","updated_at":"2026-11-23T17:00:00Z"`
	for _, c := range []struct {
		name, method, target, reqBody string
		status                        int
		body                          string
		ok                            bool
	}{
		{"OK", "GET", "/api/v1/clinic", "", 200, clinic + "}", true},
		{"ErrMissingField", "GET", "/api/v1/clinic", "", 200, strings.Replace(clinic, `"daily_cap":3,`, "", 1) + "}", false},
		{"ErrExtraField", "GET", "/api/v1/clinic", "", 200, clinic + `,"secret":"x"}`, false},
		{"ErrWrongType", "GET", "/api/v1/clinic", "", 200, strings.Replace(clinic, `"daily_cap":3`, `"daily_cap":"3"`, 1) + "}", false},
		{"ErrStatus", "GET", "/api/v1/clinic", "", 418, `{"error":{"code":"invalid","message":"x","field":""}}`, false},
		{"ErrErrorShape", "GET", "/api/v1/clinic", "", 403, `{"error":"forbidden"}`, false},
		{"ErrAcceptedBadQuery", "GET", "/api/v1/messages?limit=5000", "", 200, `{"messages":[],"next":null}`, false},
		{"ErrAcceptedBadBody", "PATCH", "/api/v1/clinic", `{"daily_cap":"many"}`, 200, clinic + "}", false},
		{"ErrNotDescribed", "GET", "/api/v1/secret", "", 200, `{}`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.reqBody))
			if c.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			rec.Header().Set("Content-Type", "application/json")
			rec.WriteHeader(c.status)
			rec.WriteString(c.body)
			err := checkExchange(router, req, []byte(c.reqBody), rec)
			if (err == nil) != c.ok {
				t.Errorf("checkExchange: %v, want ok=%v", err, c.ok)
			}
		})
	}
}
