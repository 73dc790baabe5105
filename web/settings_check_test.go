package web_test

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

var confirmRE = regexp.MustCompile(`<input type="hidden" name="confirm" value="([^"]*)">`)

// settingsConfirmOf returns the confirm field of a settings page that
// shows warnings.
func settingsConfirmOf(t *testing.T, body string) string {
	t.Helper()
	m := confirmRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no confirm field on the page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// TestSettingsWarnBeforeSaving: a send window that moves messages is shown
// with them and saved only by "Save anyway", for the settings that were
// checked.
func TestSettingsWarnBeforeSaving(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	stored := func() *aftercare.Clinic {
		c, err := app.DB.FindClinic(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	form := mgrSettingsForm(app.Main, "window_start", "10:00")
	form.Set("window_end", "11:00")
	form.Set("name", "Glow Narrow")
	code, body, _ := mgrPost(admin, "/settings", form)
	if code != http.StatusOK {
		t.Fatalf("first POST: %d", code)
	}
	for _, want := range []string{"Nothing saved yet", "welcome", "first-hours", "Save anyway", "10:00-11:00", "America/Los_Angeles"} {
		if !strings.Contains(body, want) {
			t.Errorf("the warnings do not show %q", want)
		}
	}
	if !strings.Contains(body, `value="Glow Narrow"`) {
		t.Error("the form does not keep what was typed")
	}
	if c := stored(); c.Name != app.Main.Name || c.Window != app.Main.Window {
		t.Fatalf("saved before confirming: %q %s", c.Name, c.Window)
	}
	confirm := settingsConfirmOf(t, body)

	// Confirming, but for a window changed since: checked again.
	other := mgrSettingsForm(app.Main, "window_start", "10:00")
	other.Set("window_end", "12:00")
	other.Set("confirm", confirm)
	if code, body, _ := mgrPost(admin, "/settings", other); code != http.StatusOK || !strings.Contains(body, "10:00-12:00") {
		t.Fatalf("a stale confirmation: %d", code)
	}
	if c := stored(); c.Window != app.Main.Window {
		t.Fatalf("a stale confirmation saved %s", c.Window)
	}

	form.Set("confirm", confirm)
	code, _, loc := mgrPost(admin, "/settings", form)
	if code != http.StatusSeeOther || loc != "/settings" {
		t.Fatalf("Save anyway: %d %s", code, loc)
	}
	if c := stored(); c.Name != "Glow Narrow" || c.Window.String() != "10:00-11:00" {
		t.Fatalf("not saved when confirmed: %q %s", c.Name, c.Window)
	}
	if _, body := mgrGet(admin, "/settings"); !strings.Contains(body, "move or drop") || strings.Contains(body, "Save anyway") {
		t.Error("after saving anyway: no flash, or still asking")
	}

	// A rename with the (narrow) window unchanged is not checked.
	c := stored()
	if code, _, _ := mgrPost(admin, "/settings", mgrSettingsForm(c, "name", "Glow Again")); code != http.StatusSeeOther {
		t.Fatalf("rename: %d", code)
	}
}

// TestSettingsShowTreatment: the checkbox, off for a new clinic, is saved
// and shown.
func TestSettingsShowTreatment(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	box := regexp.MustCompile(`<input type="checkbox" name="show_treatment" value="yes" *(checked)?>`)
	_, body := mgrGet(admin, "/settings")
	m := box.FindStringSubmatch(body)
	if m == nil || m[1] != "" || !strings.Contains(body, "Name the treatment in texts and email subjects. Off: messages say 'your treatment', as lock screens show them to anyone nearby.") {
		t.Fatalf("a new clinic's checkbox: %v", m)
	}
	form := mgrSettingsForm(app.Main, "show_treatment", "yes")
	if code, _, _ := mgrPost(admin, "/settings", form); code != http.StatusSeeOther {
		t.Fatalf("checking it: %d", code)
	}
	if c, _ := app.DB.FindClinic(ctx, "main"); !c.ShowTreatment {
		t.Fatal("not stored")
	}
	_, body = mgrGet(admin, "/settings")
	if m := box.FindStringSubmatch(body); m == nil || m[1] != "checked" {
		t.Fatalf("after saving: %v", m)
	}
	form.Del("show_treatment") // an unchecked box is not sent
	if code, _, _ := mgrPost(admin, "/settings", form); code != http.StatusSeeOther {
		t.Fatalf("unchecking it: %d", code)
	}
	if c, _ := app.DB.FindClinic(ctx, "main"); c.ShowTreatment {
		t.Fatal("still stored on")
	}
}

// TestAPIClinicWarnings: PATCH saves a window that moves messages and
// lists them; show_treatment is read and changed.
func TestAPIClinicWarnings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var u web.ClinicUpdateJSON
	w.do(w.Admin, "PATCH", "/api/v1/clinic", map[string]any{"window": "10:00-11:00"}).decode(t, http.StatusOK, &u)
	if u.Window != "10:00-11:00" {
		t.Errorf("window %s", u.Window)
	}
	found := false
	for _, x := range u.Warnings {
		if x.Protocol == "microneedling" && x.Step == "welcome" && x.Channel == "sms" && strings.HasPrefix(x.TreatedAt, "2026-") &&
			strings.Contains(x.TreatedAt, "T18:00:00") {
			found = x.New && (x.Outcome == "moved" || x.Outcome == "dropped") && x.Text != ""
		}
	}
	if !found {
		t.Errorf("no new warning for the 18:00 treatment's welcome: %+v", u.Warnings)
	}
	if c, _ := w.DB.FindClinic(context.Background(), "main"); c.Window.String() != "10:00-11:00" {
		t.Errorf("not saved: %s", c.Window)
	}

	w.do(w.Admin, "PATCH", "/api/v1/clinic", map[string]any{"name": "Glow Spa", "show_treatment": true}).decode(t, http.StatusOK, &u)
	if u.Warnings == nil || len(u.Warnings) != 0 || !u.ShowTreatment {
		t.Errorf("a rename: warnings %v, show_treatment %v", u.Warnings, u.ShowTreatment)
	}
	var c web.ClinicJSON
	w.do(w.FD, "GET", "/api/v1/clinic", nil).decode(t, http.StatusOK, &c)
	if !c.ShowTreatment || c.Name != "Glow Spa" {
		t.Errorf("GET after PATCH: %+v", c)
	}
	if res := w.do(w.Admin, "PATCH", "/api/v1/clinic", `{"show_treatment": "yes"}`); res.Status != 400 || res.apiErr(t).Field != "show_treatment" {
		t.Errorf("show_treatment as a string: %d %s", res.Status, res.Body)
	}
}
