package dispatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/store/sqlite"
)

// claimSpy is the SQLite store, telling claims on a channel: how many
// messages each one claimed.
type claimSpy struct {
	*sqlite.DB
	claims chan int
}

func (s claimSpy) ClaimDue(ctx context.Context, now time.Time, owner string, limit int) ([]*aftercare.Claimed, error) {
	c, err := s.DB.ClaimDue(ctx, now, owner, limit)
	s.claims <- len(c)
	return c, err
}

// With a full batch half handed out, Tick claims the next one while the
// first batch's sends are still in flight; stopped then, it releases both
// batches' unstarted messages and claims nothing more.
func TestTickClaimsAheadAndReleasesOnStop(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	for i := range 6 { // a welcome and a pause-actives text each: 12 due
		req := scheduler.EnrollRequest{Name: "P " + string(rune('A'+i)), Phone: "+1 415 555 030" + string(rune('0'+i)),
			TZ: "America/Los_Angeles", Protocol: "microneedling", TreatedAt: f.Now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
		if _, err := f.Svc.Enroll(context.Background(), f.Clinic, req); err != nil {
			t.Fatal(err)
		}
	}
	spy := claimSpy{DB: f.DB, claims: make(chan int, 8)}
	f.D.Store, f.D.Concurrency, f.D.Batch = spy, 2, 4
	release := make(chan struct{})
	arrived := make(chan struct{}, 2)
	f.Fake.Next(twiliotest.Reply{Release: release, Arrived: arrived}, twiliotest.Reply{Release: release, Arrived: arrived})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() { n, _ := f.D.Tick(ctx); done <- n }()
	if n := <-spy.claims; n != 4 {
		t.Fatalf("the first claim took %d messages, want a full batch of 4", n)
	}
	<-arrived
	<-arrived // two sends in flight, both slots taken, held by the provider
	select {
	case n := <-spy.claims:
		if n != 4 {
			t.Fatalf("the claim ahead took %d messages, want 4", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no second claim while the first batch's sends were in flight: Tick waits for a batch to finish before claiming the next")
	}
	if got := statusCount(t, f, aftercare.StatusSending); got != 8 {
		t.Errorf("%d messages sending with the next batch claimed, want 8 (2 in flight, 6 waiting)", got)
	}

	cancel() // shutdown: the two in flight finish; the six waiting go back
	close(release)
	if n := <-done; n != 2 {
		t.Errorf("Tick sent %d, want the 2 in flight", n)
	}
	if n := len(spy.claims); n != 0 {
		t.Errorf("%d claims after the stop, want none", n)
	}
	for st, want := range map[aftercare.Status]int{aftercare.StatusSent: 2, aftercare.StatusPending: 10, aftercare.StatusSending: 0} {
		if got := statusCount(t, f, st); got != want {
			t.Errorf("after the stop %d messages are %s, want %d", got, st, want)
		}
	}
}

func statusCount(t *testing.T, f *schedtest.SendFixture, st aftercare.Status) int {
	t.Helper()
	n := 0
	for _, m := range f.Messages(t) {
		if m.Status == st && m.Channel == aftercare.SMS && !m.SendAt.After(f.Now) { // of the 12 due
			n++
		}
	}
	return n
}

// A patient's texts due together go out one after the other, in the order
// claimed (the welcome, with how to opt out, before the pause-actives
// text), the second once the provider has answered the first; meanwhile
// other patients' texts take the free slots.
func TestTickKeepsEachPatientsOrder(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	const ana, ben = "+14155550311", "+14155550312"
	for _, p := range []struct{ name, phone string }{{"Ana", ana}, {"Ben", ben}} {
		req := scheduler.EnrollRequest{Name: p.name, Phone: p.phone, TZ: "America/Los_Angeles", Protocol: "microneedling",
			TreatedAt: f.Now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
		if _, err := f.Svc.Enroll(context.Background(), f.Clinic, req); err != nil {
			t.Fatal(err)
		}
	}
	f.D.Concurrency = 2
	release := make(chan struct{})
	anaArrived, benArrived := make(chan struct{}, 1), make(chan struct{}, 2)
	f.Fake.NextFor(ana, twiliotest.Reply{Release: release, Arrived: anaArrived})
	f.Fake.NextFor(ben, twiliotest.Reply{Arrived: benArrived}, twiliotest.Reply{Arrived: benArrived})

	done := make(chan int)
	go func() { done <- f.Tick(t) }()
	<-anaArrived // Ana's first text is held by the provider
	<-benArrived
	<-benArrived // both of Ben's went out meanwhile, in the other slot
	for _, m := range f.Fake.Messages() {
		if m.To == ana {
			t.Errorf("Ana got %q while her first text was still with the provider", m.Body)
		}
	}
	close(release)
	if n := <-done; n != 4 {
		t.Fatalf("Tick sent %d, want 4", n)
	}
	var got []string
	for _, m := range f.Fake.Messages() {
		if m.To == ana {
			got = append(got, m.Body)
		}
	}
	if len(got) != 2 || !strings.Contains(got[0], "treatment is done") || !strings.Contains(got[0], "STOP") || !strings.Contains(got[1], "pause") {
		t.Errorf("Ana's texts in the order the provider took them:\n%s\nwant the welcome (with STOP) first, then what to pause", strings.Join(got, "\n"))
	}
}
