package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Summaries emails each clinic's manager the daily summary of the clinic's
// previous local day, at the clinic's SummaryAt in its zone (see
// aftercare.SummaryStore and summarytext.go for what it says).
//
// A day's summary goes out at most once, however many serves share the
// database and however often they restart: the ledger's row of the
// (clinic, day) is claimed in its own transaction before the email is
// sent, like a message. It is sent on the day after the one it reports,
// from SummaryAt until midnight: a summary that no serve could send that
// day (none was running) is never sent later; it is recorded as skipped.
// A time that passed before the clinic's settings last changed is not
// owed: the first summary comes at the next SummaryAt.
// A serve that dies between the claim and the outcome leaves a row with
// neither, shown as "outcome unknown": it is not sent again. A try that
// reached nobody and may succeed later (the mail server unreachable, or a
// 4xx) is tried again every aftercare.SummaryRetryAfter until midnight.
type Summaries struct {
	Store aftercare.Store
	// Mail sends the email (the SMTP sender, the path the red-flag alerts
	// take). Nil when no SMTP server is configured: the summary is then
	// recorded as not sent, with the reason, and the settings page says so.
	Mail aftercare.Sender
	// PublicURL is AFTERCARE_PUBLIC_URL without its trailing slash: the
	// email links to the log, attention and inbox pages under it; "" for
	// no links (one to this machine would not open on the manager's phone).
	PublicURL string
	Now       func() time.Time
	Logger    *slog.Logger
}

// NoMailReason is the ledger's error of a summary not sent because no
// SMTP server is configured.
const NoMailReason = "not sent: no SMTP server is configured (set SMTP_HOST and SMTP_FROM); summaries are not written to the outbox"

// missedLookback is how many days before yesterday a tick looks at to
// record summaries no serve sent as skipped.
const missedLookback = 7

// Job is the summary check for Jobs: cmd's serve runs it every minute.
// A tick before any clinic's time reads the clinic list and nothing else.
func (s *Summaries) Job(spec string) Job {
	return Job{Name: "summary", Spec: spec, Run: func(ctx context.Context) error {
		_, err := s.Run(ctx)
		return err
	}}
}

// Run sends the summaries that are due now and not yet claimed, and
// returns how many it claimed. A clinic that fails does not stop the
// others; the errors are joined.
func (s *Summaries) Run(ctx context.Context) (int, error) {
	clinics, err := s.Store.ListClinics(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now()
	n := 0
	var errs []error
	for _, c := range clinics {
		ok, err := s.runClinic(ctx, c, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("daily summary of clinic %s: %w", c.Slug, err))
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(errs...)
}

func (s *Summaries) now() time.Time {
	if s.Now == nil {
		return time.Now().UTC()
	}
	return s.Now().UTC()
}

func (s *Summaries) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// SummaryDay is one local day of a clinic: its date and the instants it
// starts and ends (23 or 25 hours apart on a DST day).
type SummaryDay struct {
	Day          string // YYYY-MM-DD
	Date         time.Time
	Since, Until time.Time // UTC
}

// LocalDay returns the clinic's local day of date (only its year, month
// and day are read) in loc.
func LocalDay(loc *time.Location, date time.Time) SummaryDay {
	y, m, d := date.Date()
	since, _ := aftercare.WallTime(loc, y, m, d, 0, 0)
	until, _ := aftercare.WallTime(loc, y, m, d+1, 0, 0)
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return SummaryDay{Day: day.Format(time.DateOnly), Date: day, Since: since.UTC(), Until: until.UTC()}
}

// summaryDue returns the instant the summary is due on the local day of
// date: SummaryAt on that day, or the first minute after it when the
// clocks skip it.
func summaryDue(c *aftercare.Clinic, loc *time.Location, date time.Time) time.Time {
	y, m, d := date.Date()
	due, _ := aftercare.WallTime(loc, y, m, d, c.SummaryAt.Hour(), c.SummaryAt.Minute())
	return due
}

// runClinic sends the clinic's summary of yesterday if it is due and no
// serve claimed it; claimed reports whether this call did.
func (s *Summaries) runClinic(ctx context.Context, c *aftercare.Clinic, now time.Time) (claimed bool, err error) {
	if !c.SummaryEnabled() {
		return false, nil
	}
	loc, err := aftercare.LoadZone(c.TZ)
	if err != nil {
		return false, err
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	// Not yet; or today's time passed before the clinic's settings last
	// changed (the first summary comes at the next time, not at once).
	if due := summaryDue(c, loc, today); now.Before(due) || due.Before(c.UpdatedAt) {
		return false, nil
	}
	day := LocalDay(loc, today.AddDate(0, 0, -1))
	ledger, err := s.Store.ListSummaries(ctx, c.ID, missedLookback+1)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, r := range ledger {
		seen[r.Day] = r.Day != day.Day || !r.Retryable(now)
	}
	if seen[day.Day] {
		return false, nil
	}
	if err := s.recordMissed(ctx, c, loc, today, seen, now); err != nil {
		return false, err
	}
	if ok, err := s.Store.ClaimSummary(ctx, c.ID, day.Day, now); err != nil || !ok {
		return false, err
	}
	sentAt, why := s.send(ctx, c, loc, day, now)
	if err := s.Store.FinishSummary(context.WithoutCancel(ctx), c.ID, day.Day, sentAt, why); err != nil {
		return true, err
	}
	if why != "" {
		s.logger().Warn("daily summary not sent", "clinic", c.Slug, "day", day.Day, "why", why)
	} else {
		s.logger().Info("daily summary sent", "clinic", c.Slug, "day", day.Day, "to", maskAll(c.SummaryRecipients()))
	}
	return true, nil
}

// recordMissed records as skipped the summaries of the days before
// yesterday that were due while the clinic had its present settings and
// that no serve sent (no row): their day passed with none running. A day
// due before the clinic's last change is left alone: its summary may not
// have been asked for.
func (s *Summaries) recordMissed(ctx context.Context, c *aftercare.Clinic, loc *time.Location, today time.Time, seen map[string]bool, now time.Time) error {
	for k := 2; k <= missedLookback+1; k++ {
		day := LocalDay(loc, today.AddDate(0, 0, -k))
		sendDay := today.AddDate(0, 0, -k+1)
		due := summaryDue(c, loc, sendDay)
		if seen[day.Day] || due.Before(c.UpdatedAt) {
			return nil
		}
		ok, err := s.Store.ClaimSummary(ctx, c.ID, day.Day, now)
		if err != nil || !ok {
			return err
		}
		why := fmt.Sprintf("skipped: not sent on %s, the day it was due (no serve was running from %s to midnight); a summary is never sent a day late",
			sendDay.Format("Mon 2 Jan"), c.SummaryAt)
		if err := s.Store.FinishSummary(ctx, c.ID, day.Day, time.Time{}, why); err != nil {
			return err
		}
	}
	return nil
}

// send emails the summary to each address and returns when the last went,
// or why it did not: the first failure, naming the addresses it missed.
func (s *Summaries) send(ctx context.Context, c *aftercare.Clinic, loc *time.Location, day SummaryDay, now time.Time) (time.Time, string) {
	if s.Mail == nil {
		return time.Time{}, NoMailReason
	}
	subject, body, err := s.compose(ctx, c, loc, day)
	if err != nil {
		return time.Time{}, "not sent: " + err.Error()
	}
	// Claimed means owed: a serve stopping now still sends it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var missed []string
	var first error
	transient := true
	for _, to := range c.SummaryRecipients() {
		_, err := s.Mail.Send(ctx, &aftercare.Outgoing{ClinicID: c.ID, Channel: aftercare.Email, To: to, Subject: subject, Body: body,
			Lang: "en", From: c.EmailFrom, ClinicName: c.Name, ClinicPhone: c.Phone, ExpiresAt: now.Add(time.Hour), Attempt: 1})
		if err != nil {
			missed = append(missed, aftercare.MaskEmail(to))
			if first == nil {
				first = err
			}
			var se *aftercare.SendError
			transient = transient && errors.As(err, &se) && se.Kind == aftercare.Transient
		}
	}
	switch {
	case first == nil:
		return s.now(), ""
	case len(missed) == len(c.SummaryRecipients()) && transient:
		// Nobody got it and nothing may have gone: try again later today.
		return time.Time{}, aftercare.SummaryRetry + first.Error()
	case len(missed) == len(c.SummaryRecipients()):
		return time.Time{}, "not sent: " + first.Error()
	}
	return s.now(), fmt.Sprintf("not sent to %s: %v", strings.Join(missed, ", "), first)
}

// compose counts the day and writes the summary.
func (s *Summaries) compose(ctx context.Context, c *aftercare.Clinic, loc *time.Location, day SummaryDay) (subject, body string, err error) {
	counts, err := s.Store.CountDay(ctx, c.ID, day.Since, day.Until)
	if err != nil {
		return "", "", fmt.Errorf("counting the day failed: %w", err)
	}
	waiting, err := s.Store.CountUnread(ctx, c.ID)
	if err != nil {
		return "", "", fmt.Errorf("counting the inbox failed: %w", err)
	}
	subject, body = SummaryText(c, loc, day, counts, waiting, s.PublicURL)
	return subject, body, nil
}

// Preview returns the summary of the clinic's local day (YYYY-MM-DD; ""
// for yesterday) as it would be emailed now, sending and recording
// nothing. EINVALID for a day that is not a date or has not ended.
func (s *Summaries) Preview(ctx context.Context, c *aftercare.Clinic, date string) (day SummaryDay, subject, body string, err error) {
	loc, err := aftercare.LoadZone(c.TZ)
	if err != nil {
		return day, "", "", err
	}
	local := s.now().In(loc)
	d := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, time.UTC)
	if date != "" {
		if err := aftercare.ValidateDay(date); err != nil {
			return day, "", "", err
		}
		d, _ = time.Parse(time.DateOnly, date)
	}
	day = LocalDay(loc, d)
	if day.Until.After(s.now()) {
		return day, "", "", aftercare.FieldErrorf("day", "%s has not ended yet in %s: a summary is of a whole day (yesterday is %s)",
			day.Day, loc, local.AddDate(0, 0, -1).Format(time.DateOnly))
	}
	subject, body, err = s.compose(ctx, c, loc, day)
	return day, subject, body, err
}

func maskAll(addrs []string) string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = aftercare.MaskEmail(a)
	}
	return strings.Join(out, ", ")
}
