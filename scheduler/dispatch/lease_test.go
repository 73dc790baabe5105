package dispatch_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/store/storetest"
)

// A dispatcher that stalls past its lease (a long GC pause, a stopped VM)
// while claimed messages wait for their turn does not send them when it
// wakes: another process took them over as unknown meanwhile, and the
// old owner's release changes nothing.
func TestDispatchLeaseLapsedNotSent(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	f.Enroll(t, "+1 415 555 0100", false) // two texts due now
	sms := f.D.Routes[aftercare.SMS]
	sms.Rate = 1000 // every send waits for its turn first: the stall happens there
	f.D.Routes[aftercare.SMS] = sms
	f.D.Lease = 30 * time.Second
	rec := &dispatch.Reconciliation{Store: f.DB, Routes: f.D.Routes, Now: func() time.Time { return f.Now }}
	stalled := false
	f.D.Sleep = func(ctx context.Context, _ time.Duration) error {
		if !stalled {
			stalled = true
			f.Now = f.Now.Add(31 * time.Second)
			if _, err := rec.Run(ctx); err != nil {
				t.Error(err)
			}
		}
		return ctx.Err()
	}
	if n := f.Tick(t); n != 0 || f.Fake.Count() != 0 {
		t.Fatalf("after its lease lapsed the dispatcher sent %d (the provider has %d), want none", n, f.Fake.Count())
	}
	for _, step := range []string{"welcome", "pause-actives"} {
		if m := f.ByStep(t, step, aftercare.SMS); m.Status != aftercare.StatusUnknown || m.Attempts != 1 {
			t.Errorf("%s: %s after %d attempts, want unknown (taken over), attempted once", step, m.Status, m.Attempts)
		}
	}
}

// Renewals keep the claims of a dispatcher whose sends take longer than
// its lease; a heartbeat run by KeepLease on the test's ticks.
func TestDispatchHeartbeatKeepsClaims(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	f.Enroll(t, "+1 415 555 0100", false)
	f.D.Lease = 30 * time.Second
	// The clock moves while a send is in flight: the dispatcher and the
	// reconciler read it from other goroutines (the fake's clock stays).
	var elapsed atomic.Int64
	clock := func() time.Time { return f.Now.Add(time.Duration(elapsed.Load())) }
	f.D.Now = clock
	rec := &dispatch.Reconciliation{Store: f.DB, Routes: f.D.Routes, Now: clock}
	ticks := make(chan time.Time)
	ctx, stop := context.WithCancel(context.Background())
	kept := make(chan struct{})
	go func() { defer close(kept); f.D.KeepLease(ctx, ticks) }()

	arrived, release := make(chan struct{}, 1), make(chan struct{})
	f.Fake.Next(twiliotest.Reply{Arrived: arrived, Release: release})
	done := make(chan int)
	go func() { n, _ := f.D.Tick(context.Background()); done <- n }()
	<-arrived
	// Two minutes pass in steps of 10 s, the dispatcher renewing at each
	// and another process reconciling: nothing is taken over.
	for range 12 {
		elapsed.Add(int64(10 * time.Second))
		ticks <- clock()
		ticks <- clock() // the second send waits until the first renewal is done
		if _, err := rec.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if n := <-done; n != 2 {
		t.Errorf("sent %d, want both texts", n)
	}
	stop()
	<-kept
	for _, step := range []string{"welcome", "pause-actives"} {
		if m := f.ByStep(t, step, aftercare.SMS); m.Status != aftercare.StatusSent {
			t.Errorf("%s: %s, want sent: %s", step, m.Status, m.Error)
		}
	}
}

// lookupCounter counts a sender's lookups.
type lookupCounter struct {
	aftercare.Sender
	n atomic.Int64
}

func (l *lookupCounter) Lookup(ctx context.Context, m *aftercare.Outgoing, since time.Time) (aftercare.Receipt, bool, error) {
	l.n.Add(1)
	return l.Sender.(aftercare.Reconciler).Lookup(ctx, m, since)
}

// The reconciler pages through every unknown message, oldest first: with
// 230, the 10 newest, which the provider has, are found behind 220 it
// never got. A week later the rest are noted and not looked up again.
func TestReconcilePagesThroughAll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := schedtest.NewSend(t)
	p, err := f.DB.FindProtocol(ctx, f.Clinic.ID, "microneedling", 0)
	if err != nil {
		t.Fatal(err)
	}
	const lost, found = 220, 10
	for i := range lost + found {
		if _, err := f.DB.Enroll(ctx, storetest.Enrollment(f.Clinic.ID, p.ID, i, f.Now.Add(-12*time.Hour), 1)); err != nil {
			t.Fatal(err)
		}
	}
	var replies []twiliotest.Reply
	for i := range lost + found {
		r := twiliotest.ServerErrorHTML(500) // never taken
		if i >= lost {
			r = twiliotest.AcceptThenDrop() // taken, the answer lost
		}
		replies = append(replies, r)
	}
	f.Fake.Next(replies...)
	if n := f.Tick(t); n != lost+found {
		t.Fatalf("sent %d, want %d", n, lost+found)
	}
	counter := &lookupCounter{Sender: f.D.Routes[aftercare.SMS].Sender}
	routes := map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "twilio", Sender: counter}}
	// The reconciler's clock moves on; f.Now stays (the fake may still be
	// reading it for the answers it dropped).
	var later atomic.Int64
	later.Store(int64(time.Minute))
	rec := &dispatch.Reconciliation{Store: f.DB, Routes: routes, Now: func() time.Time { return f.Now.Add(time.Duration(later.Load())) }}
	if n, err := rec.Run(ctx); err != nil || n != found {
		t.Fatalf("reconcile resolved %d, %v; want the %d newest, which the provider has", n, err, found)
	}
	if got := counter.n.Load(); got != lost+found {
		t.Errorf("%d lookups, want one per unknown message (%d)", got, lost+found)
	}

	later.Add(int64(dispatch.DefaultGiveUpAfter))
	counter.n.Store(0)
	if n, err := rec.Run(ctx); err != nil || n != 0 || counter.n.Load() != 0 {
		t.Fatalf("a week later: resolved %d with %d lookups, %v; want none looked up", n, counter.n.Load(), err)
	}
	unknown := 0
	for _, m := range f.Messages(t) {
		if m.Status == aftercare.StatusUnknown {
			unknown++
			if !strings.Contains(m.Note, dispatch.GiveUpNote) {
				t.Errorf("unknown message %d a week later has note %q, want %q", m.ID, m.Note, dispatch.GiveUpNote)
			}
		}
	}
	if unknown != lost {
		t.Errorf("%d unknown, want %d", unknown, lost)
	}
}
