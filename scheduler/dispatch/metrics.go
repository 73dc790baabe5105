package dispatch

import (
	"errors"
	"time"

	"github.com/aftercare/aftercare"
)

// Metrics is told what the dispatcher and the reconciler do, for
// monitoring. Package metrics implements it with Prometheus; the dispatcher
// itself stays free of it. Calls come from every send goroutine at once:
// an implementation must be safe for concurrent use and cheap (it runs on
// the send path, once per attempt).
type Metrics interface {
	// Attempt is one attempt's outcome, once per message handed to a
	// route (opt-outs caught before the send are not attempts).
	Attempt(a AttemptStats)
	// TakenOver counts n claims taken over from dispatchers whose lease
	// lapsed (they become unknown).
	TakenOver(n int)
}

// AttemptStats is what Metrics learns of one attempt. It carries no
// patient data: no number, address or text.
type AttemptStats struct {
	Provider string            // the route's name: "twilio", "smtp", "outbox"; "" when no route is configured
	Channel  aftercare.Channel //
	Status   aftercare.Status  // the outcome: sent, delivered, pending (a retry), failed, unknown...
	// Kind and Code describe a failure: the kind ("" when the send
	// succeeded) and the provider's error code ("21610", "550"; "" when
	// it gave none).
	Kind aftercare.FailureKind
	Code string
	// Called says the provider was called; Latency is how long it took.
	Called  bool
	Latency time.Duration
	// Late is the sent time minus the message's due time (SendAt), when
	// the provider took the message (Sent).
	Sent bool
	Late time.Duration
}

// noMetrics is the default: it does nothing.
type noMetrics struct{}

func (noMetrics) Attempt(AttemptStats) {}
func (noMetrics) TakenOver(int)        {}

// observe tells d.Metrics about an attempt that record is about to store.
func (d *Dispatcher) observe(c *aftercare.Claimed, route Route, o *aftercare.Outcome, sendErr error, latency time.Duration) {
	if _, ok := d.Metrics.(noMetrics); ok {
		return
	}
	m := c.Message
	a := AttemptStats{Provider: route.Name, Channel: m.Channel, Status: o.Status, Code: o.ErrorCode,
		Called: route.Sender != nil, Latency: latency}
	if sendErr == nil {
		a.Sent, a.Late = true, o.SentAt.Sub(m.SendAt)
	} else {
		var se *aftercare.SendError
		if errors.As(sendErr, &se) {
			a.Kind = se.Kind
		} else {
			a.Kind = aftercare.Ambiguous
		}
	}
	d.Metrics.Attempt(a)
}
