package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/web"
)

func newJarBrowser(t *testing.T, app *testApp) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, app: app, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// TestSignInRateLimited: after five wrong passwords even the right one is
// refused with 429 until the limiter refills (the injected clock moves).
func TestSignInRateLimited(t *testing.T) {
	app := newTestApp(t)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	b := newJarBrowser(t, app)
	for i := range 5 {
		resp := b.PostForm("/signin", url.Values{"email": {email}, "password": {"wrong password " + string(rune('a'+i))}})
		if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "wrong") {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := b.PostForm("/signin", url.Values{"email": {email}, "password": {pw}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many attempts") {
		t.Fatalf("sixth attempt with the right password: %d, want 429", resp.StatusCode)
	}
	app.Advance(time.Minute)
	resp = b.PostForm("/signin", url.Values{"email": {email}, "password": {pw}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after a minute: %d, want 303", resp.StatusCode)
	}
}

// TestSessionLifecycle: cookie flags, idle expiry on the injected clock,
// and sign out ending the session in the database.
func TestSessionLifecycle(t *testing.T) {
	app := newTestApp(t)
	app.Server.SecureCookies = true
	email, pw := app.User(app.Main, aftercare.RoleManager)
	b := newJarBrowser(t, app)
	resp := b.PostForm("/signin", url.Values{"email": {email}, "password": {pw}})
	resp.Body.Close()
	var c *http.Cookie
	for _, x := range resp.Cookies() {
		if x.Name == web.SessionCookie {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax", c)
	}
	// The jar will not send a Secure cookie over http; send it by hand.
	get := func() *http.Response {
		req, _ := http.NewRequest("GET", app.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: c.Value})
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get(); r.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %d", r.StatusCode)
	}
	if _, err := app.DB.FindSession(context.Background(), accounts.HashSecret(c.Value)); err != nil {
		t.Fatalf("the session is not stored by its hash: %v", err)
	}
	app.Advance(11 * time.Hour)
	if r := get(); r.StatusCode != http.StatusOK {
		t.Fatalf("after 11 idle hours: %d, want still signed in", r.StatusCode)
	}
	app.Advance(12*time.Hour + time.Minute)
	if r := get(); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
		t.Fatalf("after 12 idle hours: %d %s, want the sign-in page", r.StatusCode, r.Header.Get("Location"))
	}
	if _, err := app.DB.FindSession(context.Background(), accounts.HashSecret(c.Value)); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("an expired session is still stored: %v", err)
	}

	// Sign out deletes the session: the old cookie no longer works.
	app.Server.SecureCookies = false // plain http from here on
	b2 := app.SignInAs(email, pw)
	var secret string
	u, _ := url.Parse(app.URL)
	for _, x := range b2.Client.Jar.Cookies(u) {
		if x.Name == web.SessionCookie {
			secret = x.Value
		}
	}
	if secret == "" {
		t.Fatal("no session cookie after signing in")
	}
	resp = b2.PostForm("/signout", url.Values{})
	resp.Body.Close()
	if _, err := app.DB.FindSession(context.Background(), accounts.HashSecret(secret)); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("sign out left the session stored: %v", err)
	}
}

// TestLinkWorksOnce: a one-time link sets the password and signs in once;
// the second use is refused and changes nothing.
func TestLinkWorksOnce(t *testing.T) {
	app := newTestApp(t)
	u, path := app.Invite()
	b := newJarBrowser(t, app)
	resp := b.PostForm(path, url.Values{"password": {"short"}, "confirm": {"short"}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 10") {
		t.Fatalf("short password: %d", resp.StatusCode)
	}
	resp = b.PostForm(path, url.Values{"password": {"a long new password"}, "confirm": {"a long new password"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first use: %d", resp.StatusCode)
	}
	resp = newJarBrowser(t, app).PostForm(path, url.Values{"password": {"another password!"}, "confirm": {"another password!"}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusGone || !strings.Contains(body, "already used") {
		t.Fatalf("second use: %d", resp.StatusCode)
	}
	app.SignInAs(u.Email, "a long new password") // the first password stands
}
