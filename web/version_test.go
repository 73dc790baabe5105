package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestFooterShowsVersion: the app's footer names the version serve passes
// in (`aftercare version`), so staff can tell which build they are on.
func TestFooterShowsVersion(t *testing.T) {
	app := newTestApp(t)
	app.Server.Version = "v1.4.0"
	resp, err := http.Get(app.URL + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); !strings.Contains(body, `<footer class="foot">Aftercare v1.4.0 `) {
		t.Fatalf("GET /signin: the footer does not show the version:\n%s", body)
	}
}
