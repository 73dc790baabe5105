package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// memLocker is a Locker in memory, as one database's locks look to the
// processes sharing it.
type memLocker struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *memLocker) TryLock(_ context.Context, name string) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[name] {
		return nil, false, nil
	}
	l.held[name] = true
	return sync.OnceFunc(func() { l.mu.Lock(); delete(l.held, name); l.mu.Unlock() }), true, nil
}

var _ aftercare.Locker = (*memLocker)(nil)

func TestExclusive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	locks := &memLocker{held: map[string]bool{}}
	now := time.Date(2026, 3, 2, 3, 30, 0, 0, time.UTC)
	var timers []func()
	replica := func() *Exclusive {
		return &Exclusive{Locker: locks, Now: func() time.Time { return now },
			AfterFunc: func(_ time.Duration, f func()) { timers = append(timers, f) }}
	}
	a, b := replica(), replica()
	runs := 0
	job := Job{Name: "purge", Spec: "30 3 * * *", Run: func(context.Context) error { runs++; return nil }}
	ja, jb := a.Wrap(job, 5*time.Minute), b.Wrap(job, 5*time.Minute)

	t.Run("OneTickRunsOnce", func(t *testing.T) {
		if err := ja.Run(ctx); err != nil {
			t.Fatal(err)
		}
		// b's clock is behind: its tick of the same night comes after a's run ended.
		if err := jb.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if runs != 1 || len(timers) != 1 {
			t.Fatalf("%d runs and %d held locks, want 1 run and its lock held", runs, len(timers))
		}
	})
	t.Run("HoldEnds", func(t *testing.T) {
		timers[0]()
		if err := jb.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if runs != 2 {
			t.Fatalf("%d runs, want the next tick to run once the hold ended", runs)
		}
	})
	t.Run("Release", func(t *testing.T) {
		b.Release() // serve stopping: its held lock goes at once
		if err := ja.Run(ctx); err != nil || runs != 3 {
			t.Fatalf("after b released its locks: %d runs (%v), want 3", runs, err)
		}
		a.Release()
		timers[len(timers)-1]() // a timer firing after Release unlocks nothing twice
	})
	t.Run("NoHold", func(t *testing.T) {
		jr := a.Wrap(Job{Name: "reconcile", Run: func(context.Context) error { runs++; return nil }}, 0)
		for range 3 {
			if err := jr.Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if runs != 6 {
			t.Fatalf("%d runs, want each tick of a job without hold to run", runs)
		}
	})
	t.Run("NoLocker", func(t *testing.T) {
		e := NewExclusive(struct{}{}, nil) // store/sqlite has no Locker
		if e.Locker != nil {
			t.Fatal("NewExclusive found a Locker in a store without one")
		}
		n := 0
		j := e.Wrap(Job{Name: "x", Run: func(context.Context) error { n++; return nil }}, time.Hour)
		_ = j.Run(ctx)
		_ = j.Run(ctx)
		if n != 2 {
			t.Fatalf("%d runs without a Locker, want 2", n)
		}
	})
}
