// Package check holds the checks of a new enrollment and its planned
// messages that need no database, shared by every store engine: each
// refuses, with a message naming the culprit, what the schema would refuse
// with a constraint error (store/sqlite and store/postgres call them before
// they write).
package check

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// NewEnrollment returns the clinic ne is for, or EINVALID/ECONFLICT
// for what no database needs to see to refuse.
func NewEnrollment(ne *aftercare.NewEnrollment) (int64, error) {
	if ne == nil || ne.Patient == nil || ne.Enrollment == nil {
		return 0, aftercare.Errorf(aftercare.EINVALID, "an enrollment needs a patient and an enrollment")
	}
	e, p := ne.Enrollment, ne.Patient
	cid := e.ClinicID
	if cid == 0 {
		cid = p.ClinicID
	}
	switch {
	case cid == 0:
		return 0, aftercare.Errorf(aftercare.EINVALID, "the enrollment has no clinic")
	case p.ClinicID != 0 && p.ClinicID != cid:
		return 0, aftercare.Errorf(aftercare.EINVALID, "the patient belongs to clinic %d, the enrollment to clinic %d", p.ClinicID, cid)
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
			return 0, aftercare.Errorf(aftercare.EINVALID, "message %s belongs to clinic %d, the enrollment to clinic %d", m.Ident(), m.ClinicID, cid)
		}
	}
	return cid, Plan(ne.Messages)
}

// Ident is a message's natural key within its enrollment.
type Ident struct {
	step    string
	occ     int
	channel aftercare.Channel
}

// IdentOf is m's natural key within its enrollment.
func IdentOf(m *aftercare.Message) Ident { return Ident{m.StepKey, m.Occurrence, m.Channel} }

// Plan refuses planned messages the schema would refuse, with a message
// that names the culprit: EINVALID, or ECONFLICT for a message planned twice.
func Plan(plan []*aftercare.Message) error {
	seen := make(map[Ident]struct{}, len(plan))
	for _, m := range plan {
		switch {
		case m == nil:
			return aftercare.Errorf(aftercare.EINVALID, "the plan has a nil message")
		case m.StepKey == "":
			return aftercare.FieldErrorf("step", "a planned message has no step key")
		case m.Channel != aftercare.SMS && m.Channel != aftercare.Email:
			return aftercare.FieldErrorf("channel", "message %s: unknown channel %q", m.Ident(), m.Channel)
		case !m.Status.Valid():
			return aftercare.FieldErrorf("status", "message %s: unknown status %q", m.Ident(), m.Status)
		case m.SendAt.IsZero():
			return aftercare.FieldErrorf("send_at", "message %s has no send time", m.Ident())
		case m.Occurrence < 0:
			return aftercare.FieldErrorf("occurrence", "message %s: negative occurrence", m.Ident())
		}
		id := IdentOf(m)
		if _, dup := seen[id]; dup {
			return aftercare.Errorf(aftercare.ECONFLICT, "the plan has message %s twice", m.Ident())
		}
		seen[id] = struct{}{}
	}
	return nil
}

// PlannedTimes returns m's times as stored: send, expiry and next attempt,
// the last defaulting to the send time for a pending message.
func PlannedTimes(m *aftercare.Message) (send, expires, next time.Time) {
	send, expires, next = norm(m.SendAt), norm(m.ExpiresAt), norm(m.NextAttemptAt)
	if next.IsZero() && m.Status == aftercare.StatusPending {
		next = send
	}
	return send, expires, next
}

// ItemError names batch item i (from 1) in err's message when the batch has
// more than one.
func ItemError(i, n int, err error) error {
	var e *aftercare.Error
	if n == 1 || !errors.As(err, &e) {
		return err
	}
	return &aftercare.Error{Code: e.Code, Field: e.Field, Message: fmt.Sprintf("batch item %d: %s", i+1, e.Message)}
}

// norm is a time as both engines store it: UTC, to the millisecond.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// PageLimit is a list's limit: EINVALID naming the field when negative,
// def when 0.
func PageLimit(limit, def int) (int, error) {
	if limit < 0 {
		return 0, aftercare.FieldErrorf("limit", "the limit must not be negative, got %d", limit)
	}
	if limit == 0 {
		return def, nil
	}
	return limit, nil
}

// NormEmail is an email as users are stored and found by: trimmed and
// lower-cased.
func NormEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// User refuses what the schema would refuse of a user, with a message that
// says what to fix.
func User(u *aftercare.User) error {
	switch {
	case u == nil:
		return aftercare.Errorf(aftercare.EINVALID, "no user given")
	case u.ClinicID == 0:
		return aftercare.Errorf(aftercare.EINVALID, "the user has no clinic")
	case NormEmail(u.Email) == "":
		return aftercare.FieldErrorf("email", "the user needs an email address: it is the sign-in name")
	}
	_, err := aftercare.ParseRole(string(u.Role))
	return err
}
