// Package schedtest is the test support the scheduler's and the
// dispatcher's tests share: a clinic bootstrapped through scheduler.Service
// on a real SQLite file in t.TempDir, with a clock the test moves, and a
// dispatcher that sends through the fake Twilio on loopback and an email
// outbox file. The dispatcher's tests send what the service planned, and
// the scheduler's inbound tests send their answers through a real
// dispatcher, so both need the same fixture; it lives outside _test files
// only so that scheduler_test and dispatch_test can import it. Only tests
// import this package (the dispatch package itself never imports the
// scheduler; its external tests may).
package schedtest

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strings"
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

// From is the number the send fixture's Twilio client sends from (its
// TWILIO_FROM).
const From = "+15005550006"

// Fixture is a service on a real SQLite file with a clock the test moves:
// set Now and the service, the store and (for a SendFixture) the
// dispatcher and the fake Twilio all see it.
type Fixture struct {
	Svc    *scheduler.Service
	DB     *sqlite.DB
	Clinic *aftercare.Clinic // the bootstrapped default clinic, Glow Skin Studio in Los Angeles
	Now    time.Time
}

// New opens a fresh database, bootstraps the default clinic and starts the
// clock at Sunday 2026-11-22 18:00 UTC.
func New(t *testing.T) *Fixture {
	t.Helper()
	ctx := context.Background()
	f := &Fixture{Now: time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aftercare.db"))
	if err != nil {
		t.Fatal(err)
	}
	// Closing a file in a temp dir that is about to be removed checks
	// nothing the test is about.
	t.Cleanup(func() { _ = db.Close() })
	db.Now = f.Clock
	f.DB = db
	f.Svc = scheduler.NewService(db, f.Clock)
	if err := f.Svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow Skin Studio", Phone: "+1 415 555 0199", TZ: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	if f.Clinic, err = db.FindClinic(ctx, ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// Clock is the fixture's clock, for fields that take a func() time.Time.
func (f *Fixture) Clock() time.Time { return f.Now }

// Enrollments returns every enrollment of the clinic.
func (f *Fixture) Enrollments(t *testing.T) []*aftercare.EnrollmentSummary {
	t.Helper()
	es, err := f.DB.ListEnrollments(context.Background(), aftercare.EnrollmentFilter{ClinicID: f.Clinic.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Messages returns every message of the clinic, enrollment by enrollment
// (the clinic's log may leave out pending messages far ahead), in (SendAt,
// ID) order.
func (f *Fixture) Messages(t *testing.T) []*aftercare.Message {
	t.Helper()
	msgs := []*aftercare.Message{}
	for _, e := range f.Enrollments(t) {
		ms, err := f.DB.ListMessages(context.Background(), aftercare.MessageFilter{ClinicID: f.Clinic.ID, EnrollmentID: e.Enrollment.ID})
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

// ByStep returns the first occurrence of a step's message on a channel,
// failing the test if there is none.
func (f *Fixture) ByStep(t *testing.T, step string, ch aftercare.Channel) *aftercare.Message {
	t.Helper()
	for _, m := range f.Messages(t) {
		if m.StepKey == step && m.Channel == ch && m.Occurrence == 0 {
			return m
		}
	}
	t.Fatalf("no %s message for step %s", ch, step)
	return nil
}

// SendFixture is a Fixture with a dispatcher that sends texts to a fake
// Twilio on loopback and emails to an outbox file.
type SendFixture struct {
	*Fixture
	Fake *twiliotest.Server
	D    *dispatch.Dispatcher
}

// NewSend builds a Fixture and its dispatcher.
func NewSend(t *testing.T) *SendFixture {
	t.Helper()
	f := New(t)
	fake := twiliotest.NewServer(t, twiliotest.WithClock(f.Clock))
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: From, BaseURL: fake.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tw.Now = f.Clock
	box, err := outbox.New(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{
		Store:  f.DB,
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: tw}, aftercare.Email: {Name: "outbox", Sender: box}},
		// One send at a time, in order: the welcome and pause-actives are
		// due together, and tests that script the provider's next answer
		// must know which message gets it (the welcome, the older id).
		Now: f.Clock, Owner: "test/1", Concurrency: 1,
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Jitter: func() float64 { return 0.5 },
	}
	return &SendFixture{Fixture: f, Fake: fake, D: d}
}

// Enroll enrolls Ana Ruiz (English, microneedling, treated now) by text to
// phone, and by email too if email is set.
func (f *SendFixture) Enroll(t *testing.T, phone string, email bool) *scheduler.EnrollResult {
	t.Helper()
	req := scheduler.EnrollRequest{Name: "Ana Ruiz", Phone: phone, TZ: "America/Los_Angeles", Lang: "en", Protocol: "microneedling",
		TreatedAt: f.Now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
	if email {
		req.Email, req.EmailConsent = "ana@example.com", true
	}
	r, err := f.Svc.Enroll(context.Background(), f.Clinic, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Tick runs one dispatcher tick and returns how many messages it handled.
func (f *SendFixture) Tick(t *testing.T) int {
	t.Helper()
	n, err := f.D.Tick(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Pages is patient-page links signed with a fixed test key, at the
// clinic's example public URL.
func Pages(t *testing.T, store aftercare.MessageStore) *dispatch.PageLinks {
	t.Helper()
	signer, err := aftercare.NewSigner([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return &dispatch.PageLinks{Signer: signer, PublicURL: "https://care.glowskin.example", Store: store}
}
