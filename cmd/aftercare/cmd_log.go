package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

// logJSON is one row of `aftercare log --json`: the API's message view,
// defined once in web so that the two cannot drift apart.
type logJSON = web.MessageJSON

// openForRange opens the store and reads --since/--until by the one rule
// (aftercare.DayRange): whole days in the clinic's zone, both included.
func (a *app) openForRange(ctx context.Context, since, until string) (loc *time.Location, s, u time.Time, err error) {
	if err = a.open(ctx); err != nil {
		return
	}
	if loc, err = aftercare.LoadZone(a.clinic.TZ); err != nil {
		return
	}
	s, u, err = aftercare.DayRange(since, until, loc)
	return
}

func (a *app) logCmd() *cobra.Command {
	var since, until, status, channel, patient, protocol string
	var csvOut bool
	var limit int
	cmd := &cobra.Command{
		Use:   "log [--since DATE] [--until DATE] [--status S] [--channel sms|email] [--patient ID] [--protocol P]",
		Short: "The delivery log: what was sent, delivered, failed, and why",
		Long: `List messages with their delivery state, provider id, error and attempts.
Pending messages are listed from a day before they are due; with --patient,
all of the patient's, however far ahead.
--since and --until are days in the clinic's zone, both included (the same
day twice for one day), or RFC 3339 times. A table by default (each row
names the patient, gives the due time on the clinic's clock and on the
patient's, with its zone, and the note that says why a time moved or a
message was skipped); --csv or --json for machines.
--status takes one of: ` + fmt.Sprint(aftercare.Statuses),
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			loc, s, u, err := a.openForRange(c.Context(), since, until)
			if err != nil {
				return err
			}
			f := aftercare.MessageFilter{ClinicID: a.clinic.ID, ProtocolSlug: protocol, Limit: limit, Since: s, Until: u}
			if status != "" {
				s, err := aftercare.ParseStatus(status)
				if err != nil {
					return err
				}
				f.Statuses = []aftercare.Status{s}
			}
			if channel != "" {
				if f.Channel, err = aftercare.ParseChannel(channel); err != nil {
					return err
				}
			}
			if patient != "" {
				id, err := strconv.ParseInt(patient, 10, 64)
				if err != nil || id <= 0 {
					return aftercare.FieldErrorf("patient", "%q is not a patient id", patient)
				}
				f.PatientID = id
			}
			if csvOut {
				_, err := web.WriteLogCSV(c.Context(), a.io.Out, a.store, f)
				return err
			}
			msgs, err := a.store.ListMessages(c.Context(), f)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(views(msgs, web.NewMessageJSON))
			}
			return a.printLog(c.Context(), msgs, loc)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "messages due on or after this day (YYYY-MM-DD, the clinic's)")
	f.StringVar(&until, "until", "", "messages due on or before this day (included)")
	f.StringVar(&status, "status", "", "only this state")
	f.StringVar(&channel, "channel", "", "only sms or email")
	f.StringVar(&patient, "patient", "", "only this patient id")
	f.StringVar(&protocol, "protocol", "", "only this protocol slug")
	f.BoolVar(&csvOut, "csv", false, "print CSV")
	f.IntVar(&limit, "limit", 0, "at most this many rows (0: all)")
	return cmd
}

// printLog prints the log as a table: when each message is due on the
// clinic's clock and on the patient's (with its zone), whose it is, and
// what happened to it.
func (a *app) printLog(ctx context.Context, msgs []*aftercare.Message, loc *time.Location) error {
	book := web.NewPatientBook(a.store, a.clinic.ID)
	tw := a.table()
	fmt.Fprintf(tw, "ID\tENROLLMENT\tPATIENT\tDUE (%s)\tPATIENT'S TIME\tSTEP\tCHANNEL\tSTATUS\tTRIES\tSENDER\tPROVIDER ID\tERROR\tNOTE\n", loc)
	for _, m := range msgs {
		pt, err := book.Find(ctx, m.PatientID)
		if err != nil {
			return err
		}
		name, local := "(erased)", ""
		if pt != nil {
			name = pt.Name
			if ploc, err := aftercare.LoadZone(pt.TZ); err == nil {
				local = m.SendAt.In(ploc).Format("2006-01-02 15:04 MST")
			}
		}
		e := m.Error
		if m.ErrorCode != "" {
			e = m.ErrorCode + " " + e
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", m.ID, m.EnrollmentID, name, m.SendAt.In(loc).Format("2006-01-02 15:04"),
			local, m.StepKey+occ(m), m.Channel, m.Status, m.Attempts, m.Sender, m.ProviderID, e, m.Note)
	}
	return tw.Flush()
}

func (a *app) statsCmd() *cobra.Command {
	var since, until string
	cmd := &cobra.Command{
		Use:   "stats [--since DATE] [--until DATE]",
		Short: "Counts of messages per day and state",
		Long: `Counts of messages per day and state. Days are the clinic's (its zone);
--since and --until are days too, both included. Pending messages planned far
ahead are counted on the day they are due.`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			loc, s, u, err := a.openForRange(c.Context(), since, until)
			if err != nil {
				return err
			}
			rows, err := a.store.DailyStats(c.Context(), a.clinic.ID, s, u, loc)
			if err != nil {
				return err
			}
			if a.jsonOut {
				type row struct {
					Day    string `json:"day"`
					Status string `json:"status"`
					Count  int    `json:"count"`
				}
				out := []row{}
				for _, r := range rows {
					out = append(out, row{r.Day, string(r.Status), r.Count})
				}
				return a.printJSON(out)
			}
			// One line per day, one column per state.
			byDay := map[string]map[aftercare.Status]int{}
			var days []string
			for _, r := range rows {
				if byDay[r.Day] == nil {
					byDay[r.Day] = map[aftercare.Status]int{}
					days = append(days, r.Day)
				}
				byDay[r.Day][r.Status] = r.Count
			}
			tw := tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(tw, "DAY (%s)\t", loc)
			for _, s := range aftercare.Statuses {
				fmt.Fprintf(tw, "%s\t", s)
			}
			fmt.Fprintln(tw)
			for _, d := range days {
				fmt.Fprintf(tw, "%s\t", d)
				for _, s := range aftercare.Statuses {
					fmt.Fprintf(tw, "%d\t", byDay[d][s])
				}
				fmt.Fprintln(tw)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "from this day (YYYY-MM-DD, the clinic's)")
	cmd.Flags().StringVar(&until, "until", "", "through this day (included)")
	return cmd
}
