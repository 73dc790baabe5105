package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestSignInPage checks the sign-in page renders inside the layout with the
// security headers every response carries.
func TestSignInPage(t *testing.T) {
	app := newTestApp(t)
	resp, err := http.Get(app.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(body, `name="password"`) || !strings.Contains(body, "/static/app.css") {
		t.Fatalf("GET /signin: %d\n%s", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
	} {
		if got := resp.Header.Get(h); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", h, got, want)
		}
	}
	resp, err = http.Get(app.URL + "/static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	if css := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(css, "--brand") {
		t.Fatalf("GET /static/app.css: %d", resp.StatusCode)
	}
}

// TestPagesNeedSignIn: a signed-out browser is sent to the sign-in page, and
// a form posted from another site is refused.
func TestPagesNeedSignIn(t *testing.T) {
	app := newTestApp(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(app.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Fatalf("GET / signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest("POST", app.URL+"/signin", strings.NewReader("email=a%40b.c&password=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in post: %d, want 403", resp.StatusCode)
	}
}
