package dispatch

import (
	"context"
	"sync"
	"time"
)

// DefaultLease is how long a dispatcher's claims stay its own without a
// renewal. The owner renews every third of it, so two missed heartbeats
// are survived; a process that stopped without ending its lease (a crash,
// SIGKILL) has its claims taken over once the lease lapses.
const DefaultLease = 30 * time.Second

// leaseState is what a dispatcher knows of its own lease: when it lapses,
// and a generation that changes whenever it was renewed after lapsing
// (claims of an earlier generation may have been taken over: they are not
// started).
type leaseState struct {
	renewing sync.Mutex // one renewal at a time
	mu       sync.Mutex
	until    time.Time
	gen      int
}

// Heartbeat renews the dispatcher's lease on its claims for another Lease.
// serve calls it every Lease/3 (KeepLease); Tick renews on its own when the
// lease is more than half spent, so a dispatcher without a heartbeat still
// holds a lease while it claims.
func (d *Dispatcher) Heartbeat(ctx context.Context) error {
	d.init()
	d.lease.renewing.Lock()
	defer d.lease.renewing.Unlock()
	now := d.Now().UTC()
	until := now.Add(d.Lease)
	if err := d.Store.RenewLease(ctx, d.Owner, now, until); err != nil {
		return err
	}
	// Measured after the write: a takeover committed before it saw the
	// lease as it was until then.
	after := d.Now()
	d.lease.mu.Lock()
	defer d.lease.mu.Unlock()
	if !after.Before(d.lease.until) {
		d.lease.gen++
	}
	d.lease.until = until
	return nil
}

// KeepLease renews the lease at every tick until ctx is done. serve runs it
// from start to after the dispatcher's last Tick (shutdown included: sends
// in flight keep their claims while they finish) and passes a ticker of
// Lease/3; tests pass a channel they feed.
func (d *Dispatcher) KeepLease(ctx context.Context, ticks <-chan time.Time) {
	d.init()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticks:
			if err := d.Heartbeat(ctx); err != nil && ctx.Err() == nil {
				d.Logger.Error("renewing the claim lease failed; sends stop when it lapses", "owner", d.Owner, "err", err)
			}
		}
	}
}

// EndLease ends the lease (graceful shutdown, after the last Tick has
// released what it did not send): anything still claimed can be taken over
// at once.
func (d *Dispatcher) EndLease(ctx context.Context) error {
	d.init()
	d.lease.mu.Lock()
	d.lease.until = time.Time{}
	d.lease.mu.Unlock()
	return d.Store.EndLease(ctx, d.Owner, d.Now().UTC())
}

// ensureLease renews the lease when more than half of it is spent, and
// returns the generation that the claims about to be made belong to.
func (d *Dispatcher) ensureLease(ctx context.Context) (int, error) {
	d.lease.mu.Lock()
	fresh := d.lease.until.Sub(d.Now()) > d.Lease/2
	gen := d.lease.gen
	d.lease.mu.Unlock()
	if fresh {
		return gen, nil
	}
	if err := d.Heartbeat(ctx); err != nil {
		return 0, err
	}
	d.lease.mu.Lock()
	defer d.lease.mu.Unlock()
	return d.lease.gen, nil
}

// leaseHeld reports whether claims of generation gen are still this
// dispatcher's: the lease has not lapsed since they were made. A send is
// started only then; otherwise the claim is released (a no-op if it was
// taken over).
func (d *Dispatcher) leaseHeld(gen int) bool {
	d.lease.mu.Lock()
	defer d.lease.mu.Unlock()
	return gen == d.lease.gen && d.Now().Before(d.lease.until)
}
