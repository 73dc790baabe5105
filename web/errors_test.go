package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestErrorsAnswerInKind: the one error writer answers the API, the
// webhooks, JSON clients and refused bearer tokens in JSON with the
// {"error": {code, message, field}} shape, and the app's pages with the
// HTML error page, each with the status of the error's code.
func TestErrorsAnswerInKind(t *testing.T) {
	app := newTestApp(t)
	for _, tt := range []struct {
		name, method, path string
		header             []string
		status             int
		code               string // "" for the HTML page
	}{
		{"APINoToken", "GET", "/api/v1/clinic", nil, http.StatusUnauthorized, aftercare.EUNAUTHORIZED},
		{"APINoRoute", "GET", "/api/v1/nothing-here", []string{"Authorization", "Bearer " + app.Token(app.Main, aftercare.RoleFrontDesk)}, http.StatusNotFound, aftercare.ENOTFOUND},
		{"WebhookUnsigned", "POST", "/twilio/status", []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusForbidden, aftercare.EFORBIDDEN},
		{"BadBearerOnAppPage", "GET", "/", []string{"Authorization", "Bearer act_nosuchtoken"}, http.StatusUnauthorized, aftercare.EUNAUTHORIZED},
		{"AppPageAcceptJSON", "POST", "/import", []string{"Accept", "application/json"}, http.StatusUnauthorized, aftercare.EUNAUTHORIZED},
		{"AppPage", "POST", "/import", nil, http.StatusUnauthorized, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, app.URL+tt.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			ct := resp.Header.Get("Content-Type")
			if tt.code == "" {
				if !strings.HasPrefix(ct, "text/html") {
					t.Fatalf("Content-Type %q, want the HTML error page", ct)
				}
				return
			}
			var body struct {
				Error map[string]*string `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q, body not JSON: %v", ct, err)
			}
			for _, k := range []string{"code", "message", "field"} {
				if body.Error[k] == nil {
					t.Fatalf("the error has no %q: %v", k, body.Error)
				}
			}
			if *body.Error["code"] != tt.code || *body.Error["message"] == "" {
				t.Fatalf("error %q %q, want code %q and a message", *body.Error["code"], *body.Error["message"], tt.code)
			}
		})
	}
}
