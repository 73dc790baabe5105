// The checks of a plan and a new enrollment that need no database: they
// refuse, with a message naming the culprit, what the schema would refuse
// with a constraint error.

package postgres

import (
	"errors"
	"fmt"
	"time"

	"github.com/aftercare/aftercare"
)

// checkNewEnrollment returns the clinic ne is for, or EINVALID/ECONFLICT
// for what no database needs to see to refuse.
func checkNewEnrollment(ne *aftercare.NewEnrollment) (int64, error) {
	if ne == nil || ne.Patient == nil || ne.Enrollment == nil {
		return 0, invalid("an enrollment needs a patient and an enrollment")
	}
	e, p := ne.Enrollment, ne.Patient
	cid := e.ClinicID
	if cid == 0 {
		cid = p.ClinicID
	}
	switch {
	case cid == 0:
		return 0, invalid("the enrollment has no clinic")
	case p.ClinicID != 0 && p.ClinicID != cid:
		return 0, invalid("the patient belongs to clinic %d, the enrollment to clinic %d", p.ClinicID, cid)
	case e.Key == "":
		return 0, aftercare.FieldErrorf("key", "the enrollment has no key")
	case e.ProtocolID == 0:
		return 0, aftercare.FieldErrorf("protocol", "the enrollment has no protocol")
	case e.TreatedAt.IsZero():
		return 0, aftercare.FieldErrorf("treated_at", "the enrollment has no treatment time")
	case e.Status != "" && e.Status != aftercare.EnrollmentActive:
		return 0, aftercare.FieldErrorf("status", "a new enrollment is active, not %q", e.Status)
	}
	for _, m := range ne.Messages {
		if m != nil && m.ClinicID != 0 && m.ClinicID != cid {
			return 0, invalid("message %s belongs to clinic %d, the enrollment to clinic %d", m.Ident(), m.ClinicID, cid)
		}
	}
	return cid, checkPlan(ne.Messages)
}

// ident is a message's natural key within its enrollment.
type ident struct {
	step    string
	occ     int
	channel aftercare.Channel
}

func identOf(m *aftercare.Message) ident { return ident{m.StepKey, m.Occurrence, m.Channel} }

// checkPlan refuses planned messages the schema would refuse, with a message
// that names the culprit: EINVALID, or ECONFLICT for a message planned twice.
func checkPlan(plan []*aftercare.Message) error {
	seen := make(map[ident]struct{}, len(plan))
	for _, m := range plan {
		switch {
		case m == nil:
			return invalid("the plan has a nil message")
		case m.StepKey == "":
			return aftercare.FieldErrorf("step", "a planned message has no step key")
		case m.Channel != aftercare.SMS && m.Channel != aftercare.Email:
			return aftercare.FieldErrorf("channel", "message %s: unknown channel %q", m.Ident(), m.Channel)
		case !validStatus(m.Status):
			return aftercare.FieldErrorf("status", "message %s: unknown status %q", m.Ident(), m.Status)
		case m.SendAt.IsZero():
			return aftercare.FieldErrorf("send_at", "message %s has no send time", m.Ident())
		case m.Occurrence < 0:
			return aftercare.FieldErrorf("occurrence", "message %s: negative occurrence", m.Ident())
		}
		id := identOf(m)
		if _, dup := seen[id]; dup {
			return conflict("the plan has message %s twice", m.Ident())
		}
		seen[id] = struct{}{}
	}
	return nil
}

func validStatus(s aftercare.Status) bool {
	switch s {
	case aftercare.StatusPending, aftercare.StatusSending, aftercare.StatusSent, aftercare.StatusDelivered,
		aftercare.StatusUndelivered, aftercare.StatusFailed, aftercare.StatusUnknown, aftercare.StatusSkipped,
		aftercare.StatusExpired, aftercare.StatusCancelled:
		return true
	}
	return false
}

// plannedTimes returns m's times as stored: send, expiry and next attempt,
// the last defaulting to the send time for a pending message.
func plannedTimes(m *aftercare.Message) (send, expires, next time.Time) {
	send, expires, next = norm(m.SendAt), norm(m.ExpiresAt), norm(m.NextAttemptAt)
	if next.IsZero() && m.Status == aftercare.StatusPending {
		next = send
	}
	return send, expires, next
}

// itemError names batch item i (from 1) in err's message when the batch has
// more than one.
func itemError(i, n int, err error) error {
	var e *aftercare.Error
	if n == 1 || !errors.As(err, &e) {
		return err
	}
	return &aftercare.Error{Code: e.Code, Field: e.Field, Message: fmt.Sprintf("batch item %d: %s", i+1, e.Message)}
}
