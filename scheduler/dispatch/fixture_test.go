package dispatch_test

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/store/sqlite"
)

// The dispatcher's tests send what the scheduler's service planned: a
// clinic bootstrapped on a real SQLite file, patients enrolled through
// scheduler.Service (an external test package may import the scheduler;
// the dispatch package itself never does). The scheduler's own tests keep
// a copy of the send fixture for inbound texts (sendfixture_test.go).

// fixture is a service on a real SQLite file with a clock the test moves.
type fixture struct {
	svc    *scheduler.Service
	db     *sqlite.DB
	clinic *aftercare.Clinic
	now    time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{now: time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aftercare.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := func() time.Time { return f.now }
	db.Now = clock
	f.db = db
	f.svc = scheduler.NewService(db, clock)
	if err := f.svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow Skin Studio", Phone: "+1 415 555 0199", TZ: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	if f.clinic, err = db.FindClinic(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// messages returns every message of the clinic, enrollment by enrollment
// (the clinic's log may leave out pending messages far ahead), in (SendAt,
// ID) order.
func (f *fixture) messages(t *testing.T) []*aftercare.Message {
	t.Helper()
	ctx := context.Background()
	es, err := f.db.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: f.clinic.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []*aftercare.Message{}
	for _, e := range es {
		ms, err := f.db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: f.clinic.ID, EnrollmentID: e.Enrollment.ID})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, ms...)
	}
	slices.SortFunc(msgs, func(a, b *aftercare.Message) int {
		if c := a.SendAt.Compare(b.SendAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return msgs
}

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

func (f *sendFixture) byStep(t *testing.T, step string, ch aftercare.Channel) *aftercare.Message {
	t.Helper()
	for _, m := range f.messages(t) {
		if m.StepKey == step && m.Channel == ch && m.Occurrence == 0 {
			return m
		}
	}
	t.Fatalf("no %s message for step %s", ch, step)
	return nil
}
