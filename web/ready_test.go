package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// GET /readyz writes to the database: 200 while it takes writes, 503 with
// the reason once it does not (here, the store is closed), while /healthz,
// which only says the process answers, still says ok.
func TestReadyz(t *testing.T) {
	t.Parallel()
	a := newTestApp(t)
	get := func(path string) (int, map[string]string) {
		t.Helper()
		resp, err := http.Get(a.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return resp.StatusCode, body
	}
	if code, body := get("/readyz"); code != http.StatusOK || body["status"] != "ok" {
		t.Fatalf("readyz on a working store: %d %v", code, body)
	}
	a.DB.Close()
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || body["status"] != "unavailable" || !strings.Contains(body["reason"], "closed") {
		t.Errorf("readyz on a closed store: %d %v; want 503 with the reason", code, body)
	}
	if strings.Contains(body["reason"], a.DB.Path()) {
		t.Errorf("readyz shows the database path to anyone: %q", body["reason"])
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
}
