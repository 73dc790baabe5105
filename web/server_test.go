package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/web"
)

// TestTwilioStatusCallback sends one real message through the fake Twilio,
// then posts status callbacks to the real handler on loopback.
func TestTwilioStatusCallback(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.WithNow(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := scheduler.NewService(db, clock)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow", Phone: "+14155550199", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "")
	if _, err := svc.Enroll(ctx, clinic, scheduler.EnrollRequest{Name: "Ana", Phone: "+14155550100", TZ: "America/Los_Angeles",
		Protocol: "microneedling", TreatedAt: now.Format(time.RFC3339), SMSConsent: true}); err != nil {
		t.Fatal(err)
	}
	fake := twiliotest.NewServer(t, twiliotest.WithClock(clock))
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+15005550006", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: db, Now: clock, Owner: "t/1", Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}}}
	if n, err := d.Tick(ctx); err != nil || n != 2 { // the welcome and the actives pause
		t.Fatalf("tick: %d %v", n, err)
	}
	sent := fake.Messages()[0]

	srv := httptest.NewServer(nil)
	defer srv.Close()
	srv.Config.Handler = (&web.Server{Store: db, PublicURL: srv.URL, Now: clock, Twilio: &web.TwilioWebhook{
		Valid: func(u string, f url.Values, sig string) bool { return twilio.ValidSignature(fake.AuthToken, u, f, sig) },
		Parse: twilio.ParseStatus,
	}}).Handler()
	hook := srv.URL + "/twilio/status"
	status := func() aftercare.Status {
		msgs, _ := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID, Statuses: []aftercare.Status{aftercare.StatusSent, aftercare.StatusDelivered, aftercare.StatusUndelivered}})
		for _, m := range msgs {
			if m.ProviderID == sent.SID {
				return m.Status
			}
		}
		t.Fatalf("no message has the provider id %s", sent.SID)
		return ""
	}
	post := func(form url.Values, sign bool) int {
		if sign {
			resp, err := twiliotest.PostSigned(ctx, nil, fake.AuthToken, hook, form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		req, _ := http.NewRequest("POST", hook, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", "forged")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if code := post(twiliotest.StatusForm(fake.AccountSID, sent, "delivered", 0), false); code != http.StatusForbidden || status() != aftercare.StatusSent {
		t.Fatalf("forged callback: %d, status %s; want 403 and no change", code, status())
	}
	if code := post(twiliotest.StatusForm(fake.AccountSID, sent, "delivered", 0), true); code != http.StatusNoContent || status() != aftercare.StatusDelivered {
		t.Fatalf("signed delivered: %d, status %s", code, status())
	}
	// Late and duplicate callbacks never move a message backwards.
	for _, s := range []string{"sent", "queued", "delivered"} {
		if code := post(twiliotest.StatusForm(fake.AccountSID, sent, s, 0), true); code != http.StatusNoContent || status() != aftercare.StatusDelivered {
			t.Errorf("late %q: %d, status %s; want delivered to stay", s, code, status())
		}
	}
	unknown := sent
	unknown.SID = "SM00000000000000000000000000000000"
	if code := post(twiliotest.StatusForm(fake.AccountSID, unknown, "failed", 30003), true); code != http.StatusNoContent {
		t.Errorf("unknown SID: %d, want 204 so Twilio stops retrying", code)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v %v", resp, err)
	}
}

// TestTwilioStatusBeforeOutcome posts Twilio's "delivered" callback while
// the dispatcher holds the answer to the send but has not recorded it (the
// after-send failpoint), as happens when Twilio calls back faster than the
// outcome is committed: the callback is acknowledged, and once the outcome
// is recorded the message is delivered, not left sent.
func TestTwilioStatusBeforeOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.WithNow(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := scheduler.NewService(db, clock)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow", Phone: "+14155550199", TZ: "UTC"}); err != nil {
		t.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "")
	if _, err := svc.Enroll(ctx, clinic, scheduler.EnrollRequest{Name: "Ana", Phone: "+14155550100", TZ: "America/Los_Angeles",
		Protocol: "microneedling", TreatedAt: now.Format(time.RFC3339), SMSConsent: true}); err != nil {
		t.Fatal(err)
	}
	fake := twiliotest.NewServer(t, twiliotest.WithClock(clock))
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+15005550006", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	defer srv.Close()
	srv.Config.Handler = (&web.Server{Store: db, PublicURL: srv.URL, Now: clock, Twilio: &web.TwilioWebhook{
		Valid: func(u string, f url.Values, sig string) bool { return twilio.ValidSignature(fake.AuthToken, u, f, sig) },
		Parse: twilio.ParseStatus,
	}}).Handler()

	callback := 0 // the callback's HTTP status
	d := &dispatch.Dispatcher{Store: db, Now: clock, Owner: "t/1", Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}},
		Failpoint: func(point string) {
			if point != "after-send" {
				return
			}
			// Twilio has the message; the dispatcher has not recorded its SID.
			sent := fake.Messages()[0]
			resp, err := twiliotest.PostSigned(ctx, nil, fake.AuthToken, srv.URL+"/twilio/status", twiliotest.StatusForm(fake.AccountSID, sent, "delivered", 0))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			callback = resp.StatusCode
		}}
	if n, err := d.Tick(ctx); err != nil || n != 2 { // the welcome and the actives pause
		t.Fatalf("tick: %d %v", n, err)
	}
	if callback != http.StatusNoContent {
		t.Errorf("callback before the outcome: %d, want 204", callback)
	}
	msgs, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID, Statuses: []aftercare.Status{aftercare.StatusSent, aftercare.StatusDelivered}})
	if err != nil || len(msgs) != 2 {
		t.Fatalf("%d messages sent or delivered, %v; want 2", len(msgs), err)
	}
	if msgs[0].ProviderID != fake.Messages()[0].SID {
		msgs[0] = msgs[1] // the one the callback was about
	}
	if m := msgs[0]; m.Status != aftercare.StatusDelivered || m.ProviderID != fake.Messages()[0].SID || !m.DeliveredAt.Equal(now) {
		t.Errorf("after the outcome: %s (provider id %q, delivered at %v); want delivered at the callback's time", m.Status, m.ProviderID, m.DeliveredAt)
	}
}
