package aftercare

import "time"

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
