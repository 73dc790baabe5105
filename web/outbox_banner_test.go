package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/web"
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

// TestOutboxNotSent: messages the real outbox sender wrote (and marked
// undelivered) never read "Sent": the patient's timeline, the delivery log
// and the message's page say they were written to the outbox file.
func TestOutboxNotSent(t *testing.T) {
	app := newTestApp(t)
	tok := app.Token(app.Main, aftercare.RoleFrontDesk)
	var en web.EnrollAnswerJSON
	app.do(tok, "POST", "/api/v1/enrollments", anaRequest()).decode(t, http.StatusCreated, &en)
	box, err := outbox.New(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: app.DB, Now: app.Now, Owner: "test/1",
		Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }, Jitter: func() float64 { return 0 },
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: outbox.Name, Sender: box}, aftercare.Email: {Name: outbox.Name, Sender: box}}}
	if n, err := d.Tick(context.Background()); err != nil || n == 0 {
		t.Fatalf("the dispatcher wrote %d messages to the outbox: %v", n, err)
	}
	msgs := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Statuses: []aftercare.Status{aftercare.StatusUndelivered}})
	if len(msgs) == 0 {
		t.Fatal("no message was marked undelivered by the outbox")
	}
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	read := func(path string) string {
		t.Helper()
		resp := mgr.Get(path)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(body)
	}
	patient := read(fmt.Sprintf("/patients/%d", msgs[0].PatientID))
	if strings.Contains(patient, `class="hint">Sent `) || !strings.Contains(patient, "Written to the outbox file (not sent)") {
		t.Errorf("the patient's timeline calls an outbox message sent:\n%s", patient)
	}
	if log := read("/log?since=2026-11-23&until=2026-11-23"); !strings.Contains(log, "outbox, not sent") {
		t.Errorf("the delivery log does not mark the outbox messages:\n%s", log)
	}
	page := read(fmt.Sprintf("/log/%d?at=%s", msgs[0].ID, msgs[0].SendAt.UTC().Format("2006-01-02T15:04:05.000Z")))
	if strings.Contains(page, "<dt>Sent</dt>") || !strings.Contains(page, "<dt>Written to the outbox file (not sent)</dt>") {
		t.Errorf("the message's page calls an outbox message sent:\n%s", page)
	}
}
