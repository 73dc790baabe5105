package aftercare

import (
	"context"
	"time"
)

// ReplyKind is what a patient's text message was, once read.
type ReplyKind string

// The reply kinds. A red-flag reply is a text that names a warning sign; it
// is also marked Reply.RedFlag (a STOP naming one is still a STOP).
const (
	ReplyText    ReplyKind = "text"
	ReplyStop    ReplyKind = "stop"
	ReplyStart   ReplyKind = "start"
	ReplyHelp    ReplyKind = "help"
	ReplyRedFlag ReplyKind = "red-flag"
)

// The step keys of the texts Aftercare sends in answer to a reply. They are
// messages like any other (the log shows them), kept on the patient's
// latest enrollment; their Occurrence counts them.
const (
	StepReplyStop    = "reply:stop"     // the opt-out confirmation: sent though the patient just opted out
	StepReplyStart   = "reply:start"    // the opt-in confirmation
	StepReplyHelp    = "reply:help"     // the answer to HELP or INFO
	StepReplyAuto    = "reply:auto"     // the once-a-day automatic answer
	StepReplyRedFlag = "reply:red-flag" // "call the clinic now", at any hour
	StepReplyStaff   = "reply:staff"    // a staff member's answer
)

// Reply is one text message a patient (or anyone) sent to a clinic's number.
type Reply struct {
	ID        int64
	ClinicID  int64
	PatientID int64 // 0 when no patient of the clinic has the sender's number
	// EnrollmentID and MessageID are the patient's latest SMS sent before
	// the reply arrived: what it answers (0 when none).
	EnrollmentID int64
	MessageID    int64
	From         string // E.164 of the sender
	To           string // the clinic's number (or Messaging Service SID) it was sent to
	Body         string
	ProviderID   string // Twilio's MessageSid; unique: a replayed webhook adds nothing
	ReceivedAt   time.Time
	Kind         ReplyKind
	RedFlag      bool
	RedFlagWords string // the warning words found, comma-separated
	ReadAt       time.Time
	ReadBy       int64 // the staff user who marked it read
	AutoAnswered bool  // Aftercare answered it (HELP, STOP, the daily answer, red flag)

	// Read from other rows, never written: the patient's name and the step
	// of the message answered.
	PatientName string
	StepKey     string
}

// ReplyFilter selects replies for ListReplies. Zero fields do not filter.
type ReplyFilter struct {
	ClinicID  int64 // required
	PatientID int64
	Unread    bool
	Limit     int // 0: no limit
}

// ReplyMatch is who a reply came from: the patient of the clinic with that
// number and the SMS of theirs it answers.
type ReplyMatch struct {
	PatientID    int64
	EnrollmentID int64 // the patient's latest enrollment when no SMS was sent yet
	MessageID    int64 // 0 when no SMS was sent before the reply
}

// InboxStore keeps patients' replies and the texts sent in answer. Every
// method is scoped to one clinic except ReplySeen, which asks about a
// provider id (Twilio's SIDs are unique across accounts).
type InboxStore interface {
	// AddReply stores r and sets its ID. created is false, and nothing is
	// written, when a reply with r.ProviderID is stored already (a replayed
	// or retried webhook). EINVALID without a clinic, sender or provider id.
	AddReply(ctx context.Context, r *Reply) (created bool, err error)
	// ReplySeen reports whether a reply with that provider id is stored.
	ReplySeen(ctx context.Context, providerID string) (bool, error)
	// FindReply returns a reply. ENOTFOUND.
	FindReply(ctx context.Context, clinicID, id int64) (*Reply, error)
	// ListReplies returns the clinic's replies: unread red flags first,
	// then newest first.
	ListReplies(ctx context.Context, f ReplyFilter) ([]*Reply, error)
	// CountUnread counts the clinic's unread replies.
	CountUnread(ctx context.Context, clinicID int64) (int, error)
	// MarkRead marks a reply read by userID at at (the first time only).
	// ENOTFOUND.
	MarkRead(ctx context.Context, clinicID, id, userID int64, at time.Time) error
	// SetAutoAnswered records that Aftercare answered the reply. ENOTFOUND.
	SetAutoAnswered(ctx context.Context, clinicID, id int64) error
	// MatchReply finds the clinic's patient with phone: among several (a
	// shared phone), the one most recently texted before before. ENOTFOUND
	// when no patient of the clinic has that number.
	MatchReply(ctx context.Context, clinicID int64, phone string, before time.Time) (*ReplyMatch, error)
	// AddReplyMessage stores m, an SMS in answer to a reply, on
	// m.EnrollmentID with the next free Occurrence of m.StepKey, and sets
	// ID, Occurrence and times. With owner set it is stored sending,
	// claimed by owner with one attempt (the caller sends it now and
	// records the outcome); otherwise pending at m.SendAt for the
	// dispatcher. ENOTFOUND when the clinic has no such enrollment.
	AddReplyMessage(ctx context.Context, m *Message, owner string) error
	// CountAnswers counts the patient's messages with one of stepKeys
	// planned at or after since, whatever their state.
	CountAnswers(ctx context.Context, clinicID, patientID int64, stepKeys []string, since time.Time) (int, error)
}
