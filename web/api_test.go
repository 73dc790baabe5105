package web_test

import (
	"context"
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
	var e web.EnrollAnswerJSON
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
	var again web.EnrollAnswerJSON
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
		{"ErrTZLocal", with("tz", "Local"), nil, 400, "tz"},
		{"ErrTZControl", with("tz", "America/New_York\n"), nil, 400, "tz"},
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

// TestAPIEnrollDefaultZone: an enrollment without tz is in the clinic's
// zone for a new patient and in their stored zone for a returning one,
// and the answer's patient.tz says which; sending it again is the same
// enrollment.
func TestAPIEnrollDefaultZone(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	main, other := a.Token(a.Main, aftercare.RoleFrontDesk), a.Token(a.Other, aftercare.RoleFrontDesk)
	without := func(edit ...string) map[string]any {
		m := anaRequest()
		delete(m, "tz")
		for i := 0; i+1 < len(edit); i += 2 {
			m[edit[i]] = edit[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name, token string
		body        map[string]any
		tz, treated string
	}{
		// The other clinic is in New York, Ana's request says 08:30.
		{"OKNewPatientClinicZone", other, without(), "America/New_York", "2026-11-23T13:30:00Z"},
		{"OKEmptyIsClinicZone", other, without("tz", "", "name", "Cy Park", "phone", "+1 415 555 0122", "email", "cy@example.com"), "America/New_York", "2026-11-23T13:30:00Z"},
		{"OKMainClinicZone", main, without("phone", "+1 415 555 0111", "email", "bo@example.com", "name", "Bo Lee"), "America/Los_Angeles", "2026-11-23T16:30:00Z"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var e web.EnrollAnswerJSON
			a.do(c.token, "POST", "/api/v1/enrollments", c.body).decode(t, http.StatusCreated, &e)
			if e.Patient.TZ != c.tz || e.TreatedAt != c.treated {
				t.Errorf("patient.tz %q treated_at %s, want %s and %s", e.Patient.TZ, e.TreatedAt, c.tz, c.treated)
			}
			before := a.snapshot(t)
			var again web.EnrollAnswerJSON
			a.do(c.token, "POST", "/api/v1/enrollments", c.body).decode(t, http.StatusOK, &again)
			if again.ID != e.ID {
				t.Errorf("sent again: enrollment %d, want %d", again.ID, e.ID)
			}
			a.unchanged(t, before, "the same enrollment without tz again")
		})
	}

	t.Run("OKReturningPatientKeepsZone", func(t *testing.T) {
		first := anaRequest()
		first["tz"] = "Europe/London"
		var e web.EnrollAnswerJSON
		a.do(main, "POST", "/api/v1/enrollments", first).decode(t, http.StatusCreated, &e)
		a.do(main, "POST", "/api/v1/enrollments", without("treated_at", "2026-11-25T08:30")).decode(t, http.StatusCreated, &e)
		if e.Patient.TZ != "Europe/London" || e.TreatedAt != "2026-11-25T08:30:00Z" {
			t.Errorf("patient.tz %q treated_at %s, want Europe/London and 08:30 there", e.Patient.TZ, e.TreatedAt)
		}
	})
}

// TestAPIEnrollNothingPending: enrolling again what is stored answers
// 200 with it even when, by now, none of its messages is pending; a new
// enrollment or a move that would send nothing is 422 on treated_at.
func TestAPIEnrollNothingPending(t *testing.T) {
	t.Parallel()
	a := newAPIApp(t)
	fd := a.Token(a.Main, aftercare.RoleFrontDesk)
	var first, again web.EnrollAnswerJSON
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
		w.do(w.FD, "POST", path, c.body).wantInvalid(t, c.name, c.field)
	}
	w.unchanged(t, before, "refused reschedules")

	var e web.EnrollAnswerJSON
	res := w.do(w.FD, "POST", path, map[string]string{"treated_at": "2026-11-24T10:00"})
	res.decode(t, http.StatusOK, &e)
	if e.TreatedAt != "2026-11-24T18:00:00Z" || e.ID != w.Ana.ID {
		t.Errorf("rescheduled: %s", e.TreatedAt)
	}
	if !strings.Contains(res.Body, `"warnings":[]`) {
		t.Errorf("a usual date: warnings not an empty array: %s", res.Body)
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

// TestAPIRescheduleWarnings: a move to an unusual treatment date is
// stored and answered with the warning the command line prints, the same
// text POST /enrollments gives for that date.
func TestAPIRescheduleWarnings(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, treated string
		says          []string
	}{
		{"WarnMonthsAhead", "2027-03-01T10:00", []string{"Mon 1 Mar 2027", "days from today", "Check the date"}},
		{"WarnWeeksAgo", "2026-11-10T10:00", []string{"Tue 10 Nov 2026", "13 days ago", "are already past and will be skipped", "Check the date"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			var e web.EnrollAnswerJSON
			w.do(w.FD, "POST", fmt.Sprintf("/api/v1/enrollments/%d/reschedule", w.Ana.ID), map[string]string{"treated_at": c.treated}).decode(t, http.StatusOK, &e)
			if len(e.Warnings) != 1 {
				t.Fatalf("warnings %q, want one", e.Warnings)
			}
			for _, want := range c.says {
				if !strings.Contains(e.Warnings[0], want) {
					t.Errorf("%q lacks %q", e.Warnings[0], want)
				}
			}
			// Stored all the same.
			var got web.EnrollmentJSON
			w.do(w.FD, "GET", fmt.Sprintf("/api/v1/enrollments/%d", w.Ana.ID), nil).decode(t, http.StatusOK, &got)
			if got.TreatedAt != e.TreatedAt || got.TreatedAt == w.Ana.TreatedAt {
				t.Errorf("stored treated_at %s, answered %s (was %s)", got.TreatedAt, e.TreatedAt, w.Ana.TreatedAt)
			}
			// POST /enrollments warns in the same words for that date.
			req := anaRequest()
			req["treated_at"], req["phone"], req["email"] = c.treated, "+1 415 555 0133", "ana2@example.com"
			var fresh web.EnrollAnswerJSON
			w.do(w.FD, "POST", "/api/v1/enrollments", req).decode(t, http.StatusCreated, &fresh)
			if len(fresh.Warnings) != 1 || fresh.Warnings[0][:40] != e.Warnings[0][:40] {
				t.Errorf("enrolling on that date warns %q, rescheduling %q", fresh.Warnings, e.Warnings)
			}
		})
	}
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
	// Without tz, in the clinic's zone (Los Angeles), as the CLI's preview.
	a.do(fd, "POST", "/api/v1/preview", map[string]any{"protocol": "microneedling", "treated_at": "2026-03-07T17:30"}).decode(t, http.StatusOK, &p)
	if p.TZ != "America/Los_Angeles" || p.TreatedAt != "2026-03-08T01:30:00Z" {
		t.Errorf("preview without tz: tz %q treated_at %s", p.TZ, p.TreatedAt)
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
		a.do(fd, "POST", "/api/v1/preview", c.body).wantInvalid(t, c.name, c.field)
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
	var bea web.EnrollAnswerJSON
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
		w.do(w.Admin, "PATCH", "/api/v1/clinic", x.body).wantInvalid(t, x.name, x.field)
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
