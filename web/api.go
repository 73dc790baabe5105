package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// The JSON API under /api/v1, described route by route in docs/openapi.yaml
// (a test holds the two together). api.go has the routes and what the
// handlers share: reading bodies and queries strictly, errors, cursors.
// The handlers are in api_enroll.go (front desk), api_log.go (delivery
// log) and api_admin.go (protocols, clinic); the JSON views in
// api_json.go.

// apiPrefix is where the API is mounted.
const apiPrefix = "/api/v1"

// apiRoute is one route of the API: its method, its path under apiPrefix
// (in docs/openapi.yaml's form), the weakest role that may call it, and its
// handler.
type apiRoute struct {
	Method string
	Path   string
	Role   aftercare.Role
	h      http.HandlerFunc
}

// apiRoutes is every route of the API, the one list both the mux and the
// tests read.
func (s *Server) apiRoutes() []apiRoute {
	fd, mgr, admin := aftercare.RoleFrontDesk, aftercare.RoleManager, aftercare.RoleAdmin
	return []apiRoute{
		{"POST", "/enrollments", fd, s.apiEnroll},
		{"GET", "/enrollments", fd, s.apiEnrollments},
		{"GET", "/enrollments/{id}", fd, s.apiEnrollment},
		{"POST", "/enrollments/{id}/cancel", fd, s.apiCancel},
		{"POST", "/enrollments/{id}/reschedule", fd, s.apiReschedule},
		{"POST", "/preview", fd, s.apiPreview},
		{"GET", "/patients", fd, s.apiPatients},
		{"GET", "/patients/{id}", fd, s.apiPatient},
		{"PATCH", "/patients/{id}", fd, s.apiUpdatePatient},
		{"POST", "/imports", fd, s.apiImport},
		{"GET", "/protocols", fd, s.apiProtocols},
		{"GET", "/protocols/{slug}", fd, s.apiProtocol},
		{"GET", "/clinic", fd, s.apiClinic},

		{"GET", "/messages", mgr, s.apiMessages},
		{"GET", "/enrollments/{id}/messages/{message_id}", mgr, s.apiMessage},
		{"GET", "/stats", mgr, s.apiStats},
		{"GET", "/attention", mgr, s.apiAttention},
		{"POST", "/protocols/validate", mgr, s.apiValidateProtocol},
		{"POST", "/protocols", mgr, s.apiImportProtocol},

		{"PATCH", "/clinic", admin, s.apiUpdateClinic},
	}
}

// routesAPI mounts the JSON API. Every route is wrapped by s.api, which
// checks the caller's role; anything else under /api/ is a JSON 404 (or
// 405 for a known path with another method), after authentication.
func (s *Server) routesAPI(mux *http.ServeMux) {
	routes := s.apiRoutes()
	for _, rt := range routes {
		mux.HandleFunc(rt.Method+" "+apiPrefix+rt.Path, s.api(rt.Role, rt.h))
	}
	mux.HandleFunc("/api/", s.api(aftercare.RoleFrontDesk, func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, rt := range routes {
			if apiPathMatches(apiPrefix+rt.Path, r.URL.Path) && !slices.Contains(allow, rt.Method) {
				allow = append(allow, rt.Method)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.fail(w, r, &apiStatusError{Status: http.StatusMethodNotAllowed,
				Err: aftercare.Errorf(aftercare.EINVALID, "%s %s is not supported: use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))})
			return
		}
		s.fail(w, r, aftercare.Errorf(aftercare.ENOTFOUND, "no API route %s %s: docs/openapi.yaml lists them", r.Method, r.URL.Path))
	}))
}

// apiPathMatches reports whether path fits pattern, whose {wildcards} match
// one segment each.
func apiPathMatches(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if !strings.HasPrefix(p, "{") && p != xs[i] {
			return false
		}
	}
	return true
}

// apiStatusError is an error whose HTTP status is not the one its code maps
// to (415, 413, 405, 422), or that lists a protocol's problems.
type apiStatusError struct {
	Status   int
	Err      *aftercare.Error
	Problems []ProblemJSON
}

func (e *apiStatusError) Error() string { return e.Err.Error() }
func (e *apiStatusError) Unwrap() error { return e.Err }

// ErrorJSON is the body of every API error: {"error": {...}}.
type ErrorJSON struct {
	Error ErrorDetailJSON `json:"error"`
}

// ErrorDetailJSON says what went wrong: Code is one of aftercare's error
// codes, Message is for the person who has to fix the request, Field names
// the input at fault ("" when none), Problems lists every problem of a
// protocol document.
type ErrorDetailJSON struct {
	Code     string        `json:"code"`
	Message  string        `json:"message"`
	Field    string        `json:"field"`
	Problems []ProblemJSON `json:"problems,omitempty"`
}

// ProblemJSON is one problem of a protocol document, at a 1-based line and
// column.
type ProblemJSON struct {
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

// Sizes of request bodies. s.api caps every body at 16 MiB, which bounds
// a CSV import; JSON and protocol documents are far smaller.
const (
	apiMaxJSON = 64 << 10
	apiMaxYAML = 512 << 10
)

// apiBody reads the whole body after checking its media type is one of
// types; an empty or oversized body, or another type, is refused before
// anything is done with it.
func apiBody(r *http.Request, max int64, types ...string) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !slices.Contains(types, mt) {
		return nil, &apiStatusError{Status: http.StatusUnsupportedMediaType,
			Err: aftercare.Errorf(aftercare.EINVALID, "send the body as %s (Content-Type: %q)", strings.Join(types, " or "), ct)}
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(b)) > max {
		if mbe != nil {
			max = mbe.Limit
		}
		return nil, &apiStatusError{Status: http.StatusRequestEntityTooLarge,
			Err: aftercare.Errorf(aftercare.EINVALID, "the body is larger than %d KiB", max>>10)}
	}
	if err != nil {
		return nil, aftercare.Errorf(aftercare.EINVALID, "reading the body: %v", err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, aftercare.Errorf(aftercare.EINVALID, "the body is empty")
	}
	return b, nil
}

// apiDecode reads a JSON object into v, a pointer to a struct, strictly:
// a field v does not have (names are case-sensitive), a null, a value of
// the wrong type or anything after the object is EINVALID naming the
// field, so that a typo is an error rather than an ignored field.
func apiDecode(r *http.Request, v any) error {
	b, err := apiBody(r, apiMaxJSON, "application/json")
	if err != nil {
		return err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return aftercare.Errorf(aftercare.EINVALID, "the body must be a JSON object, not %s", te.Value)
		}
		return aftercare.Errorf(aftercare.EINVALID, "the body is not valid JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	known := apiJSONFields(reflect.TypeOf(v).Elem())
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if !slices.Contains(known, k) {
			return aftercare.FieldErrorf(k, "unknown field %q: the fields are %s", k, strings.Join(known, ", "))
		}
		if string(bytes.TrimSpace(raw[k])) == "null" {
			return aftercare.FieldErrorf(k, "%s must not be null: leave it out instead", k)
		}
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			want := map[reflect.Kind]string{reflect.String: "a string", reflect.Bool: "true or false",
				reflect.Int: "a whole number", reflect.Int64: "a whole number"}[te.Type.Kind()]
			if want == "" {
				want = te.Type.String()
			}
			return aftercare.FieldErrorf(te.Field, "%s must be %s, not %s", te.Field, want, te.Value)
		}
		return aftercare.Errorf(aftercare.EINVALID, "the body is not valid JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// apiJSONFields lists the JSON names of a struct's fields, in order.
func apiJSONFields(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// apiQuery is a request's query string read strictly: a parameter the
// route does not take, or one given twice that is read once, is EINVALID.
type apiQuery struct {
	v url.Values
}

func apiReadQuery(r *http.Request, allowed ...string) (apiQuery, error) {
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return apiQuery{}, aftercare.Errorf(aftercare.EINVALID, "the query string is malformed: %v", err)
	}
	for _, k := range slices.Sorted(maps.Keys(v)) {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return apiQuery{}, aftercare.FieldErrorf(k, "unknown parameter %q: this route takes none", k)
			}
			return apiQuery{}, aftercare.FieldErrorf(k, "unknown parameter %q: this route takes %s", k, strings.Join(allowed, ", "))
		}
	}
	return apiQuery{v}, nil
}

// one returns a parameter given at most once ("" when absent).
func (q apiQuery) one(name string) (string, error) {
	switch vs := q.v[name]; len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", aftercare.FieldErrorf(name, "%s is given %d times; give it once", name, len(q.v[name]))
}

// id reads a parameter that is a positive id (0 when absent).
func (q apiQuery) id(name string) (int64, error) {
	s, err := q.one(name)
	if err != nil || s == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, aftercare.FieldErrorf(name, "%q is not an id: give the number", s)
	}
	return n, nil
}

// limit reads "limit": def when absent, at most max.
func (q apiQuery) limit(def, max int) (int, error) {
	s, err := q.one("limit")
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, aftercare.FieldErrorf("limit", "limit must be a whole number from 1 to %d, got %q", max, s)
	}
	return n, nil
}

// when reads a time parameter: a date, meaning the clinic's local midnight
// starting it, or RFC 3339.
func (q apiQuery) when(name string, loc *time.Location) (time.Time, error) {
	s, err := q.one(name)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, aftercare.FieldErrorf(name, "%q is not a date: write 2026-11-22 (the clinic's local day) or RFC 3339 such as 2026-11-22T09:00:00Z", s)
}

// apiRange reads since and until by the one rule (aftercare.DayRange):
// days in the clinic's zone, both included, or RFC 3339 instants.
func apiRange(q apiQuery, loc *time.Location) (since, until time.Time, err error) {
	s, err := q.one("since")
	if err != nil {
		return
	}
	u, err := q.one("until")
	if err != nil {
		return
	}
	return aftercare.DayRange(s, u, loc)
}

// apiPathID reads the path wildcard name as a positive id. Anything else
// names nothing: ENOTFOUND, like an id of another clinic.
func apiPathID(r *http.Request, name, what string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, aftercare.Errorf(aftercare.ENOTFOUND, "there is no %s %q", what, v)
	}
	return id, nil
}

// apiReadID reads the path wildcard name as an id (apiPathID) of a route
// that takes no query parameters.
func apiReadID(r *http.Request, name, what string) (int64, error) {
	id, err := apiPathID(r, name, what)
	if err == nil {
		_, err = apiReadQuery(r)
	}
	return id, err
}

// apiAnswer is how a handler ends: err if there is one, else 200 with
// view(v). The view is taken only when there is no error, so that it may
// read v freely.
func apiAnswer[T, V any](s *Server, w http.ResponseWriter, r *http.Request, v T, err error, view func(T) V) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, view(v))
}

// apiViews is the JSON view of each of xs: an empty list, never null.
func apiViews[T, V any](xs []T, view func(T) V) []V {
	out := make([]V, 0, len(xs))
	for _, x := range xs {
		out = append(out, view(x))
	}
	return out
}

// Cursors are opaque to clients: base64 of a version letter and the keyset
// position, so that a deep page costs what the first does.
func apiMessageCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("m" + at.UTC().Format(time.RFC3339Nano) + "," + strconv.FormatInt(id, 10)))
}

func apiReadMessageCursor(q apiQuery) (time.Time, int64, error) {
	s, err := q.one("cursor")
	if err != nil || s == "" {
		return time.Time{}, 0, err
	}
	bad := aftercare.FieldErrorf("cursor", "the cursor is not one this API gave: pass the \"next\" of the previous page as it was")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || !bytes.HasPrefix(raw, []byte("m")) {
		return time.Time{}, 0, bad
	}
	a, b, ok := strings.Cut(string(raw[1:]), ",")
	if !ok {
		return time.Time{}, 0, bad
	}
	at, err1 := time.Parse(time.RFC3339Nano, a)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 {
		return time.Time{}, 0, bad
	}
	return at.UTC(), id, nil
}

func apiEnrollmentCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("e" + strconv.FormatInt(id, 10)))
}

func apiReadEnrollmentCursor(q apiQuery) (int64, error) {
	s, err := q.one("cursor")
	if err != nil || s == "" {
		return 0, err
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && bytes.HasPrefix(raw, []byte("e")) {
		if id, err := strconv.ParseInt(string(raw[1:]), 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, aftercare.FieldErrorf("cursor", "the cursor is not one this API gave: pass the \"next\" of the previous page as it was")
}

// apiWantsCSV reports whether the client prefers CSV to JSON: Accept gives
// text/csv a higher weight than application/json (or than a wildcard
// standing for it); on a tie the first listed wins.
func apiWantsCSV(r *http.Request) bool {
	csvQ, jsonQ := -1.0, -1.0
	csvAt, jsonAt := 0, 0
	for i, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		switch mt {
		case "text/csv":
			if q > csvQ {
				csvQ, csvAt = q, i
			}
		case "application/json", "application/*", "*/*":
			if q > jsonQ {
				jsonQ, jsonAt = q, i
			}
		}
	}
	return csvQ > 0 && (csvQ > jsonQ || (csvQ == jsonQ && csvAt < jsonAt))
}

// apiLocation is the zone the clinic's dates are read in.
func apiLocation(c *aftercare.Clinic) *time.Location {
	if loc, err := aftercare.LoadZone(c.TZ); err == nil {
		return loc
	}
	return time.UTC
}

// apiTime formats a stored time as RFC 3339 in UTC, "" for the zero time.
func apiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// apiCheckText refuses a free-text value that is too long or has control
// characters (it ends up in messages, headers and logs).
func apiCheckText(field, v string, max int) error {
	if len([]rune(v)) > max {
		return aftercare.FieldErrorf(field, "%s is longer than %d characters", field, max)
	}
	if strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return aftercare.FieldErrorf(field, "%s contains a control character (a line break or tab?)", field)
	}
	return nil
}

// apiLocationOf returns the URL of a created resource.
func apiLocationOf(format string, args ...any) string {
	return apiPrefix + fmt.Sprintf(format, args...)
}
