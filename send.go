package aftercare

import (
	"context"
	"fmt"
	"time"
)

// Outgoing is one message handed to a sender: everything a provider needs,
// nothing it does not.
type Outgoing struct {
	MessageID int64
	ClinicID  int64
	Channel   Channel
	To        string // E.164 number or email address
	ToName    string // the patient's name, for the email To header
	Subject   string // email only
	Lang      string // the language code of Subject and Body, e.g. "es"
	Body      string // SMS text, or the plain-text email body
	// From is the clinic's own sender (Clinic.SMSFrom or EmailFrom); empty
	// uses the sender's configured one.
	From        string
	ClinicName  string // the email From display name and the footer
	ClinicPhone string
	ExpiresAt   time.Time // providers that support it drop the message after this
	Attempt     int       // 1 for the first attempt
	// UnsubscribeURL is the patient's one-click unsubscribe link (email
	// only): the sender puts it in List-Unsubscribe and the footer. Empty
	// when the dispatcher has no links to make.
	UnsubscribeURL string
	// Calendar, when set, is an RFC 5545 calendar of the enrollment's
	// timeline, attached to the email as aftercare.ics (the first email of
	// an enrollment only).
	Calendar []byte

	// PageURL, when set, is the patient's own page (/p/TOKEN): email
	// senders add it to the plain and HTML parts. SMS carry it in Body.
	PageURL string
}

// Receipt is a provider's acceptance of a message.
type Receipt struct {
	Sender         string // "twilio", "smtp", "outbox"
	ProviderID     string // Twilio's Message SID, the email's Message-ID
	ProviderStatus string // what the provider said, e.g. "queued", "250 2.0.0 OK"
	// Final, when set, is the state the message ends in at once (the outbox
	// uses StatusUndelivered: it was written down, not delivered to anyone).
	Final Status
}

// FailureKind classifies a failed send, which decides what happens next.
type FailureKind int

// The failure kinds.
const (
	// Transient: the provider did not take the message (HTTP 429, Twilio
	// 20429, connection refused before the request went out, SMTP 4xx).
	// Safe to retry with backoff until the message expires.
	Transient FailureKind = iota + 1
	// Permanent: the provider refused the message for good (Twilio 21211,
	// 21614, 30006, 21610; SMTP 5xx). Not retried.
	Permanent
	// Ambiguous: the request went out and no clear answer came back (HTTP
	// 5xx, a timeout, a dropped connection after the data was sent). The
	// message may have been sent: reconcile, never resend blindly.
	Ambiguous
)

func (k FailureKind) String() string {
	switch k {
	case Transient:
		return "transient"
	case Permanent:
		return "permanent"
	case Ambiguous:
		return "ambiguous"
	}
	return "unknown"
}

// SendError is a classified provider failure. Senders return it (or wrap
// it); any other error from a sender is treated as Ambiguous.
type SendError struct {
	Kind       FailureKind
	Code       string        // the provider's code: "21211", "550", "429"
	Message    string        // the provider's text
	RetryAfter time.Duration // a provider's Retry-After, when given
	// OptOut is set when the provider says the recipient opted out (Twilio
	// 21610): the patient is marked opted out of the channel.
	OptOut bool
}

func (e *SendError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("%s failure %s: %s", e.Kind, e.Code, e.Message)
	}
	return fmt.Sprintf("%s failure: %s", e.Kind, e.Message)
}

// Sender hands one message to a provider. It returns a Receipt when the
// provider accepted it, and otherwise an error: a *SendError (or one
// wrapping it) says whether the failure is transient, permanent or
// ambiguous; any other error counts as ambiguous (the message may have gone).
// Send must honour ctx: when it is cancelled, give up and say so.
//
// The dispatcher (scheduler/dispatch) is what calls it; the contract lives
// here, beside Outgoing and Receipt, so that the senders in notify/*
// implement it with nothing but the domain imported.
type Sender interface {
	Send(ctx context.Context, m *Outgoing) (Receipt, error)
}

// Reconciler is implemented by senders that can look a message up after an
// ambiguous outcome or a crash. Lookup reports the provider's record of m if
// one was made since the given time (found false when the provider has none).
type Reconciler interface {
	Lookup(ctx context.Context, m *Outgoing, since time.Time) (r Receipt, found bool, err error)
}
