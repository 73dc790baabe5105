package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aftercare/aftercare"
)

// Exclusive makes jobs run in one process at a time among the replicas
// that share a database, through the store's lock (aftercare.Locker:
// store/postgres). With no Locker (store/sqlite) jobs run as they are.
//
// A lock alone keeps runs apart, not a tick from running twice: a
// replica whose clock is a few seconds behind would take the lock right
// after the first replica released it and run the same daily job again.
// So a job wrapped with a hold keeps its lock at least that long after
// its run started.
type Exclusive struct {
	Locker aftercare.Locker // nil: no lock
	Logger *slog.Logger
	// Now and AfterFunc are the clock (time.Now and time.AfterFunc when
	// nil); tests set them.
	Now       func() time.Time
	AfterFunc func(d time.Duration, f func())

	mu   sync.Mutex
	held map[*func()]struct{} // locks kept for their hold (Release)
}

// NewExclusive returns an Exclusive on store's lock, when store has one.
func NewExclusive(store any, logger *slog.Logger) *Exclusive {
	l, _ := store.(aftercare.Locker)
	return &Exclusive{Locker: l, Logger: logger}
}

// Wrap returns job running only under the lock named after job.Name: a
// tick that finds the lock taken is skipped (another replica is running
// it). The lock is released when the run ends, or hold after it started if
// that is later. A held lock keeps one of the store's connections: hold
// is for daily jobs, whose repeat would show (an email sent twice), not
// for frequent ones.
func (e *Exclusive) Wrap(job Job, hold time.Duration) Job {
	if e == nil || e.Locker == nil {
		return job
	}
	run := job.Run
	job.Run = func(ctx context.Context) error {
		unlock, ok, err := e.Locker.TryLock(ctx, "job "+job.Name)
		if err != nil {
			return err
		}
		if !ok {
			if e.Logger != nil {
				e.Logger.Debug("job skipped: another replica runs it", "job", job.Name)
			}
			return nil
		}
		now := e.Now
		if now == nil {
			now = time.Now
		}
		start := now()
		defer func() {
			left := hold - now().Sub(start)
			if left <= 0 {
				unlock()
				return
			}
			after := e.AfterFunc
			if after == nil {
				after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
			}
			e.mu.Lock()
			if e.held == nil {
				e.held = map[*func()]struct{}{}
			}
			key := &unlock
			e.held[key] = struct{}{}
			e.mu.Unlock()
			after(left, func() { e.release(key) })
		}()
		return run(ctx)
	}
	return job
}

// release unlocks a lock kept for its hold, once.
func (e *Exclusive) release(key *func()) {
	e.mu.Lock()
	_, ok := e.held[key]
	delete(e.held, key)
	e.mu.Unlock()
	if ok {
		(*key)()
	}
}

// Release unlocks at once the locks kept for their hold: serve calls it
// when its jobs have stopped, before it closes the store (whose pool
// waits for the connections that hold them).
func (e *Exclusive) Release() {
	if e == nil {
		return
	}
	e.mu.Lock()
	keys := make([]*func(), 0, len(e.held))
	for k := range e.held {
		keys = append(keys, k)
	}
	e.mu.Unlock()
	for _, k := range keys {
		e.release(k)
	}
}
