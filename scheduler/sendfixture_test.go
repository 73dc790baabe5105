package scheduler_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// The send fixture of the inbound tests: answers go out through a real
// dispatcher (scheduler/dispatch, whose own tests hold the same fixture).

// sendFixture is a clinic on a real SQLite file, a fake Twilio on loopback
// and an outbox file for email, with a clock the test moves.
type sendFixture struct {
	*fixture
	fake *twiliotest.Server
	d    *dispatch.Dispatcher
}

func newSendFixture(t *testing.T) *sendFixture {
	t.Helper()
	f := newFixture(t)
	fake := twiliotest.NewServer(t, twiliotest.WithClock(func() time.Time { return f.now }))
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+15005550006", BaseURL: fake.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return f.now }
	tw.Now = clock
	box, err := outbox.New(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{
		Store:  f.db,
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}, aftercare.Email: {Name: "outbox", Sender: box}},
		// One send at a time, in order: the welcome and pause-actives are
		// due together, and tests that script the provider's next answer
		// must know which message gets it (the welcome, the older id).
		Now: clock, Owner: "test/1", Concurrency: 1,
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Jitter: func() float64 { return 0.5 },
	}
	return &sendFixture{fixture: f, fake: fake, d: d}
}

func (f *sendFixture) enroll(t *testing.T, phone string, email bool) *scheduler.EnrollResult {
	t.Helper()
	req := scheduler.EnrollRequest{Name: "Ana Ruiz", Phone: phone, TZ: "America/Los_Angeles", Lang: "en", Protocol: "microneedling",
		TreatedAt: f.now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
	if email {
		req.Email, req.EmailConsent = "ana@example.com", true
	}
	r, err := f.svc.Enroll(context.Background(), f.clinic, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *sendFixture) tick(t *testing.T) int {
	t.Helper()
	n, err := f.d.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
