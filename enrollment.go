package aftercare

import (
	"context"
	"time"
)

// Enrollment states.
const (
	EnrollmentActive    = "active"
	EnrollmentCancelled = "cancelled"
)

// Enrollment is one patient on one protocol version for one treatment.
type Enrollment struct {
	ID              int64
	ClinicID        int64
	PatientID       int64
	ProtocolID      int64
	ProtocolSlug    string
	ProtocolVersion int
	TreatedAt       time.Time // end of the treatment, UTC
	Status          string
	// Key makes enrollment idempotent: the same patient, protocol and
	// treatment time give the same key, and enrolling again returns the
	// stored enrollment.
	Key         string
	Source      string // who or what enrolled: "cli", "import:FILE", "api:TOKEN"
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CancelledAt time.Time
}

// NewEnrollment is what Enroll writes in one transaction.
type NewEnrollment struct {
	Patient    *Patient
	Enrollment *Enrollment
	Messages   []*Message
	// UserID is the staff user who enrolled (0: none), recorded with the
	// consent the enrollment gives (a ConsentEvent per channel whose
	// consent is new, Source the consent's).
	UserID int64
}

// EnrollmentStore keeps enrollments (a patient's course of one protocol
// version from a treatment time) and writes the messages planned for them.
// Enroll also writes the patient it enrolls, matched by MatchKey.
type EnrollmentStore interface {
	// Enroll writes patient, enrollment and messages all or nothing.
	//
	// The patient is matched within the clinic by MatchKey; a match is
	// updated (zone, language, and any consent given now that was not given
	// before) and keeps its ID, otherwise it is created. Consent given now
	// that the patient did not have is recorded as a ConsentEvent (given)
	// in the same transaction. If the clinic already
	// has an enrollment with the same Key, nothing is written: Enrollment is
	// filled from the stored row and created is false. Otherwise IDs, clinic,
	// patient and enrollment ids and times are set on every row written.
	Enroll(ctx context.Context, ne *NewEnrollment) (created bool, err error)
	// EnrollBatch is Enroll for many, in one transaction (bulk import).
	// created[i] says whether batch[i] was new.
	EnrollBatch(ctx context.Context, batch []*NewEnrollment) (created []bool, err error)
	// FindEnrollment returns an enrollment (ProtocolSlug and ProtocolVersion
	// filled). ENOTFOUND.
	FindEnrollment(ctx context.Context, clinicID, id int64) (*Enrollment, error)
	// CancelEnrollment marks the enrollment cancelled and every pending
	// message of it cancelled, and returns how many messages it cancelled.
	// Cancelling a cancelled enrollment changes nothing and returns 0.
	CancelEnrollment(ctx context.Context, clinicID, id int64, at time.Time) (int, error)
	// Reschedule saves e's new TreatedAt and Key and applies plan, all or
	// nothing: a planned message whose stored twin (same step, occurrence and
	// channel) is pending or skipped, or was cancelled by an earlier
	// Reschedule (note "rescheduled": consent withdrawn and given again),
	// takes the plan's status, times, note and text; a twin in any other
	// state is history and stays as it is; a plan message without a twin is
	// inserted; a pending message the plan no longer has is cancelled with
	// note "rescheduled". ECONFLICT if e is cancelled or if another
	// enrollment has e.Key.
	Reschedule(ctx context.Context, e *Enrollment, plan []*Message, at time.Time) error
	// ListEnrollments returns enrollments matching f, newest first, with
	// their patients and message counts.
	ListEnrollments(ctx context.Context, f EnrollmentFilter) ([]*EnrollmentSummary, error)
}

// EnrollmentFilter selects enrollments for ListEnrollments. Zero fields do
// not filter.
type EnrollmentFilter struct {
	ClinicID  int64 // required
	PatientID int64
	Since     time.Time // CreatedAt >= Since
	// Keyset pagination, newest first: rows with ID < BeforeID.
	BeforeID int64
	Limit    int // 0: 50
}

// EnrollmentSummary is one row of an enrollment list: the enrollment, its
// patient, and how far its messages have got.
type EnrollmentSummary struct {
	Enrollment *Enrollment
	Patient    *Patient
	Pending    int // pending or sending
	Done       int // sent, delivered
	Problems   int // failed, undelivered, unknown, expired
	NextSendAt time.Time
}
