package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

func TestAPIEnrollOK(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	fd := a.Token(a.Main, aftercare.RoleFrontDesk)
	res := a.do(fd, "POST", "/api/v1/enrollments", anaRequest())
	var e web.EnrollmentJSON
	res.decode(t, http.StatusCreated, &e)
	if e.ID == 0 || e.PatientID == 0 || e.Status != "active" || e.Protocol != "microneedling" || e.ProtocolVersion != 1 {
		t.Fatalf("enrollment: %+v", e)
	}
	if got := res.Header.Get("Location"); got != fmt.Sprintf("/api/v1/enrollments/%d", e.ID) {
		t.Errorf("Location %q", got)
	}
	if e.TreatedAt != "2026-11-23T16:30:00Z" || e.Source != "api:test frontdesk" {
		t.Errorf("treated_at %q source %q", e.TreatedAt, e.Source)
	}
	p := e.Patient
	if p.Name != "Ana Ruiz" || p.Phone != "+14155550100" || p.Email != "ana@example.com" || p.Lang != "es" ||
		!p.SMSConsent || !p.EmailConsent || p.SMSConsentSource != "api:test frontdesk" {
		t.Errorf("patient: %+v", p)
	}
	stored := a.messages(t, aftercare.MessageFilter{ClinicID: a.Main.ID, EnrollmentID: e.ID})
	if len(e.Messages) == 0 || len(e.Messages) != len(stored) {
		t.Fatalf("%d messages answered, %d stored", len(e.Messages), len(stored))
	}
	first := e.Messages[0]
	// Due before the enrollment: sent as soon as possible, now.
	if first.Step != "welcome" || first.Body == "" || first.Lang != "es" || first.Local != "2026-11-23T09:00:00-08:00" || first.Note == "" {
		t.Errorf("first message: %+v", first)
	}

	// The same enrollment again: 200, the same one, nothing written.
	before := a.snapshot(t)
	var again web.EnrollmentJSON
	a.do(fd, "POST", "/api/v1/enrollments", anaRequest()).decode(t, http.StatusOK, &again)
	if again.ID != e.ID || len(again.Messages) != len(e.Messages) {
		t.Errorf("re-enroll: id %d (want %d), %d messages", again.ID, e.ID, len(again.Messages))
	}
	a.unchanged(t, before, "enrolling again")

	var got web.EnrollmentJSON
	a.do(fd, "GET", fmt.Sprintf("/api/v1/enrollments/%d", e.ID), nil).decode(t, http.StatusOK, &got)
	if got.ID != e.ID || len(got.Messages) != len(e.Messages) || got.Patient.ID != e.PatientID {
		t.Errorf("get: %+v", got)
	}
}

// TestAPIEnrollErrInvalid sends bad enrollments: each is 400 (or 413,
// 415) naming the field, and nothing is stored.
func TestAPIEnrollErrInvalid(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	fd := a.Token(a.Main, aftercare.RoleFrontDesk)
	with := func(k string, v any) map[string]any {
		m := anaRequest()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		header []string
		status int
		field  string
	}{
		{"ErrUnknownField", with("nmae", "Ana"), nil, 400, "nmae"},
		{"ErrFieldCase", with("Name", "Ana"), nil, 400, "Name"},
		{"ErrNull", `{"name": null, "tz": "UTC", "protocol": "microneedling", "treated_at": "2026-11-23T08:30"}`, nil, 400, "name"},
		{"ErrConsentType", with("sms_consent", "yes"), nil, 400, "sms_consent"},
		{"ErrNameType", with("name", 42), nil, 400, "name"},
		{"ErrNameMissing", with("name", nil), nil, 400, "name"},
		{"ErrNameControl", with("name", "Ana\u0000Ruiz"), nil, 400, "name"},
		{"ErrPhoneInvalid", with("phone", "555"), nil, 400, "phone"},
		{"ErrPhoneLong", with("phone", strings.Repeat("5", 300)), nil, 400, "phone"},
		{"ErrEmailInvalid", with("email", "Ana <ana@example.com>"), nil, 400, "email"},
		{"ErrUnreachable", with("phone", ""), nil, 400, "sms_consent"},
		{"ErrTZMissing", with("tz", nil), nil, 400, "tz"},
		{"ErrTZUnknown", with("tz", "America/Nowhere"), nil, 400, "tz"},
		{"ErrTreatedAtInvalid", with("treated_at", "yesterday"), nil, 400, "treated_at"},
		{"ErrTreatedAtFarAway", with("treated_at", "2029-01-01T10:00"), nil, 400, "treated_at"},
		{"ErrTreatedAtSpringForward", with("treated_at", "2027-03-14T02:30"), nil, 400, "treated_at"},
		{"ErrProtocolMissing", with("protocol", nil), nil, 400, "protocol"},
		{"ErrProtocolUnknown", with("protocol", "botox"), nil, 400, "protocol"},
		{"ErrLangMissing", with("lang", "fr"), nil, 400, "lang"},
		// Nothing sent, nothing enrolled: the scheduler's rule names the field.
		{"ErrNoConsent", func() map[string]any { m := with("sms_consent", false); m["email_consent"] = false; return m }(), nil, 422, "consent"},
		{"ErrAllInPast", with("treated_at", "2026-09-01T10:00"), nil, 422, "treated_at"},
		{"ErrNotJSON", "name=Ana", nil, 400, ""},
		{"ErrArray", `[{"name": "Ana"}]`, nil, 400, ""},
		{"ErrTrailing", `{"name": "Ana"} {}`, nil, 400, ""},
		{"ErrEmpty", "", nil, 400, ""},
		{"ErrContentType", anaRequest(), []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, ""},
		{"ErrTooLarge", with("name", strings.Repeat("a", 70<<10)), nil, 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(t)
			res := a.do(fd, "POST", "/api/v1/enrollments", tt.body, tt.header...)
			e := res.apiErr(t)
			code := aftercare.EINVALID
			if tt.status == http.StatusUnprocessableEntity {
				code = aftercare.EUNPROCESSABLE
			}
			if res.Status != tt.status || e.Field != tt.field || e.Code != code || e.Message == "" {
				t.Errorf("%d %+v, want %d with field %q", res.Status, e, tt.status, tt.field)
			}
			a.unchanged(t, before, "a refused enrollment")
		})
	}
}

// TestAPIEnrollNothingPending: enrolling again what is stored answers
// 200 with it even when, by now, none of its messages is pending; a new
// enrollment or a move that would send nothing is 422 on treated_at.
func TestAPIEnrollNothingPending(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	fd := a.Token(a.Main, aftercare.RoleFrontDesk)
	var first, again web.EnrollmentJSON
	a.do(fd, "POST", "/api/v1/enrollments", anaRequest()).decode(t, http.StatusCreated, &first)
	a.Advance(60 * 24 * time.Hour) // every message of it is past
	before := a.snapshot(t)
	a.do(fd, "POST", "/api/v1/enrollments", anaRequest()).decode(t, http.StatusOK, &again)
	if again.ID != first.ID {
		t.Errorf("enrolling again answered enrollment %d, want %d", again.ID, first.ID)
	}
	a.unchanged(t, before, "enrolling again")

	req := anaRequest()
	req["treated_at"] = "2026-12-01T10:00" // a new treatment, all of it past by now
	res := a.do(fd, "POST", "/api/v1/enrollments", req)
	if e := res.apiErr(t); res.Status != http.StatusUnprocessableEntity || e.Field != "treated_at" || !strings.Contains(e.Message, "due before now") {
		t.Errorf("a new enrollment with nothing to send: %d %+v", res.Status, e)
	}
	res = a.do(fd, "POST", fmt.Sprintf("/api/v1/enrollments/%d/reschedule", first.ID), map[string]any{"treated_at": "2026-12-01T10:00"})
	if e := res.apiErr(t); res.Status != http.StatusUnprocessableEntity || e.Field != "treated_at" || !strings.Contains(e.Message, "would be due before now") {
		t.Errorf("a move leaving nothing to send: %d %+v", res.Status, e)
	}
	a.unchanged(t, before, "refused enrollments")
}

// TestAPIAuth: every route refuses a request without a token, with a
// malformed header, and with a revoked token, as 401 with a JSON error,
// and changes nothing. (TestOpenAPIRoutesMounted checks 403 for a role too
// weak, route by route.)
func TestAPIAuth(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	revoked, tok, err := w.Accounts.CreateToken(context.Background(), w.Main.ID, "old", aftercare.RoleAdmin, "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.DB.RevokeToken(context.Background(), w.Main.ID, tok.ID, w.Now()); err != nil {
		t.Fatal(err)
	}
	before := w.snapshot(t)
	for _, rt := range web.APIRoutes() {
		path := "/api/v1" + strings.NewReplacer("{id}", strconv.FormatInt(w.Ana.ID, 10),
			"{message_id}", strconv.FormatInt(w.Ana.Messages[0].MessageID, 10), "{slug}", "microneedling").Replace(rt.Path)
		for _, c := range []struct {
			name   string
			header []string
		}{
			{"none", nil},
			{"revoked", []string{"Authorization", "Bearer " + revoked}},
			{"unknown", []string{"Authorization", "Bearer act_nosuchtoken"}},
			{"basic", []string{"Authorization", "Basic YWRtaW46YWRtaW4="}},
		} {
			res := w.do("", rt.Method, path, `{"name": "x"}`, c.header...)
			if e := res.apiErr(t); res.Status != http.StatusUnauthorized || e.Code != aftercare.EUNAUTHORIZED {
				t.Errorf("%s %s with %s token: %d %+v", rt.Method, path, c.name, res.Status, e)
			}
			if res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s token: no WWW-Authenticate", rt.Method, path, c.name)
			}
		}
	}
	w.unchanged(t, before, "unauthenticated requests")

	// Roles too weak change nothing either.
	w.do(w.Mgr, "PATCH", "/api/v1/clinic", map[string]any{"name": "Mine now"}).apiErr(t)
	w.do(w.FD, "POST", "/api/v1/protocols", protocolYAML("main-only", "v1"), "Content-Type", "application/yaml").apiErr(t)
	w.unchanged(t, before, "requests of roles too weak")
}

func TestAPICancel(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	pending := 0
	for _, m := range w.Ana.Messages {
		if m.Status == "pending" {
			pending++
		}
	}
	if pending == 0 {
		t.Fatal("no pending message to cancel")
	}
	path := fmt.Sprintf("/api/v1/enrollments/%d/cancel", w.Ana.ID)
	var c web.CancelJSON
	w.do(w.FD, "POST", path, nil).decode(t, http.StatusOK, &c)
	if c.Status != "cancelled" || c.CancelledMessages != pending || c.CancelledAt == "" {
		t.Errorf("cancel: status %s, %d cancelled (want %d), at %q", c.Status, c.CancelledMessages, pending, c.CancelledAt)
	}
	for _, m := range c.Messages {
		if m.Status == "pending" {
			t.Errorf("message %d is still pending", m.MessageID)
		}
	}
	before := w.snapshot(t)
	w.do(w.FD, "POST", path, nil).decode(t, http.StatusOK, &c)
	if c.CancelledMessages != 0 {
		t.Errorf("cancelling again cancelled %d", c.CancelledMessages)
	}
	w.unchanged(t, before, "cancelling again")
	if res := w.do(w.FD, "POST", path, `{"reason": "x"}`); res.Status != 400 {
		t.Errorf("cancel with a body: %d", res.Status)
	}
	if res := w.do(w.FD, "POST", "/api/v1/enrollments/999999/cancel", nil); res.Status != 404 {
		t.Errorf("cancel of a missing enrollment: %d", res.Status)
	}
}

func TestAPIReschedule(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	path := fmt.Sprintf("/api/v1/enrollments/%d/reschedule", w.Ana.ID)
	before := w.snapshot(t)
	for _, c := range []struct {
		name, body string
		field      string
	}{
		{"ErrTreatedAtInvalid", `{"treated_at": "soon"}`, "treated_at"},
		{"ErrTreatedAtMissing", `{}`, "treated_at"},
		{"ErrUnknownField", `{"treated_at": "2026-11-24T10:00", "tz": "UTC"}`, "tz"},
	} {
		res := w.do(w.FD, "POST", path, c.body)
		if e := res.apiErr(t); res.Status != 400 || e.Field != c.field {
			t.Errorf("%s: %d %+v", c.name, res.Status, e)
		}
	}
	w.unchanged(t, before, "refused reschedules")

	var e web.EnrollmentJSON
	w.do(w.FD, "POST", path, map[string]string{"treated_at": "2026-11-24T10:00"}).decode(t, http.StatusOK, &e)
	if e.TreatedAt != "2026-11-24T18:00:00Z" || e.ID != w.Ana.ID {
		t.Errorf("rescheduled: %s", e.TreatedAt)
	}
	// What was sent stays in the history.
	sent := slices.IndexFunc(e.Messages, func(m web.MessageTextJSON) bool { return m.Status == "sent" })
	if sent < 0 || e.Messages[sent].SendAt != "2026-11-23T17:00:00Z" {
		t.Errorf("the sent message moved or went (%d)", sent)
	}
	w.do(w.FD, "POST", fmt.Sprintf("/api/v1/enrollments/%d/cancel", w.Ana.ID), nil).decode(t, http.StatusOK, nil)
	before = w.snapshot(t)
	if res := w.do(w.FD, "POST", path, map[string]string{"treated_at": "2026-11-25T10:00"}); res.Status != http.StatusConflict {
		t.Errorf("rescheduling a cancelled enrollment: %d %s", res.Status, res.Body)
	}
	w.unchanged(t, before, "rescheduling a cancelled enrollment")
}

func TestAPIPreview(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	fd := a.Token(a.Main, aftercare.RoleFrontDesk)
	before := a.snapshot(t)
	var p web.PreviewJSON
	a.do(fd, "POST", "/api/v1/preview", map[string]any{"protocol": "microneedling", "treated_at": "2026-03-07T17:30",
		"tz": "America/New_York", "lang": "es", "name": "Ana"}).decode(t, http.StatusOK, &p)
	if p.Protocol != "microneedling" || p.Lang != "es" || p.TreatedAt != "2026-03-07T22:30:00Z" || len(p.Messages) < 10 {
		t.Fatalf("preview: %+v", p)
	}
	for _, m := range p.Messages {
		if m.MessageID != 0 || m.Body == "" || (m.Channel == "email") != (m.Subject != "") {
			t.Errorf("preview message: %+v", m)
		}
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"ErrProtocolMissing", map[string]any{"treated_at": "2026-03-07T17:30", "tz": "UTC"}, "protocol"},
		{"ErrVersionNegative", map[string]any{"protocol": "microneedling", "version": -1, "treated_at": "2026-03-07T17:30", "tz": "UTC"}, "version"},
		{"ErrVersionMissing", map[string]any{"protocol": "microneedling", "version": 9, "treated_at": "2026-03-07T17:30", "tz": "UTC"}, "protocol"},
		{"ErrTZ", map[string]any{"protocol": "microneedling", "treated_at": "2026-03-07T17:30", "tz": "Local"}, "tz"},
		{"ErrName", map[string]any{"protocol": "microneedling", "treated_at": "2026-03-07T17:30", "tz": "UTC", "name": "A\u0007B"}, "name"},
		{"ErrLang", map[string]any{"protocol": "microneedling", "treated_at": "2026-03-07T17:30", "tz": "UTC", "lang": "de"}, "lang"},
	} {
		res := a.do(fd, "POST", "/api/v1/preview", c.body)
		if e := res.apiErr(t); res.Status != 400 || e.Field != c.field {
			t.Errorf("%s: %d %+v", c.name, res.Status, e)
		}
	}
	a.unchanged(t, before, "previews")
}

func TestAPIPatients(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var list web.PatientListJSON
	w.do(w.FD, "GET", "/api/v1/patients?q=ruiz", nil).decode(t, http.StatusOK, &list)
	if len(list.Patients) != 1 || list.Patients[0].ID != w.Ana.PatientID {
		t.Fatalf("search: %+v", list)
	}
	w.do(w.FD, "GET", "/api/v1/patients?q=555+0100", nil).decode(t, http.StatusOK, &list)
	if len(list.Patients) != 1 {
		t.Errorf("search by phone: %+v", list)
	}
	w.do(w.FD, "GET", "/api/v1/patients?q=nobody", nil).decode(t, http.StatusOK, &list)
	if len(list.Patients) != 0 {
		t.Errorf("search for nobody: %+v", list)
	}
	path := fmt.Sprintf("/api/v1/patients/%d", w.Ana.PatientID)
	var p web.PatientJSON
	w.do(w.FD, "GET", path, nil).decode(t, http.StatusOK, &p)
	if p.Name != "Ana Ruiz" || p.TZ != "America/Los_Angeles" {
		t.Errorf("get: %+v", p)
	}

	before := w.snapshot(t)
	for _, c := range []struct {
		name, body string
		status     int
		field      string
	}{
		{"ErrNothing", `{}`, 400, ""},
		{"ErrUnknownField", `{"nickname": "Annie"}`, 400, "nickname"},
		{"ErrPhone", `{"phone": "12"}`, 400, "phone"},
		{"ErrEmail", `{"email": "not an address"}`, 400, "email"},
		{"ErrTZ", `{"tz": "Mars/Olympus"}`, 400, "tz"},
		{"ErrName", `{"name": ""}`, 400, "name"},
		{"ErrConsentType", `{"sms_consent": "yes"}`, 400, "sms_consent"},
		{"ErrNull", `{"email": null}`, 400, "email"},
	} {
		res := w.do(w.FD, "PATCH", path, c.body)
		if e := res.apiErr(t); res.Status != c.status || e.Field != c.field {
			t.Errorf("%s: %d %+v, want %d field %q", c.name, res.Status, e, c.status, c.field)
		}
	}
	w.unchanged(t, before, "refused patient changes")
	for _, c := range []struct {
		name   string
		query  string
		status int
	}{
		{"ErrLimit", "?limit=0", 400},
		{"ErrLimitHigh", "?limit=201", 400},
		{"ErrUnknownParam", "?name=Ana", 400},
		{"ErrQTwice", "?q=a&q=b", 400},
	} {
		if res := w.do(w.FD, "GET", "/api/v1/patients"+c.query, nil); res.Status != c.status {
			t.Errorf("%s: %d %s", c.name, res.Status, res.Body)
		}
	}

	w.do(w.FD, "PATCH", path, map[string]any{"name": "Ana María Ruiz", "sms_opt_out": true}).decode(t, http.StatusOK, &p)
	if p.Name != "Ana María Ruiz" || !p.SMSOptOut || p.SMSOptOutAt == "" {
		t.Errorf("patched: %+v", p)
	}
	// Another patient with the same details clashes.
	other := anaRequest()
	other["name"], other["treated_at"] = "Bea Ruiz", "2026-11-23T08:45"
	var bea web.EnrollmentJSON
	w.do(w.FD, "POST", "/api/v1/enrollments", other).decode(t, http.StatusCreated, &bea)
	before = w.snapshot(t)
	res := w.do(w.FD, "PATCH", fmt.Sprintf("/api/v1/patients/%d", bea.PatientID), map[string]any{"name": "Ana María Ruiz"})
	if res.Status != http.StatusConflict {
		t.Errorf("a clashing change: %d %s", res.Status, res.Body)
	}
	w.unchanged(t, before, "a clashing patient change")
}

func TestAPIImport(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	fd := a.Token(a.Main, aftercare.RoleFrontDesk)
	csvBody := "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n" +
		"Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-23T08:30,yes,yes\n" +
		"Bo Li,+1 415 555 0101,,America/New_York,en,microneedling,2026-11-23T11:00,yes,no\n" +
		"No Phone,,,America/New_York,en,microneedling,2026-11-23T11:00,yes,no\n" +
		"Bad Zone,+1 415 555 0102,,Nowhere/City,en,microneedling,2026-11-23T11:00,yes,no\n" +
		"Ragged,row\n" +
		"No Consent,+1 415 555 0103,,America/New_York,en,microneedling,2026-11-23T11:00,no,no\n"
	csvHeader := []string{"Content-Type", "text/csv"}
	var rep scheduler.ImportReport
	a.do(fd, "POST", "/api/v1/imports?filename=today.csv", csvBody, csvHeader...).decode(t, http.StatusOK, &rep)
	if rep.Rows != 6 || rep.Enrolled != 2 || rep.Existing != 0 || len(rep.Errors) != 4 {
		t.Fatalf("report: %+v", rep)
	}
	if e := rep.Errors[1]; e.Line != 5 || e.Field != "tz" {
		t.Errorf("row error: %+v", e)
	}
	if e := rep.Errors[3]; e.Line != 7 || e.Field != "sms_consent" || !strings.Contains(e.Reason, "agreed to no messages") {
		t.Errorf("a row that sends nothing: %+v", e)
	}
	ps, _ := a.DB.SearchPatients(context.Background(), a.Main.ID, "Bo Li", 10)
	if len(ps) != 1 || ps[0].SMSConsent.Source != "import:today.csv:3" {
		t.Errorf("imported patient: %+v", ps)
	}
	before := a.snapshot(t)
	a.do(fd, "POST", "/api/v1/imports?filename=today.csv", csvBody, csvHeader...).decode(t, http.StatusOK, &rep)
	if rep.Enrolled != 0 || rep.Existing != 2 {
		t.Errorf("again: %+v", rep)
	}
	a.unchanged(t, before, "importing the same file again")
	for _, c := range []struct {
		name, body string
		header     []string
		status     int
	}{
		{"ErrHeader", "name,phone\nAna,+14155550100\n", csvHeader, 400},
		{"ErrEmpty", "", csvHeader, 400},
		{"ErrContentType", csvBody, []string{"Content-Type", "application/json"}, 415},
		{"ErrFilename", csvBody, nil, 400},
	} {
		path := "/api/v1/imports"
		if c.name == "ErrFilename" {
			path += "?filename=" + url.QueryEscape("a\nb.csv")
			c.header = csvHeader
		}
		res := a.do(fd, "POST", path, c.body, c.header...)
		if e := res.apiErr(t); res.Status != c.status {
			t.Errorf("%s: %d %+v", c.name, res.Status, e)
		}
	}
	a.unchanged(t, before, "refused imports")
}

// protocolYAML is a small valid protocol document; tag changes its text
// (a new version).
func protocolYAML(slug, tag string) string {
	return "slug: " + slug + "\nname: Chemical peel\nlanguages: [en]\nsteps:\n" +
		"  - key: day-after\n    channels: [sms]\n    after: 24h\n    text:\n      en:\n" +
		"        sms: \"{{.ClinicName}}: " + tag + " keep the skin moist and out of the sun. Call {{.ClinicPhone}}.\"\n"
}

func TestAPIProtocols(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	yaml := []string{"Content-Type", "application/yaml"}
	var list web.ProtocolListJSON
	w.do(w.FD, "GET", "/api/v1/protocols", nil).decode(t, http.StatusOK, &list)
	if len(list.Protocols) != 2 || list.Protocols[0].Slug != "microneedling" || list.Protocols[0].Source != "builtin" {
		t.Fatalf("list: %+v", list)
	}
	var d web.ProtocolDetailJSON
	w.do(w.FD, "GET", "/api/v1/protocols/microneedling", nil).decode(t, http.StatusOK, &d)
	if d.Version != 1 || len(d.Steps) < 10 || d.Steps[0].Key != "welcome" || d.Steps[0].Text["es"].SMS == "" || d.YAML == "" {
		t.Errorf("detail: %+v", d.ProtocolJSON)
	}
	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/v1/protocols/botox", 404},
		{"/api/v1/protocols/microneedling?version=2", 404},
		{"/api/v1/protocols/Bad_Slug", 404},
		{"/api/v1/protocols/microneedling?version=0", 400},
		{"/api/v1/protocols/microneedling?lang=es", 400},
	} {
		if res := w.do(w.FD, "GET", c.path, nil); res.Status != c.status {
			t.Errorf("%s: %d %s", c.path, res.Status, res.Body)
		}
	}

	before := w.snapshot(t)
	var v web.ValidationJSON
	w.do(w.Mgr, "POST", "/api/v1/protocols/validate", protocolYAML("chemical-peel", "v1"), yaml...).decode(t, http.StatusOK, &v)
	if !v.Valid || v.Slug != "chemical-peel" || v.Steps != 1 {
		t.Errorf("validate: %+v", v)
	}
	bad := "slug: Bad Slug\nname: x\nlanguages: [en]\nsteps:\n  - key: a\n    channels: [fax]\n    after: 3 days\n"
	for _, path := range []string{"/api/v1/protocols/validate", "/api/v1/protocols"} {
		res := w.do(w.Mgr, "POST", path, bad, yaml...)
		e := res.apiErr(t)
		if res.Status != http.StatusUnprocessableEntity || len(e.Problems) < 3 {
			t.Errorf("%s with problems: %d %+v", path, res.Status, e)
		}
		for _, p := range e.Problems {
			if p.Line < 1 || p.Column < 1 || p.Message == "" {
				t.Errorf("problem without a place: %+v", p)
			}
		}
		if e.Problems[0].Line != 1 {
			t.Errorf("first problem at line %d, want 1 (the slug)", e.Problems[0].Line)
		}
		if res := w.do(w.Mgr, "POST", path, protocolYAML("chemical-peel", "v1"), "Content-Type", "text/plain"); res.Status != 415 {
			t.Errorf("%s as text/plain: %d", path, res.Status)
		}
	}
	w.unchanged(t, before, "validating and refused imports")

	var imp web.ProtocolImportJSON
	res := w.do(w.Mgr, "POST", "/api/v1/protocols", protocolYAML("chemical-peel", "v1"), yaml...)
	res.decode(t, http.StatusCreated, &imp)
	if !imp.Created || imp.Version != 1 || imp.Source != "clinic" || res.Header.Get("Location") != "/api/v1/protocols/chemical-peel?version=1" {
		t.Errorf("import: %+v %q", imp, res.Header.Get("Location"))
	}
	before = w.snapshot(t)
	w.do(w.Mgr, "POST", "/api/v1/protocols", protocolYAML("chemical-peel", "v1"), yaml...).decode(t, http.StatusOK, &imp)
	if imp.Created || imp.Version != 1 {
		t.Errorf("identical import: %+v", imp)
	}
	w.unchanged(t, before, "an identical import")
	w.do(w.Mgr, "POST", "/api/v1/protocols", protocolYAML("chemical-peel", "v2"), "Content-Type", "application/x-yaml").decode(t, http.StatusCreated, &imp)
	if imp.Version != 2 {
		t.Errorf("second version: %+v", imp)
	}
	w.do(w.FD, "GET", "/api/v1/protocols/chemical-peel?version=1", nil).decode(t, http.StatusOK, &d)
	if d.Version != 1 || !strings.Contains(d.Steps[0].Text["en"].SMS, "v1 keep") {
		t.Errorf("version 1: %+v", d)
	}
}

func TestAPIClinic(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var c web.ClinicJSON
	w.do(w.FD, "GET", "/api/v1/clinic", nil).decode(t, http.StatusOK, &c)
	if c.Slug != "main" || c.Name != "Glow Skin Studio" || c.Window != "08:00-21:00" || c.DailyCap != 3 {
		t.Errorf("clinic: %+v", c)
	}
	before := w.snapshot(t)
	for _, x := range []struct {
		name, body string
		field      string
	}{
		{"ErrNothing", `{}`, ""},
		{"ErrSlug", `{"slug": "mine"}`, "slug"},
		{"ErrDefault", `{"default": false}`, "default"},
		{"ErrDailyCap", `{"daily_cap": 0}`, "daily_cap"},
		{"ErrDailyCapType", `{"daily_cap": "3"}`, "daily_cap"},
		{"ErrWindow", `{"window": "21:00-08:00"}`, "window"},
		{"ErrTZ", `{"tz": "Local"}`, "tz"},
		{"ErrName", `{"name": "  "}`, "name"},
		{"ErrNameControl", `{"name": "Glow\r\nBcc: x"}`, "name"},
		{"ErrCountry", `{"country": "usa"}`, "country"},
		{"ErrPhone", `{"phone": "call us"}`, "phone"},
		{"ErrAllOrNothing", `{"name": "New Name", "daily_cap": 99}`, "daily_cap"},
	} {
		res := w.do(w.Admin, "PATCH", "/api/v1/clinic", x.body)
		if e := res.apiErr(t); res.Status != 400 || e.Field != x.field {
			t.Errorf("%s: %d %+v", x.name, res.Status, e)
		}
	}
	w.unchanged(t, before, "refused clinic changes")
	var u web.ClinicUpdateJSON
	w.do(w.Admin, "PATCH", "/api/v1/clinic", map[string]any{"name": "Glow Spa", "daily_cap": 5, "window": "09:00-20:00",
		"email_fallback": false}).decode(t, http.StatusOK, &u)
	c = u.ClinicJSON
	if c.Name != "Glow Spa" || c.DailyCap != 5 || c.Window != "09:00-20:00" || c.EmailFallback {
		t.Errorf("changed: %+v", c)
	}
	stored, _ := w.DB.FindClinic(context.Background(), "main")
	if stored.Name != "Glow Spa" || stored.DailyCap != 5 {
		t.Errorf("stored: %+v", stored)
	}
}

// bigWorld adds 200 patients to the world's clinic by a CSV import (over
// a thousand messages in the log, which lists the pending ones due within
// a day, so the CSV export reads more than one batch) and dispatches what
// is due.
func bigWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	var b strings.Builder
	b.WriteString("name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n")
	for i := range 200 {
		fmt.Fprintf(&b, "Patient %d,+1 415 %03d 0100,p%d@example.com,America/New_York,en,microneedling,2026-11-23T%02d:%02d,yes,%v\n",
			i, 200+i, i, 9+i/20, i%20, i%2 == 0)
	}
	var rep scheduler.ImportReport
	w.do(w.FD, "POST", "/api/v1/imports", b.String(), "Content-Type", "text/csv").decode(t, http.StatusOK, &rep)
	if rep.Enrolled != 200 {
		t.Fatalf("import: %+v", rep)
	}
	w.dispatch(t)
	return w
}

func TestAPIMessagesPagination(t *testing.T) {
	t.Parallel()
	w := bigWorld(t)
	all := w.messages(t, aftercare.MessageFilter{ClinicID: w.Main.ID})
	if len(all) < 1000 {
		t.Fatalf("only %d messages", len(all))
	}
	late := map[int64]bool{} // messages added while paging
	for _, limit := range []int{7, 250} {
		seen := map[int64]bool{}
		var got []int64
		path := "/api/v1/messages?limit=" + strconv.Itoa(limit)
		for n := 0; ; n++ {
			var page web.MessageListJSON
			w.do(w.Mgr, "GET", path, nil).decode(t, http.StatusOK, &page)
			if len(page.Messages) > limit || (page.Next != nil && len(page.Messages) != limit) {
				t.Fatalf("page %d has %d rows for limit %d", n, len(page.Messages), limit)
			}
			for _, m := range page.Messages {
				if seen[m.MessageID] {
					t.Fatalf("limit %d: message %d comes twice", limit, m.MessageID)
				}
				seen[m.MessageID] = true
				got = append(got, m.MessageID)
			}
			if n == 1 && limit == 7 {
				// A new enrollment between pages does not make a row come twice.
				req := anaRequest()
				req["name"], req["treated_at"] = "Late Comer", "2026-11-23T08:50"
				var e web.EnrollmentJSON
				w.do(w.FD, "POST", "/api/v1/enrollments", req).decode(t, http.StatusCreated, &e)
				for _, m := range e.Messages {
					late[m.MessageID] = true
				}
			}
			if page.Next == nil {
				break
			}
			path = "/api/v1/messages?limit=" + strconv.Itoa(limit) + "&cursor=" + url.QueryEscape(*page.Next)
		}
		now := w.messages(t, aftercare.MessageFilter{ClinicID: w.Main.ID})
		for i, m := range now {
			if !seen[m.ID] && !(limit == 7 && late[m.ID]) {
				t.Errorf("limit %d: message %d (#%d of the log) never came", limit, m.ID, i)
			}
		}
		if len(late) == 0 {
			t.Fatal("no message was added while paging")
		}
		if limit == 250 && !slices.Equal(got, ids(now)) {
			t.Errorf("limit %d: the pages are not the log in order", limit)
		}
	}
	// The default page is 100 rows.
	var page web.MessageListJSON
	w.do(w.Mgr, "GET", "/api/v1/messages", nil).decode(t, http.StatusOK, &page)
	if len(page.Messages) != 100 || page.Next == nil {
		t.Errorf("default page: %d rows", len(page.Messages))
	}
}

func ids(ms []*aftercare.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// TestAPIMessagesFilters checks each filter of the log against the store,
// and the CSV export against the same filter: exactly the filtered rows,
// in order, with the columns of `aftercare log --csv`.
func TestAPIMessagesFilters(t *testing.T) {
	t.Parallel()
	w := bigWorld(t)
	la, _ := time.LoadLocation("America/Los_Angeles")
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, la).UTC() }
	pt := w.Ana.PatientID
	tests := []struct {
		name  string
		query string
		f     aftercare.MessageFilter
	}{
		{"All", "", aftercare.MessageFilter{}},
		{"Status", "status=sent", aftercare.MessageFilter{Statuses: []aftercare.Status{aftercare.StatusSent}}},
		{"StatusList", "status=failed,sent&status=skipped", aftercare.MessageFilter{Statuses: []aftercare.Status{aftercare.StatusFailed, aftercare.StatusSent, aftercare.StatusSkipped}}},
		{"Channel", "channel=email", aftercare.MessageFilter{Channel: aftercare.Email}},
		{"Protocol", "protocol=microneedling", aftercare.MessageFilter{ProtocolSlug: "microneedling"}},
		{"ProtocolNone", "protocol=microneedling-prep", aftercare.MessageFilter{ProtocolSlug: "microneedling-prep"}},
		{"Patient", "patient=" + strconv.FormatInt(pt, 10), aftercare.MessageFilter{PatientID: pt}},
		{"Enrollment", "enrollment=" + strconv.FormatInt(w.Ana.ID, 10), aftercare.MessageFilter{EnrollmentID: w.Ana.ID}},
		{"SinceUntilDays", "since=2026-11-24&until=2026-11-26", aftercare.MessageFilter{Since: day(2026, 11, 24), Until: day(2026, 11, 26)}},
		{"SinceRFC3339", "since=2026-12-01T00:00:00Z", aftercare.MessageFilter{Since: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}},
		{"Together", "channel=sms&status=pending&since=2026-11-25&patient=" + strconv.FormatInt(pt, 10),
			aftercare.MessageFilter{Channel: aftercare.SMS, Statuses: []aftercare.Status{aftercare.StatusPending}, Since: day(2026, 11, 25), PatientID: pt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.ClinicID = w.Main.ID
			want := w.messages(t, tt.f)
			if tt.name == "All" && len(want) <= 1000 {
				t.Fatalf("%d messages: the export reads one batch only", len(want))
			}
			var page web.MessageListJSON
			w.do(w.Mgr, "GET", "/api/v1/messages?limit=1000&"+tt.query, nil).decode(t, http.StatusOK, &page)
			var got []int64
			for _, m := range page.Messages {
				got = append(got, m.MessageID)
			}
			if n := min(len(want), 1000); !slices.Equal(got, ids(want[:n])) {
				t.Errorf("JSON: %d rows, want %d", len(got), n)
			}
			for i, m := range page.Messages {
				if m != web.NewMessageJSON(want[i]) {
					t.Fatalf("row %d: %+v, want %+v", i, m, web.NewMessageJSON(want[i]))
				}
			}

			res := w.do(w.Mgr, "GET", "/api/v1/messages?"+tt.query, nil, "Accept", "text/csv")
			if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV: %d %s", res.Status, res.Header.Get("Content-Type"))
			}
			recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(recs[0], web.MessageCSVHeader) {
				t.Errorf("CSV header: %v", recs[0])
			}
			if len(recs)-1 != len(want) {
				t.Fatalf("CSV: %d rows, want %d", len(recs)-1, len(want))
			}
			for i, m := range want {
				if !slices.Equal(recs[i+1], web.NewMessageJSON(m).CSVRecord()) {
					t.Fatalf("CSV row %d: %v", i, recs[i+1])
				}
			}
		})
	}
	// A provider's error code that looks like a formula is defused.
	res := w.do(w.Mgr, "GET", "/api/v1/messages?status=failed", nil, "Accept", "text/csv, application/json")
	if !strings.Contains(res.Body, ",'=550,") {
		t.Errorf("failed messages as CSV: %s", res.Body)
	}
	for accept, csv := range map[string]bool{
		"application/json, text/csv": false, "text/csv;q=0.5, application/json": false, "*/*": false, "": false,
		"text/csv;q=0": false, "application/json;q=0.2, text/csv;q=0.9": true, "text/*, text/csv": true,
	} {
		query := "?limit=1"
		if csv {
			query = ""
		}
		res := w.do(w.Mgr, "GET", "/api/v1/messages"+query, nil, "Accept", accept)
		if got := strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv"); got != csv || res.Status != 200 {
			t.Errorf("Accept %q: %d %s", accept, res.Status, res.Header.Get("Content-Type"))
		}
	}

	before := w.snapshot(t)
	for _, c := range []struct {
		name, query string
		header      []string
		field       string
	}{
		{"ErrStatus", "status=lost", nil, "status"},
		{"ErrStatusEmpty", "status=sent,", nil, "status"},
		{"ErrChannel", "channel=fax", nil, "channel"},
		{"ErrSince", "since=yesterday", nil, "since"},
		{"ErrUntil", "until=2026-13-01", nil, "until"},
		{"ErrRange", "since=2026-11-25&until=2026-11-24", nil, "until"},
		{"ErrLimitZero", "limit=0", nil, "limit"},
		{"ErrLimitHigh", "limit=1001", nil, "limit"},
		{"ErrLimitWord", "limit=all", nil, "limit"},
		{"ErrCursor", "cursor=garbage", nil, "cursor"},
		{"ErrCursorBase64", "cursor=" + url.QueryEscape("bTIwMjYsMQ"), nil, "cursor"},
		{"ErrPatient", "patient=abc", nil, "patient"},
		{"ErrPatientMissing", "patient=999999", nil, "patient"},
		{"ErrEnrollmentMissing", "enrollment=999999", nil, "enrollment"},
		{"ErrProtocolMissing", "protocol=botox", nil, "protocol"},
		{"ErrProtocolSlug", "protocol=Bad+Slug", nil, "protocol"},
		{"ErrUnknownParam", "state=sent", nil, "state"},
		{"ErrChannelTwice", "channel=sms&channel=email", nil, "channel"},
		{"ErrCSVLimit", "limit=10", []string{"Accept", "text/csv"}, "limit"},
		{"ErrCSVCursor", "cursor=x", []string{"Accept", "text/csv"}, "cursor"},
	} {
		res := w.do(w.Mgr, "GET", "/api/v1/messages?"+c.query, nil, c.header...)
		if e := res.apiErr(t); res.Status != 400 || e.Field != c.field {
			t.Errorf("%s: %d %+v", c.name, res.Status, e)
		}
	}
	w.unchanged(t, before, "reading the log")
}

func TestAPIMessageDetail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var failed, sent int64
	for _, m := range w.Ana.Messages {
		switch m.Status {
		case "failed":
			failed = m.MessageID
		case "sent":
			sent = m.MessageID
		}
	}
	if failed == 0 || sent == 0 {
		t.Fatalf("no failed or sent message: %+v", w.Ana.Messages)
	}
	var d web.MessageDetailJSON
	w.do(w.Mgr, "GET", fmt.Sprintf("/api/v1/enrollments/%d/messages/%d", w.Ana.ID, failed), nil).decode(t, http.StatusOK, &d)
	if d.Message.MessageID != failed || d.Message.Channel != "email" || d.Message.Subject == "" || len(d.Attempts) != 1 {
		t.Fatalf("detail: %+v", d)
	}
	if a := d.Attempts[0]; a.Number != 1 || a.Outcome != "failed" || a.ErrorCode != "=550" || a.Sender != "test" {
		t.Errorf("attempt: %+v", a)
	}
	w.do(w.Mgr, "GET", fmt.Sprintf("/api/v1/enrollments/%d/messages/%d", w.Ana.ID, sent), nil).decode(t, http.StatusOK, &d)
	if d.Message.ProviderID == "" || d.Attempts[0].Outcome != "sent" {
		t.Errorf("sent: %+v", d)
	}
	for _, path := range []string{
		fmt.Sprintf("/api/v1/enrollments/%d/messages/%d", w.Ana.ID+1, sent),
		fmt.Sprintf("/api/v1/enrollments/%d/messages/999999", w.Ana.ID),
		fmt.Sprintf("/api/v1/enrollments/%d/messages/x", w.Ana.ID),
	} {
		if res := w.do(w.Mgr, "GET", path, nil); res.Status != 404 {
			t.Errorf("%s: %d", path, res.Status)
		}
	}
}

func TestAPIStatsAndAttention(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var st web.StatsJSON
	w.do(w.Mgr, "GET", "/api/v1/stats?since=2026-11-23&until=2026-11-24", nil).decode(t, http.StatusOK, &st)
	counts := map[string]int{}
	for _, d := range st.Days {
		if d.Day != "2026-11-23" && d.Day != "2026-11-24" {
			t.Errorf("day %s out of range", d.Day)
		}
		counts[d.Status] += d.Count
	}
	// Ana's welcome, pause-actives and first-hours texts; her welcome email failed.
	if counts["sent"] != 3 || counts["failed"] != 1 {
		t.Errorf("stats: %+v", st)
	}
	if res := w.do(w.Mgr, "GET", "/api/v1/stats?since=bad", nil); res.Status != 400 {
		t.Errorf("bad since: %d", res.Status)
	}
	var att web.AttentionListJSON
	w.do(w.Mgr, "GET", "/api/v1/attention", nil).decode(t, http.StatusOK, &att)
	if len(att.Items) != 1 || att.Items[0].Message.Status != "failed" || att.Items[0].Patient.Name != "Ana Ruiz" || att.Next != nil {
		t.Errorf("attention: %+v", att)
	}
	w.do(w.Mgr, "GET", "/api/v1/attention?since=2026-11-24", nil).decode(t, http.StatusOK, &att)
	if len(att.Items) != 0 {
		t.Errorf("attention since tomorrow: %+v", att)
	}
}

func TestAPIEnrollmentList(t *testing.T) {
	t.Parallel()
	w := bigWorld(t)
	seen := map[int64]bool{}
	path := "/api/v1/enrollments?limit=15"
	pages := 0
	for {
		var page web.EnrollmentListJSON
		w.do(w.FD, "GET", path, nil).decode(t, http.StatusOK, &page)
		pages++
		for i, e := range page.Enrollments {
			if seen[e.ID] {
				t.Fatalf("enrollment %d comes twice", e.ID)
			}
			seen[e.ID] = true
			if i > 0 && e.ID > page.Enrollments[i-1].ID {
				t.Errorf("not newest first")
			}
			if e.PatientName == "" || e.Protocol != "microneedling" {
				t.Errorf("row: %+v", e)
			}
		}
		if page.Next == nil {
			break
		}
		path = "/api/v1/enrollments?limit=15&cursor=" + url.QueryEscape(*page.Next)
	}
	if len(seen) != 201 || pages != 14 {
		t.Errorf("%d enrollments in %d pages, want 201 in 14", len(seen), pages)
	}
	var page web.EnrollmentListJSON
	w.do(w.FD, "GET", fmt.Sprintf("/api/v1/enrollments?patient=%d", w.Ana.PatientID), nil).decode(t, http.StatusOK, &page)
	if len(page.Enrollments) != 1 || page.Enrollments[0].ID != w.Ana.ID || page.Enrollments[0].Done != 3 || page.Enrollments[0].Problems != 1 {
		t.Errorf("Ana's: %+v", page)
	}
	w.do(w.FD, "GET", "/api/v1/enrollments?since=2026-11-24", nil).decode(t, http.StatusOK, &page)
	if len(page.Enrollments) != 0 {
		t.Errorf("since tomorrow: %+v", page)
	}
	for _, q := range []string{"patient=999999", "cursor=abc", "limit=501", "since=x", "before=3"} {
		if res := w.do(w.FD, "GET", "/api/v1/enrollments?"+q, nil); res.Status != 400 {
			t.Errorf("%s: %d %s", q, res.Status, res.Body)
		}
	}
}

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
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
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
