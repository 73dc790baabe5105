package web_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// browserFrom is a browser whose connections leave from the loopback
// address ip (127.0.0.2 is a different client from 127.0.0.1 to the
// server: Linux answers on all of 127/8).
func browserFrom(t *testing.T, app *testApp, ip string) *Browser {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, app: app, Client: &http.Client{Jar: jar, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// TestSignInNoLockoutByOthers: wrong passwords from one address make that
// address wait, but the right password from another address still works;
// and one address trying many accounts is stopped by the address's limit.
func TestSignInNoLockoutByOthers(t *testing.T) {
	app := newTestApp(t)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	attacker := browserFrom(t, app, "127.0.0.2")
	for i := range 10 {
		resp := attacker.PostForm("/signin", url.Values{"email": {email}, "password": {fmt.Sprintf("wrong password %d", i)}})
		resp.Body.Close()
	}
	resp := attacker.PostForm("/signin", url.Values{"email": {email}, "password": {pw}})
	if resp.Body.Close(); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the guessing address with the right password: %d, want 429", resp.StatusCode)
	}
	user := browserFrom(t, app, "127.0.0.1")
	resp = user.PostForm("/signin", url.Values{"email": {email}, "password": {pw}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the user from another address: %d, want 303 (signed in)\n%s", resp.StatusCode, body)
	}

	// One address spraying many accounts meets the address's limit.
	sprayer := browserFrom(t, app, "127.0.0.3")
	limited := 0
	for i := range 40 {
		resp := sprayer.PostForm("/signin", url.Values{"email": {fmt.Sprintf("user%d@main.example", i)}, "password": {"123456789012"}})
		if resp.Body.Close(); resp.StatusCode == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 accounts tried from one address at once: none refused with 429")
	}
}

// TestSignInForwardedForOnlyFromTrustedProxies: X-Forwarded-For is ignored
// unless the peer is a configured proxy.
func TestSignInForwardedForOnlyFromTrustedProxies(t *testing.T) {
	app := newTestApp(t)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	post := func(xff, password string) int {
		req, _ := http.NewRequest("POST", app.URL+"/signin", strings.NewReader(url.Values{"email": {email}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Forwarded-For", xff)
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Untrusted: a forged header does not make a new client.
	for i := range 6 {
		post(fmt.Sprintf("203.0.113.%d", i), "wrong password!")
	}
	if got := post("203.0.113.99", pw); got != http.StatusTooManyRequests {
		t.Fatalf("forged X-Forwarded-For with no proxy configured: %d, want 429 (the peer's limit)", got)
	}
	// Trusted loopback proxy: each forwarded client has its own limit.
	app.Server.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for range 6 {
		post("198.51.100.7", "wrong password!")
	}
	if got := post("198.51.100.7", pw); got != http.StatusTooManyRequests {
		t.Fatalf("the guessing client behind the proxy: %d, want 429", got)
	}
	if got := post("198.51.100.8, 127.0.0.1", pw); got != http.StatusSeeOther {
		t.Fatalf("another client behind the proxy: %d, want 303", got)
	}
}

// TestSignInMemoryBounded posts 2,000 sign-ins with 30 KB emails, each
// different, through the real server. Before the fix every one stored a
// limiter keyed by the whole email (60 MB here, unbounded in general).
// Now an email longer than 254 bytes is refused before anything is stored
// and the limiter tables are LRUs of fixed size: the heap in use after GC
// grows by less than 20 MB (the target; in practice a few hundred
// KB) and the server holds at most a handful of limiters.
func TestSignInMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("posts 60 MB")
	}
	app := newTestApp(t)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	t.Cleanup(c.CloseIdleConnections)
	pad := strings.Repeat("x", 30<<10)
	post := func(i int) {
		form := url.Values{"email": {fmt.Sprintf("%d%s@main.example", i, pad)}, "password": {"not the password"}}
		req, _ := http.NewRequest("POST", app.URL+"/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		// 400 (too long) or 429 (the address's limit): never a lookup.
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("post %d: %d, want 400 or 429", i, resp.StatusCode)
		}
	}
	post(0) // warm up: templates, connection
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	for i := 1; i <= 2000; i++ {
		post(i)
		if i%100 == 0 {
			app.Advance(time.Minute) // the address's limit refills: keep the email path busy
		}
	}
	after := heap()
	grew := int64(after) - int64(before)
	t.Logf("heap in use: %d KB before, %d KB after 2,000 posts (%+d KB); %d limiters", before>>10, after>>10, grew>>10, app.Server.Limiters())
	if grew > 20<<20 {
		t.Fatalf("the heap grew by %d MB after 2,000 sign-ins with 30 KB emails, want < 20 MB", grew>>20)
	}
	if n := app.Server.Limiters(); n > 10 {
		t.Fatalf("the server holds %d rate limiters after posts from one address, want 1 or 2", n)
	}
}

// TestSignInLongEmailRefused: an email longer than 254 bytes gets a clear
// 400 and is not looked up.
func TestSignInLongEmailRefused(t *testing.T) {
	app := newTestApp(t)
	b := newJarBrowser(t, app)
	resp := b.PostForm("/signin", url.Values{"email": {strings.Repeat("a", 250) + "@x.example"}, "password": {"whatever it is"}})
	if body := readBody(t, resp); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at most 254 characters") {
		t.Fatalf("a 260-byte email: %d, want 400 naming the limit", resp.StatusCode)
	}
}
