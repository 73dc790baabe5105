package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

// TestSettingsSummary: the daily summary's address and time are checked
// beside their fields (nothing saved), saved when right, and the page
// shows what happened to the last summaries, including why one was not
// sent.
func TestSettingsSummary(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	for _, c := range []struct{ name, to, at, field, msg string }{
		{"ErrBadEmail", "manager@glow", "07:30", "summary_to", `"manager@glow" is not an email address`},
		{"ErrHour25", "manager@glow.example", "25:00", "summary_at", `"25:00" is not a time of day`},
		{"ErrNoTime", "manager@glow.example", "", "summary_at", "give the time of day"},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := mgrSettingsForm(app.Main, "summary_to", c.to)
			form.Set("summary_at", c.at)
			code, body, _ := mgrPost(admin, "/settings", form)
			if code != http.StatusBadRequest || !mgrBeside(body, c.field, c.msg) {
				t.Fatalf("%d; no error %q beside %s", code, c.msg, c.field)
			}
			if got, _ := app.DB.FindClinic(ctx, "main"); got.SummaryEnabled() {
				t.Errorf("a rejected form stored %q", got.SummaryTo)
			}
		})
	}
	form := mgrSettingsForm(app.Main, "summary_to", "Manager@Glow.example, owner@glow.example")
	form.Set("summary_at", "07:30")
	if code, _, _ := mgrPost(admin, "/settings", form); code != http.StatusSeeOther {
		t.Fatalf("valid summary settings: %d", code)
	}
	got, _ := app.DB.FindClinic(ctx, "main")
	if got.SummaryTo != "manager@glow.example, owner@glow.example" || got.SummaryAt.String() != "07:30" {
		t.Fatalf("stored %q at %s", got.SummaryTo, got.SummaryAt)
	}
	at := time.Date(2026, 11, 23, 15, 30, 0, 0, time.UTC)
	for day, why := range map[string]string{"2026-11-22": scheduler.NoMailReason, "2026-11-21": ""} {
		if ok, err := app.DB.ClaimSummary(ctx, got.ID, day, at); err != nil || !ok {
			t.Fatal(ok, err)
		}
		sent := at
		if why != "" {
			sent = time.Time{}
		}
		if err := app.DB.FinishSummary(ctx, got.ID, day, sent, why); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := app.DB.ClaimSummary(ctx, got.ID, "2026-11-20", at.Add(-48*time.Hour)); err != nil || !ok { // its serve died sending it
		t.Fatal(ok, err)
	}
	_, body := mgrGet(admin, "/settings")
	for _, want := range []string{`value="manager@glow.example, owner@glow.example"`, `value="07:30"`,
		"Fri 20 Nov 2026</td><td>outcome unknown: the server stopped while sending it",
		"Sun 22 Nov 2026</td><td>not sent: no SMTP server is configured", "Sat 21 Nov 2026</td><td>sent Mon 23 Nov 07:30"} {
		if !strings.Contains(body, want) {
			t.Errorf("the settings page lacks %q", want)
		}
	}
	form.Set("summary_to", "")
	form.Set("summary_at", "")
	if code, _, _ := mgrPost(admin, "/settings", form); code != http.StatusSeeOther {
		t.Fatalf("turning it off: %d", code)
	}
	if got, _ := app.DB.FindClinic(ctx, "main"); got.SummaryEnabled() || got.SummaryAt.String() != "07:30" {
		t.Errorf("off: %q at %s", got.SummaryTo, got.SummaryAt)
	}
}

// TestAPIClinicSummary: PATCH /api/v1/clinic sets the daily summary,
// refusing a bad time or address with the field; GET shows it.
func TestAPIClinicSummary(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.snapshot(t)
	for _, x := range []struct{ body, field string }{
		{`{"summary_at": "25:00", "summary_to": "manager@glow.example"}`, "summary_at"},
		{`{"summary_to": "manager@"}`, "summary_to"},
		{`{"summary_at": 730}`, "summary_at"},
	} {
		w.do(w.Admin, "PATCH", "/api/v1/clinic", x.body).wantInvalid(t, x.body, x.field)
	}
	w.unchanged(t, before, "refused summary settings")
	var u web.ClinicUpdateJSON
	w.do(w.Admin, "PATCH", "/api/v1/clinic", map[string]any{"summary_at": "06:45", "summary_to": "Manager@Glow.example"}).decode(t, http.StatusOK, &u)
	var c web.ClinicJSON
	w.do(w.FD, "GET", "/api/v1/clinic", nil).decode(t, http.StatusOK, &c)
	if c.SummaryAt != "06:45" || c.SummaryTo != "manager@glow.example" || u.SummaryTo != c.SummaryTo {
		t.Errorf("after PATCH: %q %q", c.SummaryAt, c.SummaryTo)
	}
}
