package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

// FuzzSignIn posts whatever the fuzzer makes as the sign-in form, through
// the real handler over a real SQLite file. Whatever it is given, the
// server never fails (5xx), signs nobody in without the account's own
// email and password, and sends the browser nowhere but its own pages.
func FuzzSignIn(f *testing.F) {
	f.Add("frontdesk@main.example", "correct horse battery", "/patients")
	f.Add("frontdesk@main.example", "wrong", "/\t/evil.example/x")
	f.Add(strings.Repeat("a", 300)+"@x.example", "", "//evil.example")
	f.Add("FRONTDESK@MAIN.EXAMPLE ", "correct horse battery", "https://evil.example/")
	f.Add("\x00@\u202e.example", "\xff\xfe", "/\\evil.example")
	app := newTestApp(f)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	h := app.Server.Handler()
	var n atomic.Int64
	post := func(e, p, next string) *http.Response {
		form := url.Values{"email": {e}, "password": {p}, "next": {next}}
		req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// A client address of its own for each try: the address limit
		// would otherwise answer 429 to nearly all of them.
		i := n.Add(1)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:4000", i>>16&255, i>>8&255, i&255)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	signedIn := func(res *http.Response) bool {
		for _, c := range res.Cookies() {
			if c.Name == web.SessionCookie && c.Value != "" {
				return true
			}
		}
		return false
	}
	// The checks below can fail: the right password does sign in.
	if !signedIn(post(email, pw, "/patients")) {
		f.Fatal("the account's own email and password did not sign in")
	}
	f.Fuzz(func(t *testing.T, e, p, next string) {
		res := post(e, p, next)
		if res.StatusCode >= 500 {
			t.Fatalf("email %q password %q next %q: %d", e, p, next, res.StatusCode)
		}
		if signedIn(res) && (!strings.EqualFold(strings.TrimSpace(e), email) || p != pw) {
			t.Fatalf("email %q password %q signed in", e, p)
		}
		if loc := res.Header.Get("Location"); loc != "" {
			checkNext(t, next, loc)
		}
	})
}
