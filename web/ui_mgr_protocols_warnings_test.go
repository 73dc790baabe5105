package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// warnedPeelYAML is a valid protocol whose one text earns every warning.
const warnedPeelYAML = "slug: peel\nname: Peel aftercare\nlanguages: [en]\nsteps:\n  - key: spf\n    channels: [sms]\n    after: 0s\n    text:\n      en:\n        sms: \"Your peel is done: SPF\"\n"

// TestProtocolWarningsShown: saving a protocol with warnings stores it and
// says so, and its page lists each warning at its line; the built-in
// protocols show none.
func TestProtocolWarningsShown(t *testing.T) {
	app := newTestApp(t)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	code, _, loc := mgrPost(mgr, "/protocols", url.Values{"yaml": {warnedPeelYAML}})
	if code != http.StatusSeeOther || loc != "/protocols/peel" {
		t.Fatalf("saving a protocol with warnings: %d %s", code, loc)
	}
	code, body := mgrGet(mgr, loc)
	if code != http.StatusOK {
		t.Fatalf("protocol page: %d", code)
	}
	for _, want := range []string{
		"It has 3 warnings: see below.",
		"3 warnings: texts patients would be better off without",
		`href="#L10">line 10, column 14</a>: step &#34;spf&#34;: text.en.sms does not give the clinic&#39;s phone`,
		`href="#L10">line 10, column 14</a>: step &#34;spf&#34;: text.en.sms does not start with {{.ClinicName}}`,
		`href="#L10">line 10, column 20</a>: step &#34;spf&#34;: text.en.sms names the treatment (&#34;peel&#34;)`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if code, body := mgrGet(mgr, "/protocols/microneedling"); code != http.StatusOK || strings.Contains(body, "warnings-card") {
		t.Errorf("the built-in protocol shows warnings: %d", code)
	}
}
