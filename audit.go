package aftercare

import (
	"context"
	"time"
)

// Actor is who does a staff action: a signed-in user, an API token, the
// command line, or the server itself. It travels in the request's context
// (WithActor) from the edge that knows it (web's authentication, the
// command line) to the code that records the action (scheduler.Service),
// so that no method needs an extra parameter to say who called it.
type Actor struct {
	UserID int64  // the staff user, 0 for an API token, the command line or the server
	Label  string // "web:ana@clinic.example", "api:EHR integration", "cli", "system"
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries, or the server itself ("system")
// when it carries none (a cron job).
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok && a.Label != "" {
		return a
	}
	return Actor{Label: "system"}
}

// The audited actions.
const (
	AuditEnroll         = "enroll"
	AuditImport         = "import"
	AuditCancel         = "cancel"
	AuditReschedule     = "reschedule"
	AuditPatientUpdate  = "patient.update"
	AuditConsent        = "consent"
	AuditClinicUpdate   = "clinic.update"
	AuditProtocolImport = "protocol.import"
	AuditUserAdd        = "user.add"
	AuditUserChange     = "user.change"
	AuditTokenCreate    = "token.create"
	AuditTokenRevoke    = "token.revoke"
	AuditExport         = "export"
	AuditPurge          = "purge"
)

// AuditEntry is one staff action or consent change, kept for the clinic's
// manager. Detail is short and never holds a message's text.
type AuditEntry struct {
	ID       int64
	ClinicID int64
	UserID   int64  // the staff user, 0 for the command line, a token or the server
	Actor    string // who, for people: "web:ana@clinic.example", "cli", "sms:STOP"
	Action   string // one of the Audit* constants
	Subject  string // what it acted on: "enrollment 12", "patient 7", "clinic main"
	Detail   string
	At       time.Time
}

// AuditFilter selects audit entries. Zero fields do not filter.
type AuditFilter struct {
	ClinicID     int64     // required
	Since, Until time.Time // At in [Since, Until)
	// Keyset pagination, newest first: entries strictly before
	// (BeforeAt, BeforeID) in (At, ID) order.
	BeforeAt time.Time
	BeforeID int64
	Limit    int // 0: the store's default page
}

// AuditStore keeps the audit log. Entries are never changed or deleted.
type AuditStore interface {
	// RecordAudit stores e and sets its ID (and At, when zero, to now).
	// EINVALID without a clinic, an actor or an action.
	RecordAudit(ctx context.Context, e *AuditEntry) error
	// ListAudit returns the clinic's entries matching f, newest first.
	// EINVALID without a clinic or for a negative limit.
	ListAudit(ctx context.Context, f AuditFilter) ([]*AuditEntry, error)
}
