package dispatch_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/store/sqlite"
)

// slowCommits is the SQLite store whose first group commit waits until
// the provider has been called again.
type slowCommits struct {
	*sqlite.DB
	once    sync.Once
	resend  <-chan struct{}
	waited  atomic.Bool
	groups  atomic.Int64
	records atomic.Int64
}

func (s *slowCommits) RecordOutcomes(ctx context.Context, os []*aftercare.Outcome) []error {
	s.once.Do(func() {
		select {
		case <-s.resend:
		case <-time.After(10 * time.Second): // reached only when the test fails
			s.waited.Store(true)
		}
	})
	s.groups.Add(1)
	s.records.Add(int64(len(os)))
	return s.DB.RecordOutcomes(ctx, os)
}

// countingSender signals the second call to the provider.
type countingSender struct {
	aftercare.Sender
	n      atomic.Int64
	second chan struct{}
}

func (c *countingSender) Send(ctx context.Context, o *aftercare.Outgoing) (aftercare.Receipt, error) {
	r, err := c.Sender.Send(ctx, o)
	if c.n.Add(1) == 2 {
		close(c.second)
	}
	return r, err
}

// A send's slot is free once the provider has answered: with one send at a
// time, the next text goes out while the first one's outcome is still
// being committed, and the tick returns only once both are.
func TestDispatchSendsWhileOutcomeCommits(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	f.Enroll(t, "+1 415 555 0100", false)
	sender := &countingSender{Sender: f.D.Routes[aftercare.SMS].Sender, second: make(chan struct{})}
	route := f.D.Routes[aftercare.SMS]
	route.Sender = sender
	f.D.Routes[aftercare.SMS] = route
	store := &slowCommits{DB: f.DB, resend: sender.second}
	f.D.Store = store
	if n := f.Tick(t); n != 2 {
		t.Fatalf("tick sent %d, want the two due texts", n)
	}
	if store.waited.Load() {
		t.Error("the second text waited for the first one's outcome to be committed")
	}
	if store.records.Load() != 2 {
		t.Errorf("%d outcomes went through the group commit, want 2", store.records.Load())
	}
	for _, step := range []string{"welcome", "pause-actives"} {
		if m := f.ByStep(t, step, aftercare.SMS); m.Status != aftercare.StatusSent {
			t.Errorf("%s is %s after the tick, want sent", step, m.Status)
		}
	}
}
