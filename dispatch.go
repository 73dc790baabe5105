package aftercare

import (
	"context"
	"time"
)

// Claimed is a message a dispatcher has claimed, with what a sender needs.
type Claimed struct {
	Message *Message
	Patient *Patient // Name, Phone, Email, consents, opt-outs
	Clinic  *Clinic  // Name, Phone, EmailFallback
	// FirstSMS reports that no SMS of the message's enrollment has reached
	// a provider before this one (none sending, sent, delivered or unknown;
	// none earlier in the same claim): it must carry the opt-out notice.
	FirstSMS bool
	// FirstEmail is the same for email: the first email of its enrollment
	// to reach a provider carries the timeline as a calendar.
	FirstEmail bool
}

// Outcome is the result of one attempt, recorded with the attempt in one
// transaction.
type Outcome struct {
	MessageID int64
	ClinicID  int64
	ClaimedBy string // fencing: only the claimant may record
	Attempt   Attempt
	// Status is where the message goes: sent, delivered, undelivered,
	// failed, unknown, expired, or pending again (a retry at NextAttemptAt).
	Status        Status
	NextAttemptAt time.Time
	SentAt        time.Time
	Sender        string
	ProviderID    string
	ProviderState string
	ErrorCode     string
	Error         string
	// Body, when set, is the text actually handed to the provider when it
	// differs from the planned one (the opt-out notice added); the message
	// keeps it, with Segments, so the log shows what the patient got.
	Body     string
	Segments int
	// OptOut marks the patient opted out of the message's channel (Twilio 21610).
	OptOut bool
	// Fallback, when set, is inserted as a new pending message (the email
	// version of an SMS that failed permanently).
	Fallback *Message
}

// UnknownPage selects a page of unknown messages (DispatchStore.ListUnknown).
type UnknownPage struct {
	Since time.Time // claimed at or after
	After *Message  // the last message of the previous page, nil for the first
	Limit int
}

// DayStat is one row of `aftercare stats`: messages due on a day (in the
// clinic's zone) in a state.
type DayStat struct {
	Day    string // YYYY-MM-DD, a day in the zone DailyStats was given
	Status Status
	Count  int
}

// MessageCount is how many of a clinic's messages are in a state on a
// channel (the metrics' gauges).
type MessageCount struct {
	ClinicID int64
	Status   Status
	Channel  Channel
	Count    int
	// Due is how many of them are pending with NextAttemptAt at or before
	// the now asked: the backlog waiting for a dispatcher.
	Due int
}

// DispatchStore is what the dispatcher, the reconciler and the status
// webhook need. Its claim is correct when several processes share one
// database: a message is claimed by exactly one of them.
type DispatchStore interface {
	// ClaimDue claims up to limit messages that are pending with
	// NextAttemptAt <= now, oldest first, for owner: in one committed
	// transaction they become sending with ClaimedBy=owner, ClaimedAt=now and
	// Attempts+1. In the same transaction, due messages that must not go
	// are settled instead of claimed: enrollment cancelled -> cancelled;
	// consent missing or opted out -> skipped (Note says why); ExpiresAt <=
	// now -> expired. Each SMS and email claim says whether it is the first
	// of its enrollment on its channel to reach a provider
	// (Claimed.FirstSMS, FirstEmail).
	ClaimDue(ctx context.Context, now time.Time, owner string, limit int) ([]*Claimed, error)
	// RecordOutcome stores o.Attempt and moves the message to o.Status, in
	// one transaction, if and only if it is still sending and claimed by
	// o.ClaimedBy (ECONFLICT otherwise: someone else settled it). A status
	// report kept for o.ProviderID (see ApplyProviderStatus) is applied in
	// the same transaction.
	RecordOutcome(ctx context.Context, o *Outcome) error
	// Release puts messages claimed by owner and not yet sent back to
	// pending (graceful shutdown), undoing the attempt count.
	Release(ctx context.Context, owner string, ids []int64) error
	// RenewLease makes owner's lease on its claims (its sending messages)
	// last until until, as of now; a lease that lapsed is taken again (its
	// claims taken over meanwhile stay taken over: unknown). A dispatcher
	// renews its lease before it claims and every third of the lease while
	// it runs. EINVALID for an empty owner or until not after now.
	RenewLease(ctx context.Context, owner string, now, until time.Time) error
	// EndLease ends owner's lease at now (graceful shutdown, after Release):
	// whatever it still has claimed can be taken over at once.
	EndLease(ctx context.Context, owner string, now time.Time) error
	// MarkUnknown takes over abandoned claims: sending messages whose
	// owner's lease expired at or before now, or whose owner holds no lease
	// (claims made before leases existed) and that were claimed before
	// orphanCutoff. They become unknown, with an attempt saying why, and are
	// returned; lapsed leases are forgotten. A message whose outcome is
	// unknown is never sent again automatically, and its former owner can
	// no longer record an outcome for it (RecordOutcome: ECONFLICT).
	MarkUnknown(ctx context.Context, now, orphanCutoff time.Time) ([]*Message, error)
	// ListUnknown returns a page of unknown messages with their patients,
	// for the reconciler: those claimed at or after q.Since, after the
	// message q.After (the last of the previous page; nil for the first),
	// oldest claim first, at most q.Limit.
	ListUnknown(ctx context.Context, q UnknownPage) ([]*Claimed, error)
	// GiveUpUnknown notes on unknown messages claimed before cutoff that the
	// reconciler stopped looking them up (note), once per message, and
	// returns how many it noted. They stay unknown.
	GiveUpUnknown(ctx context.Context, cutoff time.Time, note string) (int, error)
	// Resolve settles an unknown message the provider knows about: it
	// becomes sent (or what the provider says) with the provider id, and the
	// resolution is recorded as an attempt. A status report kept for that
	// provider id is applied in the same transaction.
	Resolve(ctx context.Context, messageID int64, a Attempt, status Status, providerID string) error
	// ApplyProviderStatus applies a provider's status report (a Twilio
	// status callback) to the message with that provider id, only forward
	// (CanAdvance): duplicates and out-of-order reports change nothing.
	// It reports whether the message moved. A report for a provider id that
	// no message has yet (the callback came before RecordOutcome or Resolve
	// stored the id) is kept, the most advanced one per id, and applied
	// forward only by the RecordOutcome or Resolve that stores that id;
	// moved is false then. Kept reports that never find their message are
	// dropped after a while (a week for store/sqlite). EINVALID for an empty
	// id or an unknown status.
	ApplyProviderStatus(ctx context.Context, providerID string, status Status, errorCode string, at time.Time) (bool, error)
	// ListAttempts returns a message's attempts, oldest first.
	ListAttempts(ctx context.Context, clinicID, messageID int64) ([]*Attempt, error)
	// DailyStats counts a clinic's messages per SendAt day in loc (the
	// clinic's zone; nil is UTC) and state, for SendAt in [since, until)
	// (zero times leave a side open; DayRange makes the interval of typed
	// days). Every message is counted, also the pending ones planned far
	// ahead that ListMessages' clinic-wide log does not list yet. Rows are
	// in (Day, Status) order.
	DailyStats(ctx context.Context, clinicID int64, since, until time.Time, loc *time.Location) ([]DayStat, error)
	// CountMessages counts every clinic's messages per state and channel,
	// and the pending ones due at now: the messages ListMessages lists for
	// the clinics' logs (pending ones far ahead may not be counted yet).
	// Groups without messages are left out; the order is unspecified.
	// /metrics calls it at scrape time (cached for seconds), so it must
	// not hold up writers.
	CountMessages(ctx context.Context, now time.Time) ([]MessageCount, error)
}
