package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/web"
)

// TestTwilioStatusCallback sends one real message through the fake Twilio,
// then posts status callbacks to the real handler on loopback.
func TestTwilioStatusCallback(t *testing.T) {
	f := newTwilioFixture(t, "UTC")
	ctx, db, clinic, fake := f.ctx, f.db, f.clinic, f.fake
	if n, err := f.dispatcher(nil).Tick(ctx); err != nil || n != 2 { // the welcome and the actives pause
		t.Fatalf("tick: %d %v", n, err)
	}
	sent := fake.Messages()[0]

	srv := httptest.NewServer(nil)
	defer srv.Close()
	srv.Config.Handler = (&web.Server{Store: db, PublicURL: srv.URL, Now: f.clock, Twilio: f.webhook()}).Handler()
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
	f := newTwilioFixture(t, "UTC")
	ctx, now, db, clinic, fake := f.ctx, f.now, f.db, f.clinic, f.fake
	srv := httptest.NewServer(nil)
	defer srv.Close()
	srv.Config.Handler = (&web.Server{Store: db, PublicURL: srv.URL, Now: f.clock, Twilio: f.webhook()}).Handler()

	callback := 0 // the callback's HTTP status
	d := f.dispatcher(func(point string) {
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
	})
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
