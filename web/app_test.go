package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/web"
)

// testApp is a real Aftercare web server on loopback over a real SQLite
// file, with two clinics ("main", the default, and "other") so that every
// test can check tenant isolation. The clock is injected and only moves
// when a test moves it.
type testApp struct {
	t       testing.TB
	DB      *sqlite.DB
	Service *scheduler.Service
	// Accounts hashes at bcrypt's lowest cost: tests sign in a lot.
	Accounts *accounts.Service
	Server   *web.Server
	HTTP     *httptest.Server
	URL      string
	Main     *aftercare.Clinic
	Other    *aftercare.Clinic

	mu  sync.Mutex
	now time.Time
}

// Now is the injected clock.
func (a *testApp) Now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.now
}

// Advance moves the clock.
func (a *testApp) Advance(d time.Duration) {
	a.mu.Lock()
	a.now = a.now.Add(d)
	a.mu.Unlock()
}

func newTestApp(t testing.TB) *testApp {
	t.Helper()
	ctx := context.Background()
	a := &testApp{t: t, now: time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "app.db"), sqlite.WithNow(a.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a.DB = db
	a.Service = scheduler.NewService(db, a.Now)
	if err := a.Service.Bootstrap(ctx, scheduler.ClinicDefaults{Slug: "main", Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	if a.Main, err = db.FindClinic(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if a.Other, err = a.Service.AddClinic(ctx, scheduler.ClinicDefaults{Slug: "other", Name: "Other Clinic", Phone: "+14155550177", TZ: "America/New_York"}, false); err != nil {
		t.Fatal(err)
	}
	a.HTTP = httptest.NewServer(nil)
	t.Cleanup(a.HTTP.Close)
	a.URL = a.HTTP.URL
	a.Accounts = &accounts.Service{Store: db, PasswordCost: bcrypt.MinCost, Now: a.Now}
	a.Server = &web.Server{Store: db, Service: a.Service, Accounts: a.Accounts, PublicURL: a.URL, Now: a.Now}
	a.HTTP.Config.Handler = a.Server.Handler()
	return a
}

// User creates a user of clinic c with a password and returns its email and
// password.
func (a *testApp) User(c *aftercare.Clinic, role aftercare.Role) (email, password string) {
	a.t.Helper()
	password = "correct horse battery"
	hash, err := a.Accounts.HashPassword(password)
	if err != nil {
		a.t.Fatal(err)
	}
	email = string(role) + "@" + c.Slug + ".example"
	u := &aftercare.User{ClinicID: c.ID, Email: email, Name: strings.ToUpper(string(role[:1])) + string(role[1:]) + " Person", Role: role, PasswordHash: hash}
	if err := a.DB.CreateUser(context.Background(), u); err != nil {
		a.t.Fatal(err)
	}
	return email, password
}

// Invite creates New Person, a front desk user of the main clinic with no
// password yet, and a one-time link to set one; it returns the user and
// the link's path.
func (a *testApp) Invite() (*aftercare.User, string) {
	a.t.Helper()
	ctx := context.Background()
	u := &aftercare.User{ClinicID: a.Main.ID, Email: "new@main.example", Name: "New Person", Role: aftercare.RoleFrontDesk}
	if err := a.DB.CreateUser(ctx, u); err != nil {
		a.t.Fatal(err)
	}
	path, _, err := a.Accounts.CreateLink(ctx, u)
	if err != nil {
		a.t.Fatal(err)
	}
	return u, path
}

// Token creates an API token of clinic c and returns the secret.
func (a *testApp) Token(c *aftercare.Clinic, role aftercare.Role) string {
	a.t.Helper()
	secret, _, err := a.Accounts.CreateToken(context.Background(), c.ID, "test "+string(role), role, "test")
	if err != nil {
		a.t.Fatal(err)
	}
	return secret
}

// Browser is an HTTP client with a cookie jar, signed in as a user. It
// sends Origin like a browser does, and does not follow redirects so tests
// can see them.
type Browser struct {
	t      testing.TB
	app    *testApp
	Client *http.Client
	CSRF   string
}

// SignIn signs a new browser in as a new user of clinic c with role.
func (a *testApp) SignIn(c *aftercare.Clinic, role aftercare.Role) *Browser {
	a.t.Helper()
	email, pw := a.User(c, role)
	return a.SignInAs(email, pw)
}

// SignInAs signs a new browser in with an email and password.
func (a *testApp) SignInAs(email, pw string) *Browser {
	a.t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &Browser{t: a.t, app: a, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp := b.PostForm("/signin", url.Values{"email": {email}, "password": {pw}})
	if resp.StatusCode != http.StatusSeeOther {
		body, _ := io.ReadAll(resp.Body)
		a.t.Fatalf("sign in as %s: %d %s", email, resp.StatusCode, body)
	}
	resp.Body.Close()
	b.CSRF = b.csrfFromPage("/")
	return b
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"|name="csrf-token" content="([^"]+)"`)

// csrfFromPage reads the CSRF token a page carries (a hidden form field or
// the csrf-token meta tag).
func (b *Browser) csrfFromPage(path string) string {
	resp := b.Get(path)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		return ""
	}
	if len(m[1]) > 0 {
		return string(m[1])
	}
	return string(m[2])
}

// Get fetches a path.
func (b *Browser) Get(path string) *http.Response {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.app.URL+path, nil)
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp
}

// PostForm submits a form the way a browser does: same Origin, and the
// session's CSRF token unless form already has one.
func (b *Browser) PostForm(path string, form url.Values) *http.Response {
	b.t.Helper()
	if form.Get("csrf") == "" && b.CSRF != "" {
		form.Set("csrf", b.CSRF)
	}
	req, _ := http.NewRequest("POST", b.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp
}

// API sends a JSON API request with a Bearer token; body may be nil.
func (a *testApp) API(token, method, path string, body io.Reader, header ...string) *http.Response {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return send(a.t, http.DefaultClient, req, header...)
}

// send sets header's pairs (name, value) on req and sends it with client,
// failing t if it cannot be sent.
func send(t testing.TB, client *http.Client, req *http.Request, header ...string) *http.Response {
	t.Helper()
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// readBody reads and closes a response body.
func readBody(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
