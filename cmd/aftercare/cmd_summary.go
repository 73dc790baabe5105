package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

type summaryJSON struct {
	Day     string              `json:"day"`
	Subject string              `json:"subject"`
	Body    string              `json:"body"`
	To      string              `json:"to"` // "" when the clinic's summary is off
	At      string              `json:"at"`
	Ledger  []summaryRecordJSON `json:"ledger"`
}

type summaryRecordJSON struct {
	Day       string `json:"day"`
	ClaimedAt string `json:"claimed_at"`
	SentAt    string `json:"sent_at,omitempty"`
	Error     string `json:"error,omitempty"`
}

func (a *app) summaryCmd() *cobra.Command {
	var day string
	cmd := &cobra.Command{
		Use:   "summary [--day YYYY-MM-DD]",
		Short: "Show the manager's daily summary of a day, and what happened to the last ones",
		Long: `Print the daily summary email of a day of the clinic (default: yesterday, in the
clinic's time zone) as it would be sent now, and the last summaries: sent,
or why not. Nothing is sent or recorded: serve sends each day's summary
once, at the clinic's time (` + "`aftercare clinic set --summary-to ADDRESS --summary-at HH:MM`" + `).`,
		Example: `  aftercare summary
  aftercare summary --day 2026-03-07 --json`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			s := &scheduler.Summaries{Store: a.store, PublicURL: strings.TrimSuffix(a.cfg.PublicURL, "/"), Now: a.now}
			d, subject, body, err := s.Preview(ctx, a.clinic, day)
			if err != nil {
				return err
			}
			rs, err := a.store.ListSummaries(ctx, a.clinic.ID, 7)
			if err != nil {
				return err
			}
			out := summaryJSON{Day: d.Day, Subject: subject, Body: body, To: a.clinic.SummaryTo, At: a.clinic.SummaryAt.String(), Ledger: []summaryRecordJSON{}}
			for _, r := range rs {
				j := summaryRecordJSON{Day: r.Day, ClaimedAt: r.ClaimedAt.Format(time.RFC3339), Error: r.Error}
				if !r.SentAt.IsZero() {
					j.SentAt = r.SentAt.Format(time.RFC3339)
				}
				out.Ledger = append(out.Ledger, j)
			}
			if a.jsonOut {
				return a.printJSON(out)
			}
			a.printf("Subject: %s\n\n%s\n", subject, body)
			if !a.clinic.SummaryEnabled() {
				a.printf("The clinic's daily summary is off: `aftercare clinic set --summary-to ADDRESS` sends this every day.\n")
			}
			return a.printLedger(rs)
		},
	}
	cmd.Flags().StringVar(&day, "day", "", "the clinic's local day to summarise, YYYY-MM-DD (default yesterday)")
	return cmd
}

func (a *app) printLedger(rs []*aftercare.SummaryRecord) error {
	if len(rs) == 0 {
		return nil
	}
	loc, err := aftercare.LoadZone(a.clinic.TZ)
	if err != nil {
		return err
	}
	a.printf("Last summaries:\n")
	tw := a.table()
	for _, r := range rs {
		outcome := r.Error
		switch {
		case !r.SentAt.IsZero():
			outcome = strings.TrimSpace("sent " + r.SentAt.In(loc).Format("2006-01-02 15:04") + " " + r.Error)
		case r.Error == "":
			outcome = "outcome unknown: the serve stopped while sending it; not sent again"
		}
		fmt.Fprintf(tw, "%s\t%s\n", r.Day, outcome)
	}
	return tw.Flush()
}
