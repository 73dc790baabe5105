package aftercare

import (
	"context"
	"time"
)

// Store is everything Aftercare persists. store/sqlite implements it (the
// embedded default); a second engine (store/postgres) implements the same
// interface and passes the same suite, store/storetest.
//
// Every method that takes a clinicID reads or writes only that clinic's rows:
// an id of another clinic's row is ENOTFOUND. Times go in and come out UTC.
type Store interface {
	ClinicStore
	ProtocolStore
	EnrollmentStore
	MessageStore
	DispatchStore
	PatientStore
	AccountStore
	ConsentStore
	SecretStore
	AuditStore
	RetentionStore
	InboxStore
	Close() error
}

// ClinicStore keeps clinics and their settings.
type ClinicStore interface {
	// CreateClinic stores c and sets its ID and times. ECONFLICT if the slug
	// is taken. If c.Default is set, every other clinic stops being the default.
	CreateClinic(ctx context.Context, c *Clinic) error
	// FindClinic returns the clinic with that slug, or the default clinic for
	// slug "". ENOTFOUND when there is none.
	FindClinic(ctx context.Context, slug string) (*Clinic, error)
	// FindClinicByID returns the clinic with that id. ENOTFOUND.
	FindClinicByID(ctx context.Context, id int64) (*Clinic, error)
	// ListClinics returns every clinic ordered by slug.
	ListClinics(ctx context.Context) ([]*Clinic, error)
	// UpdateClinic saves c's settings (by ID) and sets UpdatedAt. ENOTFOUND.
	UpdateClinic(ctx context.Context, c *Clinic) error
}

// ProtocolStore keeps versioned protocols. The store does not parse YAML: it
// returns what was saved, and templates.Parse turns Protocol.YAML into steps.
type ProtocolStore interface {
	// SaveProtocol stores p as the next version of (p.ClinicID, p.Slug) and
	// sets ID, Version and CreatedAt. Name, Source, Languages, YAML and
	// SHA256 are stored as given; Steps are not stored (they live in YAML).
	SaveProtocol(ctx context.Context, p *Protocol) error
	// FindProtocol returns one version of a slug, the latest for version 0.
	// ENOTFOUND when there is none.
	FindProtocol(ctx context.Context, clinicID int64, slug string, version int) (*Protocol, error)
	// FindProtocolByID returns a protocol version by id. ENOTFOUND.
	FindProtocolByID(ctx context.Context, clinicID, id int64) (*Protocol, error)
	// ListProtocols returns the latest version of each slug, ordered by slug.
	ListProtocols(ctx context.Context, clinicID int64) ([]*Protocol, error)
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

// EnrollmentStore keeps patients, enrollments and their planned messages.
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
	// FindPatient returns a patient. ENOTFOUND.
	FindPatient(ctx context.Context, clinicID, id int64) (*Patient, error)
	// FindPatientByMatchKey returns the patient with that MatchKey. ENOTFOUND.
	FindPatientByMatchKey(ctx context.Context, clinicID int64, key string) (*Patient, error)
	// FindPatientsByMatchKey returns the patients whose MatchKey is one of
	// keys, by MatchKey; keys of no patient are absent from the map.
	FindPatientsByMatchKey(ctx context.Context, clinicID int64, keys []string) (map[string]*Patient, error)
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
}

// MessageFilter selects messages for ListMessages. Zero fields do not filter.
type MessageFilter struct {
	ClinicID     int64 // required
	EnrollmentID int64
	PatientID    int64
	Statuses     []Status
	Channel      Channel
	ProtocolSlug string
	Since, Until time.Time // SendAt in [Since, Until)
	// Keyset pagination: rows strictly after (AfterSendAt, AfterID) in
	// (SendAt, ID) order.
	AfterSendAt time.Time
	AfterID     int64
	Limit       int // 0: no limit
}

// MessageStore reads and moves messages.
type MessageStore interface {
	// ListMessages returns the messages matching f ordered by SendAt, ID.
	//
	// With f.EnrollmentID or f.PatientID, every message of that enrollment
	// or patient. Without (the clinic's delivery log), a store may leave
	// out pending messages that have never been tried and are due a day
	// or more after its latest ClaimDue's now: it need not keep an
	// index of the weeks of reminders it has planned ahead (store/sqlite
	// keeps them on their enrollments until they come near, see its
	// Horizon). Every other message is listed.
	ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
}
