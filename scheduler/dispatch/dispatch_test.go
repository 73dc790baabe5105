package dispatch_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/storetest"
)

func TestDispatchSendsOnTimeOnce(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	f.Enroll(t, "+1 415 555 0100", false)
	if n := f.Tick(t); n != 2 {
		t.Fatalf("first tick sent %d, want the two due messages (welcome, pause-actives)", n)
	}
	m := f.ByStep(t, "welcome", aftercare.SMS)
	if m.Status != aftercare.StatusSent || !strings.HasPrefix(m.ProviderID, "SM") || m.Sender != "twilio" || m.Attempts != 1 {
		t.Fatalf("after send: %+v", m)
	}
	if f.Tick(t) != 0 || f.Fake.Count() != 2 {
		t.Fatalf("a second tick at the same time sent again (fake count %d)", f.Fake.Count())
	}
	if v := f.Fake.Violations(); len(v) > 0 {
		t.Fatalf("requests broke Twilio's contract: %v", v)
	}
	// Never before its time: the 30-minute step is not sent at 29 minutes.
	f.Now = f.Now.Add(29 * time.Minute)
	if n := f.Tick(t); n != 0 {
		t.Errorf("sent %d messages before their time", n)
	}
	f.Now = f.Now.Add(time.Minute)
	if n := f.Tick(t); n != 1 {
		t.Errorf("at 30 minutes sent %d, want 1", n)
	}
	at, err := f.DB.ListAttempts(context.Background(), f.Clinic.ID, m.ID)
	if err != nil || len(at) != 1 || at[0].Outcome != aftercare.StatusSent || at[0].ProviderID != m.ProviderID {
		t.Errorf("attempts: %+v %v", at, err)
	}
	sent := f.Fake.Messages()[0]
	if sent.To != "+14155550100" || !strings.Contains(sent.Body, "Glow Skin Studio") {
		t.Errorf("the provider got To %s body %q", sent.To, sent.Body)
	}
}

// TestDispatchClinicSender: a clinic with its own SMS number texts from it
// rather than from the server's TWILIO_FROM.
func TestDispatchClinicSender(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	own := "+1 415 555 0177"
	c, err := f.Svc.UpdateClinic(context.Background(), "", scheduler.ClinicChanges{SMSFrom: &own})
	if err != nil {
		t.Fatal(err)
	}
	f.Clinic = c
	f.Enroll(t, "+1 415 555 0100", false)
	if n := f.Tick(t); n != 2 {
		t.Fatalf("tick sent %d, want 2 (welcome, pause-actives)", n)
	}
	if got := f.Fake.Messages()[0].Params.Get("From"); got != "+14155550177" {
		t.Errorf("sent from %q, want the clinic's own number", got)
	}
}

func TestDispatchFailures(t *testing.T) {
	t.Parallel()
	t.Run("TransientRetriesAfterBackoff", func(t *testing.T) {
		f := schedtest.NewSend(t)
		f.Enroll(t, "+1 415 555 0100", false)
		f.Fake.Next(twiliotest.RateLimited("30"))
		f.Tick(t)
		m := f.ByStep(t, "welcome", aftercare.SMS)
		if m.Status != aftercare.StatusPending || m.ErrorCode == "" || m.NextAttemptAt.Sub(f.Now) < 30*time.Second {
			t.Fatalf("after 429: %s code %q next in %s", m.Status, m.ErrorCode, m.NextAttemptAt.Sub(f.Now))
		}
		if f.Tick(t) != 0 {
			t.Fatal("retried before the backoff")
		}
		f.Now = f.Now.Add(31 * time.Second)
		f.Tick(t)
		m = f.ByStep(t, "welcome", aftercare.SMS)
		if m.Status != aftercare.StatusSent || m.Attempts != 2 {
			t.Errorf("after retry: %s, %d attempts", m.Status, m.Attempts)
		}
	})
	t.Run("TransientPastExpiryExpires", func(t *testing.T) {
		f := schedtest.NewSend(t)
		f.Enroll(t, "+1 415 555 0100", false)
		f.Fake.Next(twiliotest.RateLimited("86400"))
		f.Tick(t)
		if m := f.ByStep(t, "welcome", aftercare.SMS); m.Status != aftercare.StatusExpired {
			t.Errorf("a retry past the expiry: %s, want expired", m.Status)
		}
	})
	for _, tc := range []struct {
		name   string
		code   int
		optOut bool
	}{{"Err21211InvalidTo", 21211, false}, {"Err21614NotMobile", 21614, false}, {"Err30006Landline", 30006, false}, {"Err21610OptedOut", 21610, true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := schedtest.NewSend(t)
			f.Enroll(t, "+1 415 555 0100", true)
			f.Fake.Next(twiliotest.TwilioError(400, tc.code, "refused"))
			f.Tick(t)
			m := f.ByStep(t, "welcome", aftercare.SMS)
			if m.Status != aftercare.StatusFailed || m.ErrorCode == "" || !strings.Contains(m.ErrorCode, "21") && !strings.Contains(m.ErrorCode, "30") {
				t.Fatalf("permanent %d: %s code %q", tc.code, m.Status, m.ErrorCode)
			}
			p, _ := f.DB.FindPatient(context.Background(), f.Clinic.ID, m.PatientID)
			if p.SMSOptOutAt.IsZero() == tc.optOut {
				t.Errorf("opted out = %v, want %v", !p.SMSOptOutAt.IsZero(), tc.optOut)
			}
			// The consent history keeps the opt-out Twilio reported.
			evs, _ := f.DB.ListConsentEvents(context.Background(), f.Clinic.ID, m.PatientID)
			last := evs[len(evs)-1]
			if withdrawn := last.Action == aftercare.ConsentWithdrawn; withdrawn != tc.optOut ||
				tc.optOut && (last.Source != "twilio:21610" || last.Channel != aftercare.SMS || !last.At.Equal(p.SMSOptOutAt)) {
				t.Errorf("consent history ends with %+v", last)
			}
			if tc.optOut {
				// Later texts are skipped at claim time, not sent.
				f.Now = f.Now.Add(2 * time.Hour)
				before := f.Fake.Count()
				f.Tick(t)
				if f.Fake.Count() != before {
					t.Error("a text went to a patient who opted out")
				}
				if m := f.ByStep(t, "first-hours", aftercare.SMS); m.Status != aftercare.StatusSkipped {
					t.Errorf("text after opt-out: %s, want skipped", m.Status)
				}
			}
		})
	}
	t.Run("EmailFallbackForSMSOnlyStep", func(t *testing.T) {
		f := schedtest.NewSend(t)
		f.Enroll(t, "+1 415 555 0100", true)
		f.Tick(t)                           // welcome goes out on both channels
		f.Now = f.Now.Add(30 * time.Minute) // first-hours is SMS only, and alone due now
		f.Fake.Next(twiliotest.TwilioError(400, 21614, "not a mobile number"))
		f.Tick(t)
		if m := f.ByStep(t, "first-hours", aftercare.SMS); m.Status != aftercare.StatusFailed {
			t.Fatalf("first-hours: %s, want failed", m.Status)
		}
		f.Tick(t) // the fallback email is due now
		var fallback int
		for _, m := range f.Messages(t) {
			if m.Channel == aftercare.Email && strings.Contains(m.Note, "fallback") {
				fallback++
				if m.Status != aftercare.StatusUndelivered || m.Sender != "outbox" {
					t.Errorf("fallback email: %s via %s", m.Status, m.Sender)
				}
			}
		}
		if fallback != 1 {
			t.Errorf("%d fallback emails, want 1", fallback)
		}
	})
	t.Run("AmbiguousIsUnknownNeverResent", func(t *testing.T) {
		f := schedtest.NewSend(t)
		f.Enroll(t, "+1 415 555 0100", false)
		f.Fake.Next(twiliotest.ServerErrorHTML(500))
		f.Tick(t)
		m := f.ByStep(t, "welcome", aftercare.SMS)
		if m.Status != aftercare.StatusUnknown {
			t.Fatalf("after a 500: %s, want unknown", m.Status)
		}
		f.Now = f.Now.Add(time.Hour)
		f.Tick(t)
		rec := &dispatch.Reconciliation{Store: f.DB, Routes: f.D.Routes, Now: func() time.Time { return f.Now }}
		if n, err := rec.Run(context.Background()); err != nil || n != 0 {
			t.Fatalf("reconcile: %d %v; the provider never took it", n, err)
		}
		if m := f.ByStep(t, "welcome", aftercare.SMS); m.Status != aftercare.StatusUnknown || m.Attempts != 1 {
			t.Errorf("unknown message: %s after %d attempts: it must stay unknown, not resent", m.Status, m.Attempts)
		}
	})
	t.Run("AcceptedThenDroppedIsReconciled", func(t *testing.T) {
		f := schedtest.NewSend(t)
		f.Enroll(t, "+1 415 555 0100", false)
		f.Fake.Next(twiliotest.AcceptThenDrop())
		f.Tick(t)
		if m := f.ByStep(t, "welcome", aftercare.SMS); m.Status != aftercare.StatusUnknown {
			t.Fatalf("after a dropped answer: %s, want unknown", m.Status)
		}
		rec := &dispatch.Reconciliation{Store: f.DB, Routes: f.D.Routes, Now: func() time.Time { return f.Now }}
		if n, err := rec.Run(context.Background()); err != nil || n != 1 {
			t.Fatalf("reconcile resolved %d, %v; want 1", n, err)
		}
		m := f.ByStep(t, "welcome", aftercare.SMS)
		// The fake holds the welcome it accepted and pause-actives, sent after it.
		if m.Status != aftercare.StatusSent || m.ProviderID == "" || f.Fake.Count() != 2 {
			t.Errorf("reconciled: %s %q, fake count %d, want 2", m.Status, m.ProviderID, f.Fake.Count())
		}
	})
}

func TestDispatchSettlesWhatMustNotGo(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	r := f.Enroll(t, "+1 415 555 0100", false)
	if _, err := f.Svc.Cancel(context.Background(), f.Clinic.ID, r.Enrollment.ID); err != nil {
		t.Fatal(err)
	}
	f.Now = f.Now.Add(30 * 24 * time.Hour)
	if n := f.Tick(t); n != 0 || f.Fake.Count() != 0 {
		t.Errorf("a cancelled enrollment sent %d", n)
	}
	// A pending message whose time is long past is expired, not sent.
	g := schedtest.NewSend(t)
	g.Enroll(t, "+1 415 555 0100", false)
	g.Now = g.Now.Add(13 * time.Hour)
	g.Tick(t)
	if m := g.ByStep(t, "welcome", aftercare.SMS); m.Status != aftercare.StatusExpired {
		t.Errorf("13 hours late: %s, want expired", m.Status)
	}
}

// Two dispatchers on two connections to one file, as two processes would
// be: every message is sent exactly once.
func TestDispatchTwoProcessesClaimOnce(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	for i := 0; i < 20; i++ {
		req := scheduler.EnrollRequest{Name: "Patient " + string(rune('A'+i)), Phone: "+1 415 555 01" + string(rune('0'+i/10)) + string(rune('0'+i%10)),
			TZ: "America/Los_Angeles", Protocol: "microneedling", TreatedAt: f.Now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
		if _, err := f.Svc.Enroll(context.Background(), f.Clinic, req); err != nil {
			t.Fatal(err)
		}
	}
	other, err := sqlite.Open(context.Background(), f.DB.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	d2 := dispatch.Dispatcher{Store: other, Routes: f.D.Routes, Now: f.D.Now, Sleep: f.D.Sleep, Jitter: f.D.Jitter,
		Owner: "test/2", Concurrency: 4, Batch: 3}
	f.D.Batch = 3
	var wg sync.WaitGroup
	for _, d := range []*dispatch.Dispatcher{f.D, &d2} {
		wg.Add(1)
		go func(d *dispatch.Dispatcher) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := d.Tick(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}(d)
	}
	wg.Wait()
	seen := map[string]int{}
	for _, m := range f.Fake.Messages() {
		seen[m.To+m.Body]++
	}
	if f.Fake.Count() != 40 || len(seen) != 40 {
		t.Errorf("fake got %d messages, %d distinct; want 40 (20 patients, 2 texts due each) once each", f.Fake.Count(), len(seen))
	}
}

func TestDispatchShutdownLeavesNothingClaimed(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	for i := 0; i < 6; i++ {
		req := scheduler.EnrollRequest{Name: "P " + string(rune('A'+i)), Phone: "+1 415 555 020" + string(rune('0'+i)),
			TZ: "America/Los_Angeles", Protocol: "microneedling", TreatedAt: f.Now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
		if _, err := f.Svc.Enroll(context.Background(), f.Clinic, req); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	f.Fake.Next(twiliotest.Reply{Release: release, Arrived: arrived})
	f.D.Concurrency = 1
	done := make(chan int)
	go func() { n, _ := f.D.Tick(ctx); done <- n }()
	<-arrived // one send is in flight
	cancel()  // shutdown: no new sends; the one in flight must finish
	close(release)
	if n := <-done; n != 1 {
		t.Errorf("sent %d during shutdown, want only the one in flight", n)
	}
	counts := map[aftercare.Status]int{}
	for _, m := range f.Messages(t) {
		if m.StepKey == "welcome" {
			counts[m.Status]++
		}
	}
	if counts[aftercare.StatusSending] != 0 || counts[aftercare.StatusSent] != 1 || counts[aftercare.StatusPending] != 5 {
		t.Errorf("after shutdown: %v; want 1 sent, 5 pending, none sending", counts)
	}
}

// Never a message before its time, and at most one tick late: 200 messages
// (texts and emails) due at random milliseconds within two minutes, and a
// clock that moves by random steps of up to one second, the dispatch tick,
// between ticks. The outbox stamps each message with the clock when its
// send starts.
func TestDispatchNeverEarly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := schedtest.New(t)
	p, err := f.DB.FindProtocol(ctx, f.Clinic.ID, "microneedling", 0)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 14))
	start, window := f.Now, 2*time.Minute
	dueAt := map[int64]time.Time{}
	for i := range 100 {
		ne := storetest.Enrollment(f.Clinic.ID, p.ID, i, start.Add(-time.Hour), 2) // a text and an email
		for _, m := range ne.Messages {
			m.SendAt = start.Add(time.Duration(r.Int64N(window.Milliseconds())) * time.Millisecond)
			m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
		}
		if _, err := f.DB.Enroll(ctx, ne); err != nil {
			t.Fatal(err)
		}
		for _, m := range ne.Messages {
			dueAt[m.ID] = m.SendAt
		}
	}
	clock := func() time.Time { return f.Now }
	box, err := outbox.New(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	box.Now = clock
	route := dispatch.Route{Name: "outbox", Sender: box}
	d := &dispatch.Dispatcher{Store: f.DB, Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: route, aftercare.Email: route},
		Now: clock, Owner: "test/1", Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }}
	for f.Now.Before(start.Add(window + time.Second)) {
		f.Now = f.Now.Add(1 + time.Duration(r.Int64N(int64(time.Second)))) // (0, 1 s], to the nanosecond
		if _, err := d.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}

	file, err := os.Open(box.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	sent := map[int64]int{}
	dec := json.NewDecoder(file)
	for dec.More() {
		var rec outbox.Record
		if err := dec.Decode(&rec); err != nil {
			t.Fatal(err)
		}
		sent[rec.MessageID]++
		due := dueAt[rec.MessageID]
		if late := rec.Time.Sub(due); late < 0 {
			t.Errorf("message %d went %s before its time (due %s)", rec.MessageID, -late, due.Format(time.StampMilli))
		} else if late > time.Second+time.Millisecond {
			t.Errorf("message %d went %s late: more than one tick", rec.MessageID, late)
		}
	}
	for id := range dueAt {
		if sent[id] != 1 {
			t.Errorf("message %d sent %d times, want once", id, sent[id])
		}
	}
}
