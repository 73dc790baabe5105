package web_test

import (
	"context"
	"net/url"
	"path/filepath"
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

const twilioFrom = "+15005550006"

// twilioFixture is what the webhook tests start from: a store in a
// temporary file whose clinic (in tz) has Ana enrolled now on
// microneedling by SMS, the fake Twilio and a real Twilio sender to it,
// all on one stopped clock.
type twilioFixture struct {
	ctx    context.Context
	now    time.Time
	clock  func() time.Time
	db     *sqlite.DB
	svc    *scheduler.Service
	clinic *aftercare.Clinic
	fake   *twiliotest.Server
	tw     *twilio.Sender
}

func newTwilioFixture(t *testing.T, tz string) *twilioFixture {
	t.Helper()
	f := &twilioFixture{ctx: context.Background(), now: time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)}
	f.clock = func() time.Time { return f.now }
	db, err := sqlite.Open(f.ctx, filepath.Join(t.TempDir(), "a.db"), sqlite.WithNow(f.clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.svc = scheduler.NewService(db, f.clock)
	if err := f.svc.Bootstrap(f.ctx, scheduler.ClinicDefaults{Name: "Glow", Phone: "+14155550199", TZ: tz}); err != nil {
		t.Fatal(err)
	}
	f.clinic, _ = db.FindClinic(f.ctx, "")
	if _, err := f.svc.Enroll(f.ctx, f.clinic, scheduler.EnrollRequest{Name: "Ana", Phone: "+14155550100", TZ: "America/Los_Angeles",
		Protocol: "microneedling", TreatedAt: f.now.Format(time.RFC3339), SMSConsent: true}); err != nil {
		t.Fatal(err)
	}
	f.fake = twiliotest.NewServer(t, twiliotest.WithClock(f.clock))
	if f.tw, err = twilio.New(twilio.Config{AccountSID: f.fake.AccountSID, AuthToken: f.fake.AuthToken, From: twilioFrom, BaseURL: f.fake.URL}); err != nil {
		t.Fatal(err)
	}
	return f
}

// dispatcher sends SMS through the fake Twilio; failpoint may be nil.
func (f *twilioFixture) dispatcher(failpoint func(string)) *dispatch.Dispatcher {
	return &dispatch.Dispatcher{Store: f.db, Now: f.clock, Owner: "t/1", Failpoint: failpoint,
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: f.tw}}}
}

// webhook checks signatures with the fake's token and reads status
// callbacks.
func (f *twilioFixture) webhook() *web.TwilioWebhook {
	return &web.TwilioWebhook{
		Valid: func(u string, form url.Values, sig string) bool {
			return twilio.ValidSignature(f.fake.AuthToken, u, form, sig)
		},
		Parse: twilio.ParseStatus,
	}
}
