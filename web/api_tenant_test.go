package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

// TestAPITenantIsolation calls every route with the other clinic's tokens
// on the main clinic's data: an id of main's is 404, a list shows none of
// main's rows, and nothing of main's changes. Each route must have a case.
func TestAPITenantIsolation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.do(w.Mgr, "POST", "/api/v1/protocols", protocolYAML("main-only", "v1"), "Content-Type", "application/yaml").decode(t, http.StatusCreated, nil)
	eid, pid, mid := w.Ana.ID, w.Ana.PatientID, w.Ana.Messages[0].MessageID
	en := func(f string, args ...any) string {
		return fmt.Sprintf("/api/v1/enrollments/%d"+f, append([]any{eid}, args...)...)
	}
	notMains := func(t *testing.T, body string) {
		t.Helper()
		for _, s := range []string{"Ana Ruiz", "ana@example.com", "Glow Skin Studio", "chemical-peel"} {
			if strings.Contains(body, s) {
				t.Errorf("the other clinic sees %q: %s", s, truncate(body, 500))
			}
		}
	}
	type call struct {
		method, path string
		body         any
		header       []string
		status       int
		own          bool // the answer is the other clinic's own row, named like main's
	}
	yaml, csvType := []string{"Content-Type", "application/yaml"}, []string{"Content-Type", "text/csv"}
	// In this order: the other clinic's writes that make rows named like
	// main's come last.
	cases := []struct {
		route string
		calls []call
	}{
		{"GET /enrollments/{id}", []call{{"GET", en(""), nil, nil, 404, false}}},
		{"POST /enrollments/{id}/cancel", []call{{"POST", en("/cancel"), nil, nil, 404, false}}},
		{"POST /enrollments/{id}/reschedule", []call{{"POST", en("/reschedule"), map[string]string{"treated_at": "2026-11-24T10:00"}, nil, 404, false}}},
		{"GET /enrollments/{id}/messages/{message_id}", []call{{"GET", en("/messages/%d", mid), nil, nil, 404, false}}},
		{"GET /patients/{id}", []call{{"GET", fmt.Sprintf("/api/v1/patients/%d", pid), nil, nil, 404, false}}},
		{"PATCH /patients/{id}", []call{{"PATCH", fmt.Sprintf("/api/v1/patients/%d", pid), map[string]any{"name": "Stolen", "sms_opt_out": true}, nil, 404, false}}},
		{"GET /protocols/{slug}", []call{{"GET", "/api/v1/protocols/main-only", nil, nil, 404, false}}},
		{"POST /preview", []call{{"POST", "/api/v1/preview", map[string]any{"protocol": "main-only", "treated_at": "2026-11-23T10:00", "tz": "UTC"}, nil, 400, false}}},
		{"GET /enrollments", []call{
			{"GET", "/api/v1/enrollments", nil, nil, 200, false},
			{"GET", fmt.Sprintf("/api/v1/enrollments?patient=%d", pid), nil, nil, 400, false},
		}},
		{"GET /patients", []call{
			{"GET", "/api/v1/patients?q=ana", nil, nil, 200, false},
			{"GET", "/api/v1/patients", nil, nil, 200, false},
		}},
		{"GET /messages", []call{
			{"GET", "/api/v1/messages", nil, nil, 200, false},
			{"GET", "/api/v1/messages", nil, []string{"Accept", "text/csv"}, 200, false},
			{"GET", fmt.Sprintf("/api/v1/messages?patient=%d", pid), nil, nil, 400, false},
			{"GET", fmt.Sprintf("/api/v1/messages?enrollment=%d", eid), nil, nil, 400, false},
			{"GET", "/api/v1/messages?protocol=main-only", nil, nil, 400, false},
		}},
		{"GET /stats", []call{{"GET", "/api/v1/stats", nil, nil, 200, false}}},
		{"GET /attention", []call{{"GET", "/api/v1/attention", nil, nil, 200, false}}},
		{"GET /protocols", []call{{"GET", "/api/v1/protocols", nil, nil, 200, false}}},
		{"GET /clinic", []call{{"GET", "/api/v1/clinic", nil, nil, 200, false}}},
		{"POST /protocols/validate", []call{{"POST", "/api/v1/protocols/validate", protocolYAML("their-peel", "v2"), yaml, 200, false}}},
		{"POST /imports", []call{{"POST", "/api/v1/imports", "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n" +
			"Y,+14155550111,,UTC,en,main-only,2026-11-23T10:00,yes,no\n", csvType, 200, false}}},
		{"PATCH /clinic", []call{{"PATCH", "/api/v1/clinic", map[string]any{"name": "Other Renamed"}, nil, 200, false}}},
		{"POST /enrollments", []call{
			{"POST", "/api/v1/enrollments", map[string]any{"name": "X", "phone": "+14155550100", "tz": "UTC", "protocol": "main-only",
				"treated_at": "2026-11-23T10:00", "sms_consent": true}, nil, 400, false},
			{"POST", "/api/v1/enrollments", anaRequest(), nil, 201, true}, // a patient of its own
		}},
		{"POST /protocols", []call{{"POST", "/api/v1/protocols", protocolYAML("main-only", "theirs"), yaml, 201, true}}}, // a version 1 of its own
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.route] = true
	}
	for _, rt := range web.APIRoutes() {
		if !covered[rt.Method+" "+rt.Path] {
			t.Errorf("no tenant isolation case for %s %s", rt.Method, rt.Path)
		}
	}
	mainBefore := mainSnapshot(t, w)
	for _, rc := range cases {
		for _, c := range rc.calls {
			res := w.do(w.OAdmin, c.method, c.path, c.body, c.header...)
			if res.Status != c.status {
				t.Errorf("%s: %s %s: %d, want %d: %s", rc.route, c.method, c.path, res.Status, c.status, truncate(res.Body, 300))
			}
			if !c.own {
				notMains(t, res.Body)
			}
		}
	}
	if after := mainSnapshot(t, w); after != mainBefore {
		t.Errorf("the other clinic changed the main clinic's data:\nbefore %s\nafter  %s", mainBefore, after)
	}
	// The other clinic's own Ana is another patient, and its lists hold only its rows.
	var list web.MessageListJSON
	w.do(w.OMgr, "GET", "/api/v1/messages", nil).decode(t, http.StatusOK, &list)
	mine := ids(w.messages(t, aftercare.MessageFilter{ClinicID: w.Other.ID}))
	var got []int64
	for _, m := range list.Messages {
		got = append(got, m.MessageID)
	}
	if !slices.Equal(got, mine) || len(mine) == 0 {
		t.Errorf("the other clinic's log: %v, want %v", got, mine)
	}
}

// mainSnapshot is what the main clinic has stored.
func mainSnapshot(t *testing.T, w *world) string {
	t.Helper()
	ctx := context.Background()
	c, err := w.DB.FindClinicByID(ctx, w.Main.ID)
	if err != nil {
		t.Fatal(err)
	}
	ps, _ := w.DB.ListProtocols(ctx, w.Main.ID)
	es, _ := w.DB.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: w.Main.ID, Limit: 1000})
	pts, _ := w.DB.SearchPatients(ctx, w.Main.ID, "", 1000)
	ms := w.messages(t, aftercare.MessageFilter{ClinicID: w.Main.ID})
	j, _ := json.Marshal([]any{c, ps, es, pts, ms})
	return string(j)
}

// TestAPISession: the staff app's own pages may call the API with the
// session cookie, and must send the session's CSRF token on a POST.
func TestAPISession(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	b := a.SignIn(a.Main, aftercare.RoleFrontDesk)
	call := func(method, path, body string, header ...string) int {
		req, _ := http.NewRequest(method, a.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp := send(t, b.Client, req, header...)
		readBody(t, resp)
		return resp.StatusCode
	}
	if code := call("GET", "/api/v1/clinic", ""); code != 200 {
		t.Errorf("GET with a session: %d", code)
	}
	preview := `{"protocol": "microneedling", "treated_at": "2026-11-24T10:00", "tz": "UTC"}`
	if code := call("POST", "/api/v1/preview", preview); code != 403 {
		t.Errorf("POST without the CSRF token: %d, want 403", code)
	}
	if b.CSRF == "" {
		t.Skip("the app's home page carries no CSRF token yet")
	}
	if code := call("POST", "/api/v1/preview", preview, "X-CSRF-Token", b.CSRF); code != 200 {
		t.Errorf("POST with the CSRF token: %d", code)
	}
	if code := call("GET", "/api/v1/messages", ""); code != 403 {
		t.Errorf("a front desk session reading the log: %d, want 403", code)
	}
}
