package web_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// TestNoProviderBanner: while a channel goes to the outbox file, every
// staff page says that nobody receives those messages; with providers for
// both, or outside the staff app (sign-in), no page does.
func TestNoProviderBanner(t *testing.T) {
	app := newTestApp(t)
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)
	route := func(name string) dispatch.Route { return dispatch.Route{Name: name} }
	pages := []string{"/", "/enroll", "/patients", "/import", "/inbox", "/log", "/attention", "/protocols", "/users", "/settings"}
	body := func(b *Browser, path string) string {
		t.Helper()
		resp := b.Get(path)
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		text, _ := io.ReadAll(resp.Body)
		return string(text)
	}
	for _, tc := range []struct {
		name   string
		routes map[aftercare.Channel]dispatch.Route
		want   string // "" for no banner
	}{
		{"both to the outbox", map[aftercare.Channel]dispatch.Route{aftercare.SMS: route("outbox"), aftercare.Email: route("outbox")}, "No patient receives anything"},
		{"texts to the outbox", map[aftercare.Channel]dispatch.Route{aftercare.SMS: route("outbox"), aftercare.Email: route("smtp")}, "no patient receives a text"},
		{"emails to the outbox", map[aftercare.Channel]dispatch.Route{aftercare.SMS: route("twilio"), aftercare.Email: route("outbox")}, "no patient receives an email"},
		{"providers for both", map[aftercare.Channel]dispatch.Route{aftercare.SMS: route("twilio"), aftercare.Email: route("smtp")}, ""},
		{"routes not given", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app.Server.Routes = tc.routes
			for _, p := range pages {
				got := body(admin, p)
				has := strings.Contains(got, `id="no-provider"`)
				if tc.want == "" && has {
					t.Errorf("%s shows the no-provider banner with providers set", p)
				}
				if tc.want != "" && (!has || !strings.Contains(got, tc.want)) {
					t.Errorf("%s does not say %q", p, tc.want)
				}
			}
			if tc.want != "" {
				anon := &Browser{t: t, app: app, Client: &http.Client{}}
				if strings.Contains(body(anon, "/signin"), `id="no-provider"`) {
					t.Error("the sign-in page shows the banner to someone not signed in")
				}
			}
		})
	}
}
