package dispatch

import (
	"context"
	"errors"

	"github.com/aftercare/aftercare"
)

// SendNow sends one message already claimed by d.Owner (an answer to a
// reply) and records the outcome like any attempt. A send that could not
// start (ctx ended) is released back to pending for the next tick.
func (d *Dispatcher) SendNow(ctx context.Context, c *aftercare.Claimed) error {
	d.init()
	// The answer was claimed under d.Owner: like any claim, it is sent
	// only under a live lease.
	gen, err := d.ensureLease(ctx)
	if err != nil {
		return errors.Join(err, d.Store.Release(context.WithoutCancel(ctx), d.Owner, []int64{c.Message.ID}))
	}
	started, err := d.deliver(ctx, c, gen)
	if !started {
		return errors.Join(err, d.Store.Release(context.WithoutCancel(ctx), d.Owner, []int64{c.Message.ID}))
	}
	return err
}
