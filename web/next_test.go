package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

var nextSeeds = []string{
	"/", "/patients?q=ana", "/log/12#top", "//evil.example/", "/\\evil.example", "/\t/evil.example/x",
	"/\n/evil.example", "/\r//evil.example", "https://evil.example/", "/%2F%2Fevil.example", "/\x00",
	"\t//evil.example", " /x", "/x\\y", "/\u0085/evil.example", "javascript:alert(1)", "/a/..//evil.example",
	"///evil.example", "/\u2028/evil.example", "", "/@evil.example", "/x?next=//evil.example",
}

// checkNext is the promise safeNext keeps, whatever it is given.
func checkNext(t *testing.T, in, got string) {
	t.Helper()
	if got == "" {
		return
	}
	if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
		t.Fatalf("safeNext(%q) = %q: not a path with one leading slash", in, got)
	}
	for _, r := range got {
		if r == '\\' || unicode.IsControl(r) {
			t.Fatalf("safeNext(%q) = %q: has %U", in, got, r)
		}
	}
	u, err := url.Parse(got)
	if err != nil || u.Scheme != "" || u.Host != "" {
		t.Fatalf("safeNext(%q) = %q: url.Parse gives scheme %q host %q (%v)", in, got, u.Scheme, u.Host, err)
	}
	// What a browser does: resolve it against the page; the host stays.
	base, _ := url.Parse("https://care.example/signin")
	if r := base.ResolveReference(u); r.Host != "care.example" {
		t.Fatalf("safeNext(%q) = %q resolves to host %q", in, got, r.Host)
	}
}

func TestSafeNext(t *testing.T) {
	for _, in := range nextSeeds {
		checkNext(t, in, web.SafeNext(in))
	}
	for _, in := range []string{"/\t/evil.example/x", "/\\evil.example", "//evil.example", "/%2F%2Fevil.example", "/\u0085/x"} {
		if got := web.SafeNext(in); got != "/" {
			t.Errorf("safeNext(%q) = %q, want /", in, got)
		}
	}
	for _, in := range []string{"/patients?q=ana%20ruiz", "/log/12", "/"} {
		if got := web.SafeNext(in); got != in {
			t.Errorf("safeNext(%q) = %q, want it kept", in, got)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range nextSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) { checkNext(t, in, web.SafeNext(in)) })
}

// TestSignInNextTabRefused: through the server, next=/<TAB>/evil.example
// lands on the home page, not on the other host.
func TestSignInNextTabRefused(t *testing.T) {
	app := newTestApp(t)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	b := newJarBrowser(t, app)
	resp := b.Get("/signin?next=" + url.QueryEscape("/\t/evil.example/x"))
	if body := readBody(t, resp); strings.Contains(body, "evil.example") {
		t.Fatalf("the sign-in form carries the bad next:\n%s", body)
	}
	resp = b.PostForm("/signin", url.Values{"email": {email}, "password": {pw}, "next": {"/\t/evil.example/x"}})
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("after sign-in: %d to %q, want 303 to /", resp.StatusCode, loc)
	}
}
