package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/web"
)

// Helpers of the API tests: a call that returns the whole answer, a
// world with data in both clinics, and a snapshot of everything stored,
// to check that a refused request changed nothing.

// apiResult is an answer read whole.
type apiResult struct {
	Status int
	Header http.Header
	Body   string
}

// do sends an API request. body is nil (none), a string or []byte (sent
// as it is) or anything else (sent as JSON); Content-Type is
// application/json unless header says otherwise.
func (a *testApp) do(token, method, path string, body any, header ...string) apiResult {
	a.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = strings.NewReader(string(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			a.t.Fatal(err)
		}
		r = strings.NewReader(string(j))
	}
	resp := a.API(token, method, path, r, header...)
	return apiResult{resp.StatusCode, resp.Header, readBody(a.t, resp)}
}

// decode reads a JSON answer into v, failing unless the status is want.
func (r apiResult) decode(t *testing.T, want int, v any) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	if v == nil {
		return
	}
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, r.Body)
	}
}

// apiErr reads a JSON error answer.
func (r apiResult) apiErr(t *testing.T) web.ErrorDetailJSON {
	t.Helper()
	var e web.ErrorJSON
	if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.Error.Code == "" {
		t.Fatalf("status %d: not a JSON error: %v\n%s", r.Status, err, r.Body)
	}
	return e.Error
}

// wantInvalid fails t, naming what, unless r is a 400 whose JSON error
// names field.
func (r apiResult) wantInvalid(t *testing.T, what, field string) {
	t.Helper()
	if e := r.apiErr(t); r.Status != 400 || e.Field != field {
		t.Errorf("%s: %d %+v", what, r.Status, e)
	}
}

// errorOf reads a JSON error from a response.
func errorOf(t *testing.T, resp *http.Response) web.ErrorDetailJSON {
	t.Helper()
	var e web.ErrorJSON
	body := readBody(t, resp)
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("status %d: not a JSON error: %v\n%s", resp.StatusCode, err, body)
	}
	return e.Error
}

// world is a test app with a token of each role in each clinic and, in the
// main clinic, Ana enrolled on microneedling half an hour ago with her
// first messages dispatched: the SMS sent, the email refused for good.
type world struct {
	*testApp
	FD, Mgr, Admin    string // tokens of the main clinic
	OFD, OMgr, OAdmin string // tokens of the other clinic
	Ana               web.EnrollmentJSON
}

// anaRequest is the enrollment the world starts with.
func anaRequest() map[string]any {
	return map[string]any{
		"name": "Ana Ruiz", "phone": "+1 415 555 0100", "email": "ana@example.com", "tz": "America/Los_Angeles",
		"lang": "es", "protocol": "microneedling", "treated_at": "2026-11-23T08:30",
		"sms_consent": true, "email_consent": true,
	}
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{testApp: newAPIApp(t)}
	w.FD, w.Mgr, w.Admin = w.Token(w.Main, aftercare.RoleFrontDesk), w.Token(w.Main, aftercare.RoleManager), w.Token(w.Main, aftercare.RoleAdmin)
	w.OFD, w.OMgr, w.OAdmin = w.Token(w.Other, aftercare.RoleFrontDesk), w.Token(w.Other, aftercare.RoleManager), w.Token(w.Other, aftercare.RoleAdmin)
	var ana web.EnrollAnswerJSON
	w.do(w.FD, "POST", "/api/v1/enrollments", anaRequest()).decode(t, http.StatusCreated, &ana)
	w.dispatch(t)
	w.do(w.FD, "GET", fmt.Sprintf("/api/v1/enrollments/%d", ana.ID), nil).decode(t, http.StatusOK, &w.Ana)
	return w
}

// dispatch sends the messages due now: SMS are accepted, emails refused
// for good (with an error code a spreadsheet would read as a formula).
func (a *testApp) dispatch(t *testing.T) int {
	t.Helper()
	d := &dispatch.Dispatcher{Store: a.DB, Now: a.Now, Owner: "test/1",
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Jitter: func() float64 { return 0 },
		Routes: map[aftercare.Channel]dispatch.Route{
			aftercare.SMS:   {Name: "test", Sender: testSender{}},
			aftercare.Email: {Name: "test", Sender: testSender{fail: true}},
		}}
	n, err := d.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type testSender struct{ fail bool }

func (s testSender) Send(ctx context.Context, m *aftercare.Outgoing) (aftercare.Receipt, error) {
	if s.fail {
		return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Permanent, Code: "=550", Message: "mailbox unavailable"}
	}
	return aftercare.Receipt{Sender: "test", ProviderID: fmt.Sprintf("T%d", m.MessageID), ProviderStatus: "queued"}, nil
}

// snapshot is everything both clinics have stored, as text: equal
// snapshots before and after a request mean it changed nothing.
func (a *testApp) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	add := func(what string, v any, err error) {
		if err != nil {
			t.Fatalf("snapshot %s: %v", what, err)
		}
		j, _ := json.Marshal(v)
		fmt.Fprintf(&b, "%s: %s\n", what, j)
	}
	clinics, err := a.DB.ListClinics(ctx)
	add("clinics", clinics, err)
	for _, c := range clinics {
		ps, err := a.DB.ListProtocols(ctx, c.ID)
		add("protocols", ps, err)
		es, err := a.DB.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID, Limit: 10000})
		add("enrollments", es, err)
		pts, err := a.DB.SearchPatients(ctx, c.ID, "", 10000)
		add("patients", pts, err)
		ms, err := a.DB.ListMessages(ctx, aftercare.MessageFilter{ClinicID: c.ID})
		add("messages", ms, err)
	}
	return b.String()
}

// unchanged fails t when the stored data differs from before.
func (a *testApp) unchanged(t *testing.T, before, what string) {
	t.Helper()
	if after := a.snapshot(t); after != before {
		t.Errorf("%s changed what is stored:\nbefore %s\nafter  %s", what, before, after)
	}
}

// messages lists a clinic's messages from the store.
func (a *testApp) messages(t *testing.T, f aftercare.MessageFilter) []*aftercare.Message {
	t.Helper()
	ms, err := a.DB.ListMessages(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}
