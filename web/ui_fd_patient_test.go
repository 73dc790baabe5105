package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

func TestPatientCancelReschedule(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	ctx := context.Background()
	pid, eid := fdEnroll(t, b, fdForm())
	page := fmt.Sprintf("/patients/%d", pid)

	t.Run("RescheduleErr", func(t *testing.T) {
		resp := b.PostForm(fmt.Sprintf("/enrollments/%d/reschedule", eid), url.Values{"treated_at": {"not a time"}})
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, fmt.Sprintf(`id="r-%d-error"`, eid)) || !strings.Contains(body, `value="not a time"`) {
			t.Fatalf("status %d\n%s", resp.StatusCode, body)
		}
		// The field names its error and takes the focus, so that the page
		// opens on it (TestBrowserRescheduleRefused measures it on a phone).
		if want := fmt.Sprintf(`aria-invalid="true" aria-describedby="r-%d-error" autofocus>`, eid); !strings.Contains(body, want) {
			t.Errorf("the time's field lacks %s", want)
		}
		e, _ := app.DB.FindEnrollment(ctx, app.Main.ID, eid)
		if !e.TreatedAt.Equal(time.Date(2026, 11, 23, 16, 30, 0, 0, time.UTC)) {
			t.Errorf("a rejected reschedule moved the treatment to %s", e.TreatedAt)
		}
	})
	t.Run("Reschedule", func(t *testing.T) {
		resp := b.PostForm(fmt.Sprintf("/enrollments/%d/reschedule", eid), url.Values{"treated_at": {"2026-11-24T14:00"}})
		readBody(t, resp)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != fmt.Sprintf("%s#enrollment-%d", page, eid) {
			t.Fatalf("status %d → %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		e, _ := app.DB.FindEnrollment(ctx, app.Main.ID, eid)
		if !e.TreatedAt.Equal(time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)) {
			t.Errorf("treatment at %s after rescheduling", e.TreatedAt)
		}
		if _, body := fdGet(t, b, page); !strings.Contains(body, "Rescheduled to Tue 24 Nov 2026, 14:00 PST") {
			t.Errorf("no flash:\n%s", body)
		}
	})
	t.Run("RescheduleAsksDate", func(t *testing.T) {
		// A move to an unusual date is asked about first, as enrolling is:
		// the page again, the warning and a box to tick, nothing moved.
		path := fmt.Sprintf("/enrollments/%d/reschedule", eid)
		stored := func() time.Time {
			e, err := app.DB.FindEnrollment(ctx, app.Main.ID, eid)
			if err != nil {
				t.Fatal(err)
			}
			return e.TreatedAt
		}
		was := stored()
		asks := func(what string, form url.Values, at string) {
			t.Helper()
			resp := b.PostForm(path, form)
			body := readBody(t, resp)
			for _, want := range []string{"Check the treatment date.", "Mon 1 Mar 2027", "days from today",
				fmt.Sprintf(`id="r-%d-confirm_date" name="confirm_date" type="checkbox" value="%s"`, eid, at), "Reschedule to this date"} {
				if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
					t.Errorf("%s: status %d, no %q", what, resp.StatusCode, want)
				}
			}
			if got := stored(); !got.Equal(was) {
				t.Errorf("%s moved the treatment to %s before it was confirmed", what, got)
			}
		}
		asks("an unusual date", url.Values{"treated_at": {"2027-03-01T10:00"}}, "2027-03-01T10:00")
		// The box ticked for another time than the one sent: asked again.
		asks("a time changed after the question", url.Values{"treated_at": {"2027-03-01T11:00"}, "confirm_date": {"2027-03-01T10:00"}}, "2027-03-01T11:00")

		resp := b.PostForm(path, url.Values{"treated_at": {"2027-03-01T10:00"}, "confirm_date": {"2027-03-01T10:00"}})
		readBody(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("confirmed: status %d", resp.StatusCode)
		}
		if got := stored(); !got.Equal(time.Date(2027, 3, 1, 18, 0, 0, 0, time.UTC)) {
			t.Errorf("confirmed, the treatment is at %s", got)
		}
		if _, body := fdGet(t, b, page); !strings.Contains(body, "Rescheduled to Mon 1 Mar 2027, 10:00 PST") {
			t.Errorf("no flash:\n%s", body)
		}
	})
	t.Run("Cancel", func(t *testing.T) {
		resp := b.PostForm(fmt.Sprintf("/enrollments/%d/cancel", eid), url.Values{})
		readBody(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		e, _ := app.DB.FindEnrollment(ctx, app.Main.ID, eid)
		if e.Status != aftercare.EnrollmentCancelled {
			t.Fatalf("enrollment %s after cancelling", e.Status)
		}
		msgs, _ := app.DB.ListMessages(ctx, aftercare.MessageFilter{ClinicID: app.Main.ID, EnrollmentID: eid, Statuses: []aftercare.Status{aftercare.StatusPending}})
		if len(msgs) != 0 {
			t.Errorf("%d messages still pending", len(msgs))
		}
		_, body := fdGet(t, b, page)
		if !strings.Contains(body, "Enrollment cancelled") || strings.Contains(body, fmt.Sprintf(`action="/enrollments/%d/cancel"`, eid)) {
			t.Errorf("after cancelling:\n%s", body)
		}
		// Cancelling twice changes nothing; moving a cancelled one is refused.
		resp = b.PostForm(fmt.Sprintf("/enrollments/%d/cancel", eid), url.Values{})
		readBody(t, resp)
		if _, body := fdGet(t, b, page); resp.StatusCode != http.StatusSeeOther || !strings.Contains(body, "already cancelled") {
			t.Errorf("second cancel: %d", resp.StatusCode)
		}
		resp = b.PostForm(fmt.Sprintf("/enrollments/%d/reschedule", eid), url.Values{"treated_at": {"2026-11-25T14:00"}})
		if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "enroll the patient again") {
			t.Errorf("rescheduling a cancelled enrollment: %d", resp.StatusCode)
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		for _, path := range []string{"/patients/999999", "/patients/abc", "/patients/0"} {
			if status, _ := fdGet(t, b, path); status != http.StatusNotFound {
				t.Errorf("GET %s: %d", path, status)
			}
		}
		resp := b.PostForm("/enrollments/999999/cancel", url.Values{})
		if readBody(t, resp); resp.StatusCode != http.StatusNotFound {
			t.Errorf("cancel of a missing enrollment: %d", resp.StatusCode)
		}
	})
}

func TestPatientEdit(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	ctx := context.Background()
	pid, _ := fdEnroll(t, b, fdForm())
	path := fmt.Sprintf("/patients/%d", pid)
	before, _ := app.DB.FindPatient(ctx, app.Main.ID, pid)
	edit := func(changes ...string) url.Values {
		v := url.Values{"name": {"Ana García"}, "phone": {"+1 415-555-0142"}, "email": {"ana@example.com"},
			"tz": {"America/Los_Angeles"}, "lang": {"es"}, "sms_consent": {"yes"}, "email_consent": {"yes"}}
		return changed(v, changes...)
	}
	t.Run("Unchanged", func(t *testing.T) {
		resp := b.PostForm(path, edit())
		readBody(t, resp)
		after, _ := app.DB.FindPatient(ctx, app.Main.ID, pid)
		if resp.StatusCode != http.StatusSeeOther || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("saving the form as shown: %d, updated %s → %s", resp.StatusCode, before.UpdatedAt, after.UpdatedAt)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		resp := b.PostForm(path, edit("email", "not-an-email", "tz", "Atlantis/Capital", "name", "New Name"))
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="e-email-error"`) || !strings.Contains(body, `id="e-tz-error"`) ||
			!strings.Contains(body, `value="not-an-email"`) || !strings.Contains(body, "Nothing was saved") {
			t.Fatalf("status %d\n%s", resp.StatusCode, body)
		}
		// The list of what to fix takes the focus, and it alone, so that
		// the page opens on it (TestBrowserPatientEditRefused).
		if !strings.Contains(body, `id="e-problems" role="alert" tabindex="-1" autofocus>`) || strings.Count(body, "autofocus") != 1 {
			t.Errorf("the list of what to fix does not take the focus alone (%d autofocus)", strings.Count(body, "autofocus"))
		}
		after, _ := app.DB.FindPatient(ctx, app.Main.ID, pid)
		if after.Name != before.Name || after.Email != before.Email || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Errorf("a rejected edit changed the patient: %+v", after)
		}
	})
	t.Run("OK", func(t *testing.T) {
		resp := b.PostForm(path, edit("phone", "(415) 555-0199", "lang", "en", "email_consent", "", "sms_optout", "yes", "tz", "America/Denver"))
		readBody(t, resp)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d", resp.StatusCode)
		}
		p, _ := app.DB.FindPatient(ctx, app.Main.ID, pid)
		if p.Phone != "+14155550199" || p.Lang != "en" || p.EmailConsent.Given() || p.SMSOptOutAt.IsZero() || p.TZ != "America/Denver" || !p.SMSConsent.At.Equal(before.SMSConsent.At) {
			t.Errorf("patient after the edit: %+v", p)
		}
		_, body := fdGet(t, b, path)
		for _, w := range []string{"Saved: phone, time zone, language, email consent, SMS opt-out.", "opted out", "415-555-0199", "MST"} {
			if !strings.Contains(body, w) {
				t.Errorf("page lacks %q", w)
			}
		}
	})
}

// TestFrontDeskTenantIsolation: a user of the other clinic gets 404 for
// every id of the main clinic, on every route, and changes nothing.
func TestFrontDeskTenantIsolation(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	mine := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	pid, eid := fdEnroll(t, mine, fdForm())
	job := fdStartImport(t, mine, "day.csv", "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\nBen Okafor,+14155550101,,America/Los_Angeles,en,microneedling,2026-11-23T08:00,yes,no\n")
	fdWaitImport(t, mine, job)
	beforeP, _ := app.DB.FindPatient(ctx, app.Main.ID, pid)
	beforeE, _ := app.DB.FindEnrollment(ctx, app.Main.ID, eid)

	for _, role := range []aftercare.Role{aftercare.RoleFrontDesk, aftercare.RoleAdmin} {
		other := app.SignIn(app.Other, role)
		t.Run(string(role), func(t *testing.T) {
			for _, path := range []string{
				fmt.Sprintf("/patients/%d", pid),
				fmt.Sprintf("/enroll?patient=%d", pid),
				"/import/" + job,
				"/import/" + job + "/progress",
				"/import/" + job + "/progress?wait=1",
			} {
				if status, body := fdGet(t, other, path); status != http.StatusNotFound || strings.Contains(body, "Ana García") || strings.Contains(body, "day.csv") {
					t.Errorf("GET %s: %d, want 404", path, status)
				}
			}
			for _, tc := range []struct {
				path string
				form url.Values
			}{
				{fmt.Sprintf("/patients/%d", pid), url.Values{"name": {"Mallory"}, "phone": {"+14155550666"}, "email": {""}, "tz": {"UTC"}, "lang": {"en"}}},
				{fmt.Sprintf("/enrollments/%d/cancel", eid), url.Values{}},
				{fmt.Sprintf("/enrollments/%d/reschedule", eid), url.Values{"treated_at": {"2026-11-25T10:00"}}},
			} {
				resp := other.PostForm(tc.path, tc.form)
				if body := readBody(t, resp); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Ana García") {
					t.Errorf("POST %s: %d, want 404", tc.path, resp.StatusCode)
				}
			}
			// Lists and searches show only the other clinic's own.
			for _, path := range []string{"/", "/patients?q=Ana", "/patients?q=0142", "/import"} {
				status, body := fdGet(t, other, path)
				if path == "/import" {
					body = strings.ReplaceAll(body, "Ana García", "") // the example row
				}
				if status != 200 || strings.Contains(body, "Ana García") || strings.Contains(body, "Ben Okafor") || strings.Contains(body, job) || strings.Contains(body, "day.csv") {
					t.Errorf("GET %s as the other clinic: %d, shows the main clinic's data", path, status)
				}
			}
		})
	}
	afterP, _ := app.DB.FindPatient(ctx, app.Main.ID, pid)
	afterE, _ := app.DB.FindEnrollment(ctx, app.Main.ID, eid)
	if *afterP != *beforeP {
		t.Errorf("the patient changed:\n%+v\n%+v", beforeP, afterP)
	}
	if *afterE != *beforeE {
		t.Errorf("the enrollment changed:\n%+v\n%+v", beforeE, afterE)
	}
	// And the main clinic still sees it all.
	if status, body := fdGet(t, mine, "/import/"+job); status != 200 || !strings.Contains(body, "day.csv") {
		t.Errorf("the owner's import page: %d", status)
	}
}

// TestFrontDeskCSRF: every form of the front desk is refused without the
// session's token, and nothing changes.
func TestFrontDeskCSRF(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	pid, eid := fdEnroll(t, b, fdForm())
	before := fdEnrollments(t, app, app.Main)
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/enroll", fdForm("name", "Someone Else")},
		{"/enroll/preview", fdForm()},
		{fmt.Sprintf("/patients/%d", pid), url.Values{"name": {"Mallory"}, "phone": {"+14155550666"}, "tz": {"UTC"}, "lang": {"en"}}},
		{fmt.Sprintf("/enrollments/%d/cancel", eid), url.Values{}},
		{fmt.Sprintf("/enrollments/%d/reschedule", eid), url.Values{"treated_at": {"2026-11-25T10:00"}}},
	} {
		for name, token := range map[string]string{"missing": "", "wrong": "not-the-token"} {
			f := url.Values{}
			for k, v := range tc.form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			resp := fdPostRaw(t, b, tc.path, f)
			if readBody(t, resp); resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with the token %s: %d, want 403", tc.path, name, resp.StatusCode)
			}
		}
	}
	resp := fdUpload(t, b, "day.csv", "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\nBen Okafor,+14155550101,,America/Los_Angeles,en,microneedling,2026-11-23T08:00,yes,no\n", false)
	if readBody(t, resp); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST /import without the token: %d, want 403", resp.StatusCode)
	}
	after := fdEnrollments(t, app, app.Main)
	if len(after) != len(before) || after[0].Enrollment.Status != aftercare.EnrollmentActive || !after[0].Enrollment.TreatedAt.Equal(before[0].Enrollment.TreatedAt) {
		t.Errorf("a refused form changed something")
	}
	if p, _ := app.DB.FindPatient(ctx, app.Main.ID, pid); p.Name != "Ana García" {
		t.Errorf("patient renamed to %q", p.Name)
	}
	// Signed out: pages send to the sign-in page, forms are refused.
	anon := &Browser{t: t, app: app, Client: &http.Client{CheckRedirect: b.Client.CheckRedirect}}
	for _, path := range []string{"/", "/enroll", "/patients", fmt.Sprintf("/patients/%d", pid), "/import", "/import/template.csv"} {
		resp := anon.Get(path)
		readBody(t, resp)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("GET %s signed out: %d", path, resp.StatusCode)
		}
	}
	resp = anon.PostForm(fmt.Sprintf("/enrollments/%d/cancel", eid), url.Values{})
	if readBody(t, resp); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("cancel signed out: %d, want 401", resp.StatusCode)
	}
}
