package aftercare

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Status is where a message is in its life.
type Status string

// The message states.
const (
	StatusPending     Status = "pending"     // waiting for its time
	StatusSending     Status = "sending"     // claimed by a dispatcher; the provider is being called
	StatusSent        Status = "sent"        // accepted by the provider
	StatusDelivered   Status = "delivered"   // the provider reports delivery to the handset or mailbox
	StatusUndelivered Status = "undelivered" // the provider reports it could not be delivered
	StatusFailed      Status = "failed"      // refused permanently; not retried
	StatusUnknown     Status = "unknown"     // outcome not known after a crash or an ambiguous answer: never resent automatically
	StatusSkipped     Status = "skipped"     // not sent on purpose (its time had passed at enrollment, no consent)
	StatusExpired     Status = "expired"     // could not be sent before it went stale
	StatusCancelled   Status = "cancelled"   // the enrollment was cancelled or rescheduled
)

// Statuses lists every state, in lifecycle order.
var Statuses = []Status{StatusPending, StatusSending, StatusSent, StatusDelivered, StatusUndelivered,
	StatusFailed, StatusUnknown, StatusSkipped, StatusExpired, StatusCancelled}

// ParseStatus reads a state name.
func ParseStatus(s string) (Status, error) {
	for _, x := range Statuses {
		if string(x) == s {
			return x, nil
		}
	}
	return "", FieldErrorf("status", "unknown status %q: use one of %v", s, Statuses)
}

// Valid reports whether s is one of the message states (Statuses).
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Final reports whether nothing more will happen to a message in this state
// without a person's action or a provider's callback.
func (s Status) Final() bool {
	switch s {
	case StatusPending, StatusSending:
		return false
	}
	return true
}

// rank orders the states a provider can report, so that duplicate and
// out-of-order status callbacks never move a message backwards.
func (s Status) rank() int {
	switch s {
	case StatusPending:
		return 0
	case StatusSending:
		return 1
	case StatusUnknown:
		return 2
	case StatusSent:
		return 3
	case StatusDelivered, StatusUndelivered, StatusFailed:
		return 4
	}
	return -1
}

// CanAdvance reports whether a provider report of state to may replace from:
// only forward along sending/unknown -> sent -> delivered|undelivered|failed.
// Skipped, expired and cancelled messages were never handed to a provider and
// do not move.
func CanAdvance(from, to Status) bool {
	f, t := from.rank(), to.rank()
	return f >= 0 && t >= 0 && t > f
}

// Message is one step occurrence on one channel for one enrollment. The text
// is rendered when the message is planned, so what is sent is what the front
// desk previewed.
type Message struct {
	ID           int64
	ClinicID     int64
	EnrollmentID int64
	PatientID    int64
	StepKey      string
	Occurrence   int // 0 for one-off steps; 0..n-1 for a recurrence
	Channel      Channel
	Lang         string
	Status       Status
	SendAt       time.Time // when it is due, UTC
	ExpiresAt    time.Time // not sent after this
	Note         string    // why the time moved, or why it was skipped
	Subject      string    // email only
	Body         string
	Segments     int // SMS segments of Body

	Attempts      int
	NextAttemptAt time.Time // when the dispatcher may try next (SendAt, then backoff)
	ClaimedAt     time.Time
	ClaimedBy     string
	SentAt        time.Time
	DeliveredAt   time.Time
	Sender        string
	ProviderID    string
	ProviderState string
	ErrorCode     string
	Error         string

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Ident is the message's natural key within its enrollment.
func (m *Message) Ident() string {
	return fmt.Sprintf("%s#%d/%s", m.StepKey, m.Occurrence, m.Channel)
}

// Attempt is one call to a provider for one message, kept for the delivery
// log whatever its outcome.
type Attempt struct {
	ID         int64
	ClinicID   int64
	MessageID  int64
	Number     int // 1 for the first attempt
	At         time.Time
	Channel    Channel
	Sender     string // "twilio", "smtp", "outbox"
	ProviderID string
	// ProviderStatus is what the provider said (Twilio's status, an SMTP reply).
	ProviderStatus string
	ErrorCode      string
	Error          string
	Latency        time.Duration
	Outcome        Status // the state the message moved to
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

// MessageStore reads messages, the delivery log. Messages are written by
// EnrollmentStore (planned), DispatchStore (sent, with their attempts) and
// InboxStore (answers to replies).
type MessageStore interface {
	// ListMessages returns the messages matching f ordered by SendAt, ID.
	//
	// With f.EnrollmentID or f.PatientID, every message of that enrollment
	// or patient. Without (the clinic's delivery log), a store may leave
	// out pending messages that have never been tried and are due a day
	// or more after its latest ClaimDue's now: it need not keep an
	// index of the weeks of reminders it has planned ahead (both stores
	// keep them on their enrollments until they come near, see
	// store/internal/plan's Horizon). Every other message is listed.
	ListMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
}
