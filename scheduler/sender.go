package scheduler

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
)

// Sender hands one message to a provider. It returns a Receipt when the
// provider accepted it, and otherwise an error: an *aftercare.SendError (or
// one wrapping it) says whether the failure is transient, permanent or
// ambiguous; any other error counts as ambiguous (the message may have gone).
// Send must honour ctx: when it is cancelled, give up and say so.
type Sender interface {
	Send(ctx context.Context, m *aftercare.Outgoing) (aftercare.Receipt, error)
}

// Reconciler is implemented by senders that can look a message up after an
// ambiguous outcome or a crash. Lookup reports the provider's record of m if
// one was made since the given time (found false when the provider has none).
type Reconciler interface {
	Lookup(ctx context.Context, m *aftercare.Outgoing, since time.Time) (r aftercare.Receipt, found bool, err error)
}
