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
	if g := group(ctx); g != nil && g.checks != nil {
		// Read with the other sends waiting for theirs, after this one
		// asked: still just before this send.
		r := checkReq{clinic: c.Message.ClinicID, patient: c.Message.PatientID, ch: c.Message.Channel, out: make(chan checkAns, 1)}
		g.checks <- r
		a := <-r.out
		return a.out, a.err
	}
	return oc.OptedOut(ctx, c.Message.ClinicID, c.Message.PatientID, c.Message.Channel)
}

// optOutManyChecker is OptedOut for many patients in one read
// (OptedOutMany of sqlite.DB and postgres.DB).
type optOutManyChecker interface {
	optOutChecker
	OptedOutMany(ctx context.Context, clinicIDs, patientIDs []int64, chs []aftercare.Channel) ([]bool, error)
}

type checkReq struct {
	clinic, patient int64
	ch              aftercare.Channel
	out             chan checkAns
}

type checkAns struct {
	out bool
	err error
}

// runChecks answers the opt-out checks of a batch's sends: whatever
// checks are waiting are read at once, as the group commit does with
// outcomes. If the grouped read fails, each is read alone.
func runChecks(ctx context.Context, mc optOutManyChecker, reqs <-chan checkReq) {
	var (
		batch             []checkReq
		clinics, patients []int64
		chs               []aftercare.Channel
	)
	for first := range reqs {
		batch = gather(reqs, append(batch[:0], first))
		clinics, patients, chs = clinics[:0], patients[:0], chs[:0]
		for _, r := range batch {
			clinics, patients, chs = append(clinics, r.clinic), append(patients, r.patient), append(chs, r.ch)
		}
		outs, err := mc.OptedOutMany(ctx, clinics, patients, chs)
		for i, r := range batch {
			if err != nil {
				out, err := mc.OptedOut(ctx, r.clinic, r.patient, r.ch)
				r.out <- checkAns{out, err}
				continue
			}
			r.out <- checkAns{out: outs[i]}
		}
	}
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
	err := d.storeOutcome(ctx, o)
	if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
		return nil
	}
	return err
}
