package aftercare

import (
	"context"
	"time"
)

// ConsentAction is what a consent event did to a channel.
type ConsentAction string

// The consent actions: given (consent recorded, or an opt-out lifted: START,
// a staff change) and withdrawn (an opt-out: STOP, unsubscribe, Twilio's
// 21610, a staff change).
const (
	ConsentGiven     ConsentAction = "given"
	ConsentWithdrawn ConsentAction = "withdrawn"
)

// ConsentEvent is one change of a patient's consent on one channel. Events
// are kept as a history, never overwritten: the patient row holds the state
// they add up to (Patient.SMSConsent, SMSOptOutAt, ...).
type ConsentEvent struct {
	ID        int64
	ClinicID  int64
	PatientID int64
	Channel   Channel
	Action    ConsentAction
	At        time.Time
	// Source says how: "enroll:cli", "import:patients.csv:12",
	// "api:token-3", "web", "sms:STOP", "sms:START", "email:unsubscribe",
	// "twilio:21610", "staff".
	Source string
	UserID int64  // the staff user who made the change, 0 when none
	Note   string // e.g. the text of the reply that opted out
}

// ConsentStore keeps the consent history and applies it.
type ConsentStore interface {
	// SetConsent records ev and applies it to the patient in one
	// transaction. Withdrawn sets the channel's opt-out time (kept if it
	// was set already) and cancels the patient's pending messages on that
	// channel, in every enrollment, with a note naming ev.Source; given
	// records consent (At, Source) and clears the opt-out. changed reports
	// whether the patient's state moved (a second STOP records its event
	// but changes nothing). ENOTFOUND when the clinic has no such patient;
	// EINVALID for a bad channel or action.
	SetConsent(ctx context.Context, ev *ConsentEvent) (changed bool, err error)
	// ListConsentEvents returns a patient's consent history, oldest first.
	ListConsentEvents(ctx context.Context, clinicID, patientID int64) ([]*ConsentEvent, error)
	// OptedOut reports whether the patient has opted out of channel ch: the
	// dispatcher's last look before it hands a text to a provider.
	OptedOut(ctx context.Context, clinicID, patientID int64, ch Channel) (bool, error)
}
