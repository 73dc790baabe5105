package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

// TestConsentHistoryAndAudit: a front desk user's opt-out on the patient
// page is a consent event naming them and an audit entry; the patient
// page shows the history; the manager's audit log lists both, and the
// front desk may not read it.
func TestConsentHistoryAndAudit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	fd := w.SignIn(w.Main, aftercare.RoleFrontDesk)
	pt, err := w.DB.FindPatient(ctx, w.Main.ID, w.Ana.PatientID)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"name": {pt.Name}, "phone": {aftercare.DisplayPhone(pt.Phone)}, "email": {pt.Email}, "tz": {pt.TZ},
		"lang": {pt.Lang}, "sms_consent": {"yes"}, "email_consent": {"yes"}, "sms_optout": {"yes"}}
	if code, body, _ := mgrPost(fd, fmt.Sprintf("/patients/%d", pt.ID), form); code != http.StatusSeeOther {
		t.Fatalf("opting out: %d %s", code, body)
	}
	evs, _ := w.DB.ListConsentEvents(ctx, w.Main.ID, pt.ID)
	if len(evs) != 3 || evs[0].Source != "api:test frontdesk" || evs[2].Action != aftercare.ConsentWithdrawn ||
		evs[2].Source != "web:frontdesk@main.example" || evs[2].UserID == 0 {
		t.Fatalf("consent history: %v", evs)
	}
	_, body := mgrGet(fd, fmt.Sprintf("/patients/%d", pt.ID))
	body = html.UnescapeString(body)
	if n := strings.Count(body, `<tr class="consent-event">`); n != 3 ||
		!strings.Contains(body, "Consent history (3)") || !strings.Contains(body, "by frontdesk@main.example in the web app") ||
		!strings.Contains(body, "<td>Frontdesk Person</td>") || !strings.Contains(body, "through the API (test frontdesk)") {
		t.Errorf("the patient page's consent history (%d rows):\n%s", n, body)
	}

	if code, _ := mgrGet(fd, "/audit"); code != http.StatusForbidden {
		t.Errorf("the front desk reads the audit log: %d", code)
	}
	mgr := w.SignIn(w.Main, aftercare.RoleManager)
	code, body := mgrGet(mgr, "/audit")
	body = html.UnescapeString(body)
	if code != http.StatusOK || strings.Count(body, `<tr class="audit-row">`) != 3 {
		t.Fatalf("audit log: %d\n%s", code, body)
	}
	for _, want := range []string{"<td>web:frontdesk@main.example</td><td>patient.update</td>", "<td>web:frontdesk@main.example</td><td>consent</td>",
		"<td>sms withdrawn</td>", "<td>api:test frontdesk</td><td>enroll</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the audit log lacks %q", want)
		}
	}
	// The other clinic sees none of it.
	other := w.SignIn(w.Other, aftercare.RoleManager)
	if _, body := mgrGet(other, "/audit"); strings.Contains(body, `<tr class="audit-row">`) {
		t.Error("another clinic's manager sees the audit log")
	}
}

// TestAuditPage: days in the clinic's zone, both included; bad days are
// shown beside their field; pages of 50 follow each other.
func TestAuditPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ctx := context.Background()
	// 60 entries an hour apart from 2026-11-20 00:30 Los Angeles time.
	start := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	for i := range 60 {
		if err := app.DB.RecordAudit(ctx, &aftercare.AuditEntry{ClinicID: app.Main.ID, Actor: "cli", Action: "cancel",
			Subject: fmt.Sprintf("enrollment %d", i), At: start.Add(time.Duration(i) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	_, body := mgrGet(mgr, "/audit?since=2026-11-21&until=2026-11-21")
	if n := strings.Count(body, `<tr class="audit-row">`); n != 24 || !strings.Contains(body, "<td>enrollment 47</td>") || !strings.Contains(body, "<td>enrollment 24</td>") {
		t.Errorf("one day: %d rows", n)
	}
	_, body = mgrGet(mgr, "/audit")
	if n := strings.Count(body, `<tr class="audit-row">`); n != 50 {
		t.Errorf("first page: %d rows", n)
	}
	next := mgrNextRE.FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page link")
	}
	_, body = mgrGet(mgr, html.UnescapeString(next[1]))
	if n := strings.Count(body, `<tr class="audit-row">`); n != 10 || !strings.Contains(body, "<td>enrollment 0</td>") || mgrNextRE.MatchString(body) {
		t.Errorf("second page: %d rows", n)
	}
	code, body := mgrGet(mgr, "/audit?since=21/11/2026")
	if code != http.StatusBadRequest || !strings.Contains(html.UnescapeString(body), `"21/11/2026" is not a date: write it as YYYY-MM-DD`) {
		t.Errorf("a bad day: %d", code)
	}
}

// TestAPIClinicRecords: GET and PATCH /api/v1/clinic read and change the
// settings of replies and records, refusing bad values with the field; the
// change is in the audit log as the token's.
func TestAPIClinicRecords(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.snapshot(t)
	for _, x := range []struct{ body, field string }{
		{`{"retention_days": 5}`, "retention_days"},
		{`{"retention_days": "90"}`, "retention_days"},
		{`{"alert_email": "nurse at clinic"}`, "alert_email"},
		{`{"patient_links": "yes"}`, "patient_links"},
		{`{"twilio_opt_out_replies": 1}`, "twilio_opt_out_replies"},
	} {
		w.do(w.Admin, "PATCH", "/api/v1/clinic", x.body).wantInvalid(t, x.body, x.field)
	}
	w.unchanged(t, before, "refused clinic changes")
	var u web.ClinicUpdateJSON
	w.do(w.Admin, "PATCH", "/api/v1/clinic", map[string]any{"retention_days": 90, "alert_email": "Nurse@Glow.example",
		"patient_links": true, "twilio_opt_out_replies": true}).decode(t, http.StatusOK, &u)
	var c web.ClinicJSON
	w.do(w.FD, "GET", "/api/v1/clinic", nil).decode(t, http.StatusOK, &c)
	if c.RetentionDays != 90 || c.AlertEmail != "nurse@glow.example" || !c.PatientLinks || !c.TwilioOptOutReplies || u.RetentionDays != 90 {
		t.Errorf("after PATCH: %+v", c)
	}
	es, _ := w.DB.ListAudit(context.Background(), aftercare.AuditFilter{ClinicID: w.Main.ID, Limit: 1})
	if len(es) != 1 || es[0].Action != "clinic.update" || es[0].Actor != "api:test admin" || es[0].UserID != 0 {
		t.Errorf("audit: %v", es)
	}
}

// TestSettingsRecords: the Settings page's replies and records section
// shows problems beside their fields and saves.
func TestSettingsRecords(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	_, body := mgrGet(admin, "/settings")
	for _, want := range []string{`name="alert_email"`, `name="retention_days" type="number" min="0" max="3650" inputmode="numeric" value="0"`,
		`name="twilio_opt_out_replies"`, `name="patient_links"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the settings page lacks %s", want)
		}
	}
	form := mgrSettingsForm(app.Main, "retention_days", "5")
	form.Set("alert_email", "nurse at clinic")
	code, body, _ := mgrPost(admin, "/settings", form)
	body = html.UnescapeString(body)
	if code != http.StatusBadRequest || !strings.Contains(body, "keep message texts between 30 and 3650 days, or 0 to keep them, got 5") ||
		!strings.Contains(body, `is not a bare, lower-case email address`) {
		t.Errorf("bad values: %d", code)
	}
	if c, _ := app.DB.FindClinic(ctx, "main"); c.RetentionDays != 0 || c.AlertEmail != "" {
		t.Fatalf("saved bad values: %+v", c)
	}
	form = mgrSettingsForm(app.Main, "retention_days", "365")
	form.Set("alert_email", "nurse@glow.example")
	form.Set("patient_links", "yes")
	if code, body, _ := mgrPost(admin, "/settings", form); code != http.StatusSeeOther {
		t.Fatalf("saving: %d %s", code, body)
	}
	c, _ := app.DB.FindClinic(ctx, "main")
	if c.RetentionDays != 365 || c.AlertEmail != "nurse@glow.example" || !c.PatientLinks || c.TwilioOptOutReplies {
		t.Errorf("saved: %+v", c)
	}
}
