package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
)

// TestProtocolEdit: a YAML error is shown at its line with nothing stored;
// a valid change is a new version; the same text again stores nothing.
func TestProtocolEdit(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	before, err := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling", 0)
	if err != nil {
		t.Fatal(err)
	}
	code, body := mgrGet(mgr, "/protocols/microneedling/edit")
	if code != http.StatusOK || !strings.Contains(body, `<textarea id="yaml" name="yaml"`) || !strings.Contains(body, "slug: microneedling") {
		t.Fatalf("edit form: %d\n%s", code, body)
	}
	lines := strings.Split(before.YAML, "\n")
	bad := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "after: 0s" {
			bad = i
			lines[i] = strings.Replace(l, "0s", "soon", 1)
			break
		}
	}
	if bad < 0 {
		t.Fatal("no 'after: 0s' line in the built-in protocol")
	}
	code, body, _ = mgrPost(mgr, "/protocols/microneedling/edit", url.Values{"yaml": {strings.Join(lines, "\r\n")}})
	if code != http.StatusBadRequest {
		t.Fatalf("bad YAML: %d, want 400", code)
	}
	n := bad + 1
	if !strings.Contains(body, fmt.Sprintf(`href="#L%d">line %d, column`, n, n)) || !strings.Contains(body, `&#34;soon&#34; is not an offset`) {
		t.Errorf("the problem is not listed at line %d\n%s", n, body)
	}
	if !regexp.MustCompile(fmt.Sprintf(`<tr id="L%d" class="bad"><td class="ln">%d</td><td class="src">\s*after: soon`, n, n)).MatchString(body) {
		t.Errorf("line %d is not marked in the listing", n)
	}
	if !strings.Contains(body, "after: soon") || !strings.Contains(body, "<textarea") {
		t.Error("the text is not shown again for fixing")
	}
	if p, _ := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling", 0); p.Version != before.Version {
		t.Fatalf("a rejected edit stored version %d", p.Version)
	}
	// Renaming the slug would write another protocol's history: refused.
	renamed := strings.Replace(before.YAML, "slug: microneedling\n", "slug: microneedling-2\n", 1)
	if code, body, _ := mgrPost(mgr, "/protocols/microneedling/edit", url.Values{"yaml": {renamed}}); code != http.StatusBadRequest || !strings.Contains(body, "this page edits") {
		t.Errorf("slug change: %d", code)
	}
	if _, err := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling-2", 0); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("a slug change stored a protocol: %v", err)
	}
	// A valid change is the next version.
	changed := strings.Replace(before.YAML, "name: Microneedling aftercare", "name: Microneedling aftercare (Glow)", 1)
	code, _, loc := mgrPost(mgr, "/protocols/microneedling/edit", url.Values{"yaml": {strings.ReplaceAll(changed, "\n", "\r\n")}})
	if code != http.StatusSeeOther || loc != "/protocols/microneedling" {
		t.Fatalf("valid edit: %d %s", code, loc)
	}
	after, _ := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling", 0)
	if after.Version != before.Version+1 || after.Name != "Microneedling aftercare (Glow)" || after.Source != aftercare.SourceClinic || strings.Contains(after.YAML, "\r") {
		t.Fatalf("after a valid edit: v%d %q %s", after.Version, after.Name, after.Source)
	}
	code, body = mgrGet(mgr, loc)
	if code != http.StatusOK || !strings.Contains(body, fmt.Sprintf("Saved Microneedling aftercare (Glow) as version %d", after.Version)) {
		t.Errorf("no flash after saving: %d", code)
	}
	// The same text again (as a browser sends it, CRLF) stores nothing.
	code, _, _ = mgrPost(mgr, "/protocols/microneedling/edit", url.Values{"yaml": {strings.ReplaceAll(changed, "\n", "\r\n")}})
	if p, _ := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling", 0); code != http.StatusSeeOther || p.Version != after.Version {
		t.Errorf("an unchanged save: %d, version %d", code, p.Version)
	}
	// The older version is still there to read.
	if code, body := mgrGet(mgr, fmt.Sprintf("/protocols/microneedling?version=%d", before.Version)); code != http.StatusOK || !strings.Contains(body, "an older version") {
		t.Errorf("older version: %d", code)
	}
	if code, _ := mgrGet(mgr, "/protocols/microneedling?version=99"); code != http.StatusNotFound {
		t.Errorf("missing version: %d, want 404", code)
	}
}

// TestProtocolNew: a new protocol is stored as version 1; a slug in use is
// refused at its line.
func TestProtocolNew(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	if code, body := mgrGet(mgr, "/protocols/new"); code != http.StatusOK || !strings.Contains(body, "slug: chemical-peel") {
		t.Fatalf("new form: %d", code)
	}
	code, _, loc := mgrPost(mgr, "/protocols", url.Values{"yaml": {mgrPeelYAML}})
	if code != http.StatusSeeOther || loc != "/protocols/peel" {
		t.Fatalf("new protocol: %d %s", code, loc)
	}
	if p, err := app.DB.FindProtocol(ctx, app.Main.ID, "peel", 0); err != nil || p.Version != 1 {
		t.Fatalf("stored: %v %v", p, err)
	}
	code, body, _ := mgrPost(mgr, "/protocols", url.Values{"yaml": {strings.Replace(mgrPeelYAML, "Chemical peel aftercare", "Another", 1)}})
	if code != http.StatusBadRequest || !strings.Contains(body, `href="#L1">line 1, column 1</a>: the clinic already has a protocol &#34;peel&#34;`) {
		t.Errorf("taken slug: %d\n%s", code, body)
	}
	if p, _ := app.DB.FindProtocol(ctx, app.Main.ID, "peel", 0); p.Version != 1 || p.Name != "Chemical peel aftercare" {
		t.Errorf("a refused new protocol changed the stored one: v%d %q", p.Version, p.Name)
	}
	if code, body, _ := mgrPost(mgr, "/protocols", url.Values{"yaml": {"  "}}); code != http.StatusBadRequest || !strings.Contains(body, "the protocol is empty") {
		t.Errorf("empty: %d", code)
	}
	if code, body := mgrGet(mgr, "/protocols"); code != http.StatusOK || !strings.Contains(body, `href="/protocols/peel"`) || !strings.Contains(body, `href="/protocols/microneedling"`) {
		t.Errorf("list: %d", code)
	}
}

// TestProtocolPreview shows the timeline of a sample treatment; a bad zone
// is shown beside its field.
func TestProtocolPreview(t *testing.T) {
	app := newTestApp(t)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	code, body := mgrGet(mgr, "/protocols/microneedling")
	if code != http.StatusOK || !strings.Contains(body, `<ol class="timeline">`) || !strings.Contains(body, "welcome") || !strings.Contains(body, "Glow Skin Studio") {
		t.Fatalf("default preview: %d\n%s", code, body)
	}
	code, body = mgrGet(mgr, "/protocols/microneedling?treated_at=2026-12-01T10:00&tz=Europe/Madrid&lang=es&channel=sms")
	if code != http.StatusOK || !strings.Contains(body, "1 Dec 10:00") {
		t.Errorf("preview in Madrid: %d", code)
	}
	if strings.Contains(body, "· email") {
		t.Error("the SMS-only preview lists emails")
	}
	code, body = mgrGet(mgr, "/protocols/microneedling?treated_at=2026-12-01T10:00&tz=Mars/Olympus")
	if code != http.StatusBadRequest || !mgrBeside(body, "tz", "unknown time zone") {
		t.Errorf("bad zone: %d\n%s", code, body)
	}
}

// mgrSettingsForm is the settings form as the page fills it, with one field
// changed.
func mgrSettingsForm(c *aftercare.Clinic, field, value string) url.Values {
	f := url.Values{"name": {c.Name}, "phone": {c.Phone}, "country": {c.Country}, "tz": {c.TZ},
		"window_start": {c.Window.Start.String()}, "window_end": {c.Window.End.String()},
		"daily_cap": {strconv.Itoa(c.DailyCap)}}
	if c.EmailFallback {
		f.Set("email_fallback", "yes")
	}
	f.Set(field, value)
	return f
}

// TestSettings: every problem is shown beside its field and nothing is
// stored; a valid form saves every setting.
func TestSettings(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	code, body := mgrGet(admin, "/settings")
	if code != http.StatusOK || !strings.Contains(body, `value="Glow Skin Studio"`) || !strings.Contains(body, `value="America/Los_Angeles"`) {
		t.Fatalf("form: %d", code)
	}
	for _, c := range []struct{ name, field, value, errField, msg string }{
		{"ErrZone", "tz", "Mars/Olympus", "tz", "unknown time zone"},
		{"ErrZoneLocal", "tz", "Local", "tz", "depends on the server"},
		{"ErrName", "name", "  ", "name", "needs a name"},
		{"ErrPhone", "phone", "12", "phone", "not a"},
		{"ErrCountry", "country", "USA", "country", "two-letter"},
		{"ErrWindowStart", "window_start", "8am", "window_start", "not a time of day"},
		{"ErrWindowShort", "window_end", "08:30", "window_end", "at least an hour"},
		{"ErrCap", "daily_cap", "0", "daily_cap", "between 1 and 50"},
		{"ErrCapWord", "daily_cap", "three", "daily_cap", "not a whole number"},
		{"ErrTooLong", "tz", strings.Repeat("x", 300), "tz", "longer than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			form := mgrSettingsForm(app.Main, c.field, c.value)
			form.Set("name", "Renamed While Wrong")
			if c.field == "name" {
				form.Set("name", c.value)
			}
			code, body, _ := mgrPost(admin, "/settings", form)
			if code != http.StatusBadRequest {
				t.Fatalf("%d, want 400", code)
			}
			// The error is beside the field: after its input, before the next one.
			if !mgrBeside(body, c.errField, c.msg) {
				t.Errorf("no error %q beside %s\n%s", c.msg, c.errField, body)
			}
			if !strings.Contains(body, "Nothing was saved") {
				t.Error("the page does not say nothing was saved")
			}
			got, _ := app.DB.FindClinic(ctx, "main")
			if got.Name != app.Main.Name || got.TZ != app.Main.TZ || got.Window != app.Main.Window || got.DailyCap != app.Main.DailyCap || got.SMSFrom != "" {
				t.Errorf("a rejected form stored %+v", got)
			}
		})
	}
	form := url.Values{"name": {"Glow Skin Studio Downtown"}, "phone": {"(415) 555-0142"}, "country": {"us"}, "tz": {"America/New_York"},
		"window_start": {"09:00"}, "window_end": {"20:00"}, "daily_cap": {"2"}, "sms_from": {"(415) 555-0150"}, "email_from": {"Care@Glow.Example"}}
	// The narrower window and lower cap move messages: saved once confirmed.
	code, body, _ = mgrPost(admin, "/settings", form)
	if code != http.StatusOK || !strings.Contains(body, "Save anyway") {
		t.Fatalf("a window and cap that move messages: %d, no warnings", code)
	}
	form.Set("confirm", settingsConfirmOf(t, body))
	code, _, loc := mgrPost(admin, "/settings", form)
	if code != http.StatusSeeOther || loc != "/settings" {
		t.Fatalf("valid settings: %d %s", code, loc)
	}
	got, _ := app.DB.FindClinic(ctx, "main")
	if got.Name != "Glow Skin Studio Downtown" || got.Phone != "+14155550142" || got.TZ != "America/New_York" ||
		got.Window.String() != "09:00-20:00" || got.DailyCap != 2 || got.EmailFallback {
		t.Errorf("stored %+v", got)
	}
	// The senders in the form are not taken: the operator assigns them.
	if got.SMSFrom != "" || got.EmailFrom != "" {
		t.Errorf("the settings form set the senders %q %q; only the operator may", got.SMSFrom, got.EmailFrom)
	}
	if _, body := mgrGet(admin, "/settings"); !strings.Contains(body, "Settings saved.") || !strings.Contains(body, "times in America/New_York") {
		t.Error("no flash, or the page still shows the old settings")
	}
	// Senders the operator set are shown, read-only, and kept by a save
	// that tries to empty them.
	got.SMSFrom, got.EmailFrom = "+14155550150", "care@glow.example"
	if err := app.DB.UpdateClinic(ctx, got); err != nil {
		t.Fatal(err)
	}
	_, body = mgrGet(admin, "/settings")
	if !strings.Contains(body, "care@glow.example") || !strings.Contains(body, "415-555-0150") || strings.Contains(body, `name="sms_from"`) {
		t.Errorf("the page does not show the operator's senders read-only:\n%s", body)
	}
	form.Set("sms_from", "")
	form.Set("email_from", "")
	if code, _, _ := mgrPost(admin, "/settings", form); code != http.StatusSeeOther {
		t.Fatalf("saving with the senders emptied: %d", code)
	}
	if got, _ := app.DB.FindClinic(ctx, "main"); got.SMSFrom != "+14155550150" || got.EmailFrom != "care@glow.example" {
		t.Errorf("a settings form changed the operator's senders: %q %q", got.SMSFrom, got.EmailFrom)
	}
}

// TestUsers: the admin adds a user and sees their sign-in link once;
// changes roles, disables and enables; the last admin cannot lock the
// clinic out.
func TestUsers(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	if code, body := mgrGet(mgr, "/users"); code != http.StatusOK || strings.Contains(body, `action="/users"`) || !strings.Contains(body, "admin@main.example") {
		t.Errorf("manager's list: %d (it must list users without the forms)", code)
	}
	code, body, _ := mgrPost(admin, "/users", url.Values{"email": {"Dana@Main.Example"}, "name": {"Dana  Reyes"}, "role": {"manager"}})
	if code != http.StatusOK {
		t.Fatalf("add: %d\n%s", code, body)
	}
	m := regexp.MustCompile(`<p class="secret" id="signin-link">(http://[^<]+/link/[A-Za-z0-9_-]+)</p>`).FindStringSubmatch(body)
	if m == nil || !strings.HasPrefix(m[1], app.URL) {
		t.Fatalf("no sign-in link shown\n%s", body)
	}
	dana, err := app.DB.FindUserByEmail(ctx, "dana@main.example")
	if err != nil || dana.Name != "Dana Reyes" || dana.Role != aftercare.RoleManager || dana.ClinicID != app.Main.ID {
		t.Fatalf("stored %+v %v", dana, err)
	}
	if _, body := mgrGet(admin, "/users"); strings.Contains(body, m[1]) {
		t.Error("the link is shown again")
	}
	// The link works: Dana chooses a password and is signed in.
	resp, err := http.PostForm(m[1], url.Values{"password": {"a long enough password"}, "confirm": {"a long enough password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	danaB := app.SignInAs("dana@main.example", "a long enough password")

	for _, c := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"ErrEmail", url.Values{"email": {"not-an-email"}, "name": {"X"}, "role": {"frontdesk"}}, "email"},
		{"ErrEmailTaken", url.Values{"email": {"dana@main.example"}, "name": {"X"}, "role": {"frontdesk"}}, "email"},
		{"ErrEmailTakenOtherClinic", url.Values{"email": {"admin@other.example"}, "name": {"X"}, "role": {"frontdesk"}}, "email"},
		{"ErrName", url.Values{"email": {"x@main.example"}, "name": {" "}, "role": {"frontdesk"}}, "name"},
		{"ErrRole", url.Values{"email": {"x@main.example"}, "name": {"X"}, "role": {"owner"}}, "role"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "ErrEmailTakenOtherClinic" {
				app.User(app.Other, aftercare.RoleAdmin)
			}
			before, _ := app.DB.ListUsers(ctx, app.Main.ID)
			code, body, _ := mgrPost(admin, "/users", c.form)
			if code != http.StatusBadRequest && code != http.StatusConflict {
				t.Errorf("%d, want 400 or 409", code)
			}
			if !mgrBeside(body, c.field, "") {
				t.Errorf("no error beside %s\n%s", c.field, body)
			}
			if after, _ := app.DB.ListUsers(ctx, app.Main.ID); len(after) != len(before) {
				t.Error("a rejected form stored a user")
			}
		})
	}

	// The only admin can neither demote nor disable themself.
	me, _ := app.DB.FindUserByEmail(ctx, "admin@main.example")
	for _, form := range []url.Values{{"action": {"role"}, "role": {"manager"}}, {"action": {"disable"}}} {
		code, body, _ := mgrPost(admin, fmt.Sprintf("/users/%d", me.ID), form)
		if code != http.StatusConflict || !strings.Contains(body, "only admin") {
			t.Errorf("last admin %s: %d\n%s", form.Get("action"), code, body)
		}
	}
	if u, _ := app.DB.FindUser(ctx, app.Main.ID, me.ID); u.Role != aftercare.RoleAdmin || !u.Active() {
		t.Fatalf("the last admin was changed: %+v", u)
	}
	// With Dana as a second admin, the first may step down.
	if code, _, _ := mgrPost(admin, fmt.Sprintf("/users/%d", dana.ID), url.Values{"action": {"role"}, "role": {"admin"}}); code != http.StatusSeeOther {
		t.Fatalf("promote: %d", code)
	}
	if code, _ := mgrGet(danaB, "/settings"); code != http.StatusOK && code != http.StatusSeeOther {
		t.Errorf("Dana after promotion: %d", code)
	}
	if code, _, _ := mgrPost(admin, fmt.Sprintf("/users/%d", me.ID), url.Values{"action": {"role"}, "role": {"manager"}}); code != http.StatusSeeOther {
		t.Fatalf("step down: %d", code)
	}
	if code, _ := mgrGet(admin, "/settings"); code != http.StatusForbidden {
		t.Errorf("after stepping down, settings: %d, want 403", code)
	}
	// Disable, then enable: a disabled user is signed out at once.
	danaAdmin := app.SignInAs("dana@main.example", "a long enough password")
	if code, _, _ := mgrPost(danaAdmin, fmt.Sprintf("/users/%d", me.ID), url.Values{"action": {"disable"}}); code != http.StatusSeeOther {
		t.Fatalf("disable: %d", code)
	}
	if code, _ := mgrGet(admin, "/log"); code != http.StatusSeeOther {
		t.Errorf("a disabled user's session still works: %d", code)
	}
	if code, body, _ := mgrPost(danaAdmin, fmt.Sprintf("/users/%d", me.ID), url.Values{"action": {"link"}}); code != http.StatusConflict {
		t.Errorf("link for a disabled user: %d\n%s", code, body)
	}
	if code, _, _ := mgrPost(danaAdmin, fmt.Sprintf("/users/%d", me.ID), url.Values{"action": {"enable"}}); code != http.StatusSeeOther {
		t.Fatalf("enable: %d", code)
	}
	if u, _ := app.DB.FindUser(ctx, app.Main.ID, me.ID); !u.Active() {
		t.Error("enable did not enable")
	}
	code, body, _ = mgrPost(danaAdmin, fmt.Sprintf("/users/%d", me.ID), url.Values{"action": {"link"}})
	if code != http.StatusOK || !strings.Contains(body, `id="signin-link"`) {
		t.Errorf("new link: %d", code)
	}
	if code, _, _ := mgrPost(danaAdmin, "/users/999999", url.Values{"action": {"disable"}}); code != http.StatusNotFound {
		t.Errorf("unknown user: %d, want 404", code)
	}
}

// TestTokens: the admin creates a token and sees its secret once, and
// revokes it.
func TestTokens(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	code, body, loc := mgrPost(admin, "/tokens", url.Values{"name": {"EHR integration"}, "role": {"frontdesk"}})
	if code != http.StatusSeeOther || loc != "/tokens" {
		t.Fatalf("create: %d to %q, want 303 to /tokens (post, redirect, get)\n%s", code, loc, body)
	}
	_, body = mgrGet(admin, "/tokens")
	m := regexp.MustCompile(`<p class="secret" id="token-secret">(act_[A-Za-z0-9_-]+)</p>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret shown\n%s", body)
	}
	tok, err := app.DB.FindToken(ctx, accounts.HashSecret(m[1]))
	if err != nil || tok.ClinicID != app.Main.ID || tok.Name != "EHR integration" || tok.Role != aftercare.RoleFrontDesk || tok.CreatedBy != "admin@main.example" {
		t.Fatalf("stored %+v %v", tok, err)
	}
	_, body = mgrGet(admin, "/tokens")
	if strings.Contains(body, m[1]) || !strings.Contains(body, tok.Prefix+"…") {
		t.Error("the list shows the secret again on a refresh, or not the prefix")
	}
	if toks, _ := app.DB.ListTokens(ctx, app.Main.ID); len(toks) != 1 {
		t.Errorf("the clinic has %d tokens after one create and two page loads, want 1", len(toks))
	}
	for _, c := range []struct {
		name  string
		form  url.Values
		field string
	}{
		{"ErrName", url.Values{"name": {"  "}, "role": {"frontdesk"}}, "name"},
		{"ErrRole", url.Values{"name": {"x"}, "role": {"root"}}, "role"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := mgrPost(admin, "/tokens", c.form)
			if code != http.StatusBadRequest || !mgrBeside(body, c.field, "") {
				t.Errorf("%d, no error beside %s\n%s", code, c.field, body)
			}
			if toks, _ := app.DB.ListTokens(ctx, app.Main.ID); len(toks) != 1 {
				t.Errorf("a rejected form stored a token (%d)", len(toks))
			}
		})
	}
	code, _, loc = mgrPost(admin, fmt.Sprintf("/tokens/%d/revoke", tok.ID), url.Values{})
	if code != http.StatusSeeOther || loc != "/tokens" {
		t.Fatalf("revoke: %d %s", code, loc)
	}
	if got, _ := app.DB.FindToken(ctx, tok.Hash); got.RevokedAt.IsZero() {
		t.Error("not revoked")
	}
	if _, body := mgrGet(admin, "/tokens"); !strings.Contains(body, "revoked") {
		t.Error("the list does not show the token revoked")
	}
	if code, _, _ := mgrPost(admin, "/tokens/999999/revoke", url.Values{}); code != http.StatusNotFound {
		t.Errorf("unknown token: %d, want 404", code)
	}
}

// TestManagerFormsNeedCSRF: the manager's and admin's forms are refused
// without the session's token, and change nothing.
func TestManagerFormsNeedCSRF(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	for _, path := range []string{"/settings", "/tokens", "/users", "/protocols"} {
		if code, _, _ := mgrPost(admin, path, url.Values{"csrf": {"forged"}, "name": {"X"}, "role": {"admin"}, "email": {"x@main.example"}}); code != http.StatusForbidden {
			t.Errorf("POST %s with a forged token: %d, want 403", path, code)
		}
	}
	if toks, _ := app.DB.ListTokens(ctx, app.Main.ID); len(toks) != 0 {
		t.Error("a forged form made a token")
	}
}
