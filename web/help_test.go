package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestProtocolGuidePage: docs/protocols.md is a page of the app, rendered
// from Markdown with the ids its table of contents links to, and the
// protocol editor links to it instead of naming the file.
func TestProtocolGuidePage(t *testing.T) {
	app := newTestApp(t)
	fd := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	code, body := mgrGet(fd, "/help/protocols")
	if code != http.StatusOK {
		t.Fatalf("GET /help/protocols: %d", code)
	}
	for _, want := range []string{`<h1 id="writing-a-protocol">Writing a protocol</h1>`, `<a href="#a-first-example">`, `id="a-first-example"`,
		`<pre><code class="language-yaml">`, "<table>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the guide lacks %s", want)
		}
	}
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	for _, path := range []string{"/protocols/microneedling/edit", "/protocols"} {
		_, body := mgrGet(mgr, path)
		if !strings.Contains(body, `href="/help/protocols"`) || strings.Contains(body, "See docs/protocols.md") {
			t.Errorf("%s does not link the guide", path)
		}
	}
}

// TestPreviewChecksContact: the live preview checks the phone and email
// before it counts messages that "will be sent".
func TestPreviewChecksContact(t *testing.T) {
	app := newTestApp(t)
	fd := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	for _, tc := range []struct{ name, field, value, says string }{
		{"ErrPhone", "phone", "555-01", "phone"},
		{"ErrPhoneOtherCountry", "phone", "+44 7700 9001", "phone"},
		{"ErrEmail", "email", "ana@", "email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := fd.PostForm("/enroll/preview", fdForm(tc.field, tc.value))
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "will be sent") || !strings.Contains(body, `href="#f-`+tc.field+`"`) {
				t.Errorf("%s %q: %d, want the problem and no count\n%s", tc.field, tc.value, resp.StatusCode, body)
			}
		})
	}
	if body := readBody(t, fd.PostForm("/enroll/preview", fdForm())); !strings.Contains(body, "will be sent") {
		t.Errorf("a valid form has no count:\n%s", body)
	}
}

// TestImportPageNamesNoCommand: the import page, for people in a browser,
// never tells them to run `aftercare protocols`; a manager gets a link to
// the protocols page, and a row naming an unknown protocol lists the
// clinic's.
func TestImportPageNamesNoCommand(t *testing.T) {
	app := newTestApp(t)
	for role, link := range map[aftercare.Role]bool{aftercare.RoleFrontDesk: false, aftercare.RoleManager: true} {
		_, body := mgrGet(app.SignIn(app.Main, role), "/import")
		if strings.Contains(body, "aftercare protocols") || strings.Contains(body, `the <a href="/protocols">Protocols</a> page`) != link {
			t.Errorf("%s: the import page names the command, or the protocols link is not %v", role, link)
		}
	}
	_, err := app.Service.Protocol(t.Context(), app.Main.ID, "botox", 0)
	if err == nil || strings.Contains(err.Error(), "aftercare protocols") || !strings.Contains(err.Error(), "use one of: microneedling") {
		t.Errorf("an unknown protocol: %v", err)
	}
}
