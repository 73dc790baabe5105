package dispatch

import (
	"context"
	"fmt"

	"github.com/aftercare/aftercare"
)

// optOutChecker is the store's cheap read of a patient's opt-out
// (aftercare.InboxStore.OptedOut). A store without it is trusted with the
// claim's own check.
type optOutChecker interface {
	OptedOut(ctx context.Context, clinicID, patientID int64, ch aftercare.Channel) (bool, error)
}

// optedOutSince reports whether the patient opted out of the message's
// channel after it was claimed: a STOP recorded while the message waited
// for its turn. It is asked just before the provider is called, so that
// nothing is sent once a STOP is recorded (what remains is the time of one
// call to the provider). The opt-out confirmation itself is exempt: it
// answers the STOP.
func (d *Dispatcher) optedOutSince(ctx context.Context, c *aftercare.Claimed) (bool, error) {
	oc, ok := d.Store.(optOutChecker)
	if !ok || c.Message.StepKey == aftercare.StepReplyStop {
		return false, nil
	}
	return oc.OptedOut(ctx, c.Message.ClinicID, c.Message.PatientID, c.Message.Channel)
}

// skipOptedOut settles a claimed message as skipped: it was never handed
// to a provider.
func (d *Dispatcher) skipOptedOut(ctx context.Context, c *aftercare.Claimed, route Route) error {
	m := c.Message
	msg := fmt.Sprintf("not sent: the patient opted out of %s after the message was claimed", m.Channel)
	o := &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: d.Owner, Status: aftercare.StatusSkipped, Error: msg,
		Attempt: aftercare.Attempt{ClinicID: m.ClinicID, MessageID: m.ID, Number: m.Attempts, At: d.Now().UTC(), Channel: m.Channel,
			Error: msg, Outcome: aftercare.StatusSkipped}}
	d.Logger.Info("skipped: opted out after the claim", "message", m.ID, "clinic", m.ClinicID, "channel", m.Channel, "to", maskedTo(c))
	err := d.Store.RecordOutcome(context.WithoutCancel(ctx), o)
	if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		return nil
	}
	return err
}
