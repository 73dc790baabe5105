package web

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// The daily summary on the Settings page: who gets it and when, and what
// happened to the last ones (sent, or why not).

// SummaryForm is the Settings page's "Daily summary" section.
type SummaryForm struct {
	SummaryTo string // addresses, comma-separated; "" is off
	SummaryAt string // HH:MM in the clinic's zone
}

// SummaryRow is one day of the summaries' ledger, as the page shows it.
type SummaryRow struct {
	Day     string // "Mon 23 Nov 2026"
	Sent    bool
	Outcome string // "sent at 07:30", or why not
}

func summaryForm(c *aftercare.Clinic) SummaryForm {
	return SummaryForm{SummaryTo: c.SummaryTo, SummaryAt: c.SummaryAt.String()}
}

func readSummaryForm(field func(string) string) SummaryForm {
	return SummaryForm{SummaryTo: field("summary_to"), SummaryAt: field("summary_at")}
}

// checkSummaryForm puts the problems of f beside its fields.
func checkSummaryForm(e FieldErrors, f SummaryForm) {
	if _, err := scheduler.ParseSummaryTo(f.SummaryTo); err != nil {
		e.Add(err)
	}
	if f.SummaryAt == "" {
		if f.SummaryTo != "" {
			e["summary_at"] = "give the time of day the summary is sent, e.g. 07:30"
		}
		return
	}
	if _, err := aftercare.ParseClock(f.SummaryAt); err != nil {
		e["summary_at"] = aftercare.ErrorMessage(err)
	}
}

// summaryChanges are the ClinicChanges of f: an empty time (with no
// address, so the summary is off) leaves the stored one.
func summaryChanges(ch *scheduler.ClinicChanges, f SummaryForm) {
	ch.SummaryTo = &f.SummaryTo
	if f.SummaryAt != "" {
		ch.SummaryAt = &f.SummaryAt
	}
}

// summaryStatus fills the page's ledger of the clinic's last summaries and
// whether this server can send them at all.
func (s *Server) summaryStatus(ctx context.Context, page *SettingsPage) {
	page.SummaryNoSMTP = s.Routes != nil && s.Routes[aftercare.Email].Name != "smtp"
	rs, err := s.Store.ListSummaries(ctx, page.Clinic.ID, 7)
	if err != nil {
		s.logger().Error("listing the daily summaries failed", "clinic", page.Clinic.ID, "err", err)
		return
	}
	loc, err := aftercare.LoadZone(page.Clinic.TZ)
	if err != nil {
		loc = time.UTC
	}
	for _, r := range rs {
		row := SummaryRow{Day: r.Day}
		if d, err := time.Parse(time.DateOnly, r.Day); err == nil {
			row.Day = d.Format("Mon 2 Jan 2006")
		}
		switch {
		case !r.SentAt.IsZero() && r.Error == "":
			row.Sent, row.Outcome = true, "sent "+r.SentAt.In(loc).Format("Mon 2 Jan 15:04")
		case !r.SentAt.IsZero():
			row.Sent, row.Outcome = true, "sent "+r.SentAt.In(loc).Format("Mon 2 Jan 15:04")+"; "+r.Error
		case r.Error != "":
			row.Outcome = r.Error
		default:
			row.Outcome = "outcome unknown: the server stopped while sending it (claimed " + r.ClaimedAt.In(loc).Format("Mon 2 Jan 15:04") + "); it is not sent again"
		}
		page.Summaries = append(page.Summaries, row)
	}
}
