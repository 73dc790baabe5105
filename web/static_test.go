package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestStaticFilesOnly: /static/ serves its files and lists nothing.
func TestStaticFilesOnly(t *testing.T) {
	app := newTestApp(t)
	for path, want := range map[string]int{
		"/static/app.css": http.StatusOK, "/static/": http.StatusNotFound, "/static": http.StatusNotFound,
		"/static/.": http.StatusNotFound, "/static/nope.js": http.StatusNotFound,
	} {
		resp, err := http.Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != want && !(want == http.StatusNotFound && resp.StatusCode == http.StatusMovedPermanently) {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		if strings.Contains(body, "app.js") && path != "/static/app.css" {
			t.Errorf("GET %s lists the files:\n%s", path, body)
		}
	}
}
