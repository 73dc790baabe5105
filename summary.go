package aftercare

import (
	"context"
	"strings"
	"time"
)

// The manager's daily summary: at a clinic-set local time (Clinic.SummaryAt,
// in the clinic's zone) the addresses in Clinic.SummaryTo get one email of
// the clinic's previous local day: counts and reasons, never a patient's
// name, number or words. No address (the default) is no summary.

// DefaultSummaryAt is the summary time of a new clinic: set only an
// address (`clinic set --summary-to`) and the summary comes at 07:00.
const DefaultSummaryAt = Clock(7 * 60)

// MaxSummaryTo is how many addresses may get a clinic's summary.
const MaxSummaryTo = 10

// SummaryEnabled reports whether the clinic gets a daily summary: it does
// when SummaryTo names someone (off, the default, is no address).
func (c *Clinic) SummaryEnabled() bool { return strings.TrimSpace(c.SummaryTo) != "" }

// SummaryRecipients returns the addresses in SummaryTo.
func (c *Clinic) SummaryRecipients() []string {
	var out []string
	for _, a := range strings.Split(c.SummaryTo, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// validateSummary checks SummaryAt and SummaryTo (EINVALID naming the
// field): a time of day, and none or one to MaxSummaryTo bare, lower-case
// addresses written "a@x.example, b@y.example".
func (c *Clinic) validateSummary() error {
	if c.SummaryAt < 0 || c.SummaryAt >= 24*60 {
		return FieldErrorf("summary_at", "the summary time must be a time of day, 00:00 to 23:59, got %d minutes", int(c.SummaryAt))
	}
	to := c.SummaryRecipients()
	if len(to) > MaxSummaryTo {
		return FieldErrorf("summary_to", "the summary goes to at most %d addresses, got %d: use a shared mailbox", MaxSummaryTo, len(to))
	}
	for _, a := range to {
		addr, err := NormalizeEmail(a)
		if err != nil || addr != a {
			return FieldErrorf("summary_to", "%q is not a bare, lower-case email address such as manager@clinic.example.com", a)
		}
	}
	if strings.Join(to, ", ") != c.SummaryTo {
		return FieldErrorf("summary_to", "write the summary's addresses as \"a@clinic.example, b@clinic.example\", got %q", c.SummaryTo)
	}
	return nil
}

// ValidateDay checks that day is a calendar date written YYYY-MM-DD: a
// clinic's local day, not an instant. It returns EINVALID.
func ValidateDay(day string) error {
	if t, err := time.Parse(time.DateOnly, day); err != nil || t.Format(time.DateOnly) != day {
		return FieldErrorf("day", "%q is not a day: write YYYY-MM-DD, e.g. 2026-03-07", day)
	}
	return nil
}

// DayCounts are what happened in a clinic over a time range (a local day):
// the numbers of a daily summary.
type DayCounts struct {
	// Messages counts the messages due in the range (the ones the delivery
	// log lists for it), by their state when counted.
	Messages map[Status]int
	// Reasons says why the skipped and expired ones among them were not
	// sent: their note or error, most frequent first, at most 50.
	Reasons []ReasonCount
	// OptOuts counts consent withdrawn in the range (STOP, unsubscribes,
	// Twilio's 21610, staff changes), by channel.
	OptOuts map[Channel]int
	// Replies counts the texts received in the range.
	Replies int
}

// ReasonCount is how many messages ended in Status for one Reason.
type ReasonCount struct {
	Status Status
	Reason string
	Count  int
}

// SummaryRecord is the ledger's row of one clinic's summary of one day.
// It is written (claimed) once, before the email is sent, so that a day's
// summary goes out at most once whatever the number of serves.
type SummaryRecord struct {
	ClinicID  int64
	Day       string    // the clinic's local day it reports, YYYY-MM-DD
	ClaimedAt time.Time // when a serve claimed it
	// SentAt is when the mail server took it; zero with Error set when it
	// was not sent (why: no SMTP, a refusal, "skipped: ..."), and zero
	// with no Error when the serve that claimed it stopped before it
	// could record the outcome (it may have gone).
	SentAt time.Time
	Error  string
}

// SummaryRetry starts the Error of a summary that was not sent for a
// reason that may pass (the mail server was unreachable or said "try
// later", and nobody got it): ClaimSummary gives it out again once
// SummaryRetryAfter has passed since its claim, the same day.
const SummaryRetry = "will retry: "

// SummaryRetryAfter is how long a summary waits between tries.
const SummaryRetryAfter = 10 * time.Minute

// Retryable reports whether r may be claimed again at now (see
// SummaryRetry).
func (r *SummaryRecord) Retryable(now time.Time) bool {
	return r.SentAt.IsZero() && strings.HasPrefix(r.Error, SummaryRetry) && !now.Before(r.ClaimedAt.Add(SummaryRetryAfter))
}

// SummaryStore keeps the daily summaries' ledger and counts their numbers.
type SummaryStore interface {
	// CountDay counts the clinic's messages due in [since, until) by state,
	// why the skipped and expired ones were not sent, the opt-outs and the
	// replies received in it (see DayCounts). EINVALID without a clinic or
	// with an empty range.
	CountDay(ctx context.Context, clinicID int64, since, until time.Time) (*DayCounts, error)
	// ClaimSummary records, in one transaction, that the clinic's summary
	// of day is being sent, at at. claimed is false, and nothing changes,
	// when that day's summary was claimed before (by this or another
	// serve), unless it was not sent, its Error starts with SummaryRetry
	// and it was claimed SummaryRetryAfter or more before at: then it is
	// claimed again (Error emptied, ClaimedAt at), by one caller only.
	// EINVALID for a bad day; ENOTFOUND for no such clinic.
	ClaimSummary(ctx context.Context, clinicID int64, day string, at time.Time) (claimed bool, err error)
	// FinishSummary records the outcome of a claimed summary: sentAt when
	// the mail server took it, or the zero time and why not. ENOTFOUND
	// when the day was not claimed.
	FinishSummary(ctx context.Context, clinicID int64, day string, sentAt time.Time, errText string) error
	// ListSummaries returns the clinic's latest summaries, newest day
	// first, at most limit (0: 30).
	ListSummaries(ctx context.Context, clinicID int64, limit int) ([]*SummaryRecord, error)
}
