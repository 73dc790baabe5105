package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// Records: the audit log, the retention purge and a patient's consent
// history.

func (a *app) recordsCmds() []*cobra.Command {
	return []*cobra.Command{a.auditCmd(), a.purgeCmd(), a.patientCmd(), a.patientsCmd()}
}

type auditJSON struct {
	ID      int64  `json:"id"`
	At      string `json:"at"`
	UserID  int64  `json:"user_id"`
	Actor   string `json:"actor"`
	Action  string `json:"action"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

func (a *app) auditCmd() *cobra.Command {
	var since, until string
	var limit int
	cmd := &cobra.Command{
		Use:   "audit [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--limit N]",
		Short: "Print the clinic's audit log: every staff action and consent change, newest first",
		Long: `Print the clinic's audit log, newest first: enrollments, imports, cancellations,
reschedules, patient and clinic changes, protocol imports, users, tokens,
exports, purges, and every consent change (staff, STOP, unsubscribe,
Twilio's 21610). --since and --until are days in the clinic's time zone,
both included.`,
		Example: `  aftercare audit --since 2026-03-01 --until 2026-03-31
  aftercare audit --json --limit 1000`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			if limit < 1 {
				return aftercare.FieldErrorf("limit", "give a positive number of entries, got %d", limit)
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			page, err := a.svc.AuditLog(ctx, a.clinic, since, until, time.Time{}, 0, limit)
			if err != nil {
				return err
			}
			loc, err := aftercare.LoadZone(a.clinic.TZ)
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := []auditJSON{}
				for _, e := range page.Entries {
					out = append(out, auditJSON{e.ID, e.At.UTC().Format(time.RFC3339), e.UserID, e.Actor, e.Action, e.Subject, e.Detail})
				}
				return a.printJSON(out)
			}
			tw := a.table()
			fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tSUBJECT\tDETAIL")
			for _, e := range page.Entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.In(loc).Format("2006-01-02 15:04"), e.Actor, e.Action, e.Subject, e.Detail)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if page.More {
				a.printf("(more: narrow --since/--until or raise --limit)\n")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "first day, YYYY-MM-DD in the clinic's time zone")
	f.StringVar(&until, "until", "", "last day (included), YYYY-MM-DD in the clinic's time zone")
	f.IntVar(&limit, "limit", 200, "most entries to print")
	return cmd
}

func (a *app) purgeCmd() *cobra.Command {
	var dry bool
	cmd := &cobra.Command{
		Use:   "purge [--dry-run]",
		Short: "Purge message and reply texts older than the clinic's retention (serve does it daily)",
		Long: `Replace the texts of the clinic's messages, and patients' replies, older than
its retention days (` + "`aftercare clinic set --retention-days N`" + `) with
"[purged after N days]". States, times, attempts and counts stay, and the log
still lists every message; messages still to be sent are never touched.
serve runs this every night; --dry-run only counts.`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			if err := a.open(ctx); err != nil {
				return err
			}
			rep, err := a.svc.PurgeClinic(ctx, a.clinic, dry)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rep)
			}
			if rep.RetentionDays == 0 {
				a.printf("Clinic %s keeps message texts (retention 0): nothing purged. `aftercare clinic set --retention-days N` sets one.\n", a.clinic.Slug)
				return nil
			}
			verb := "Purged"
			if dry {
				verb = "Would purge"
			}
			loc, err := aftercare.LoadZone(a.clinic.TZ)
			if err != nil {
				return err
			}
			a.printf("%s the texts of %d messages and %d replies settled before %s (%d days).\n",
				verb, rep.Messages, rep.Replies, rep.Before.In(loc).Format("2006-01-02 15:04"), rep.RetentionDays)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "count what would be purged; change nothing")
	return cmd
}

type consentEventJSON struct {
	At      string `json:"at"`
	Channel string `json:"channel"`
	Action  string `json:"action"`
	Source  string `json:"source"`
	UserID  int64  `json:"user_id"`
	Note    string `json:"note"`
}

type patientJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Email     string `json:"email"`
	TZ        string `json:"tz"`
	Lang      string `json:"lang"`
	SMSOK     bool   `json:"sms_ok"`   // consented, not opted out, with a phone
	EmailOK   bool   `json:"email_ok"` // the same for email
	UpdatedAt string `json:"updated_at"`
}

// patientsCmd lists or finds the clinic's patients: the front desk's
// "who is this?" at the counter or on the phone.
func (a *app) patientsCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "patients [QUERY]",
		Short: "List the clinic's patients, most recently changed first, or find them by name, phone or email",
		Long: `List the clinic's patients, most recently changed first. With QUERY, only
those whose name contains it (any case), whose phone contains its digits
(at least 3), or whose email contains it. The ID is what show, log
--patient and patient consent take.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			if limit < 1 || limit > 1000 {
				return aftercare.FieldErrorf("limit", "--limit must be between 1 and 1000, got %d", limit)
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			q := ""
			if len(args) == 1 {
				q = args[0]
			}
			ps, err := a.store.SearchPatients(ctx, a.clinic.ID, q, limit)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(views(ps, func(p *aftercare.Patient) patientJSON {
					return patientJSON{p.ID, p.Name, p.Phone, p.Email, p.TZ, p.Lang,
						p.CanReceive(aftercare.SMS), p.CanReceive(aftercare.Email), p.UpdatedAt.UTC().Format(time.RFC3339)}
				}))
			}
			if len(ps) == 0 {
				if q == "" {
					a.printf("No patients in %s yet: `aftercare enroll` adds them.\n", a.clinic.Slug)
				} else {
					a.printf("No patient of %s matches %q.\n", a.clinic.Slug, q)
				}
				return nil
			}
			tw := a.table()
			fmt.Fprintln(tw, "ID\tNAME\tPHONE\tEMAIL\tSMS\tEMAIL OK")
			for _, p := range ps {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", p.ID, p.Name, aftercare.DisplayPhone(p.Phone), p.Email,
					yesNo(p.CanReceive(aftercare.SMS)), yesNo(p.CanReceive(aftercare.Email)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "the most patients to list (1-1000)")
	return cmd
}

func (a *app) patientCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "patient",
		Short: "Look at a patient's records",
		Args:  needArgs(0, "a subcommand, e.g. `patient consent ID`"),
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "consent PATIENT_ID",
		Short: "Print a patient's consent history: every opt-in and opt-out, oldest first",
		Args:  needArgs(1, "one patient id"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			id, err := scheduler.ParseID("patient", args[0])
			if err != nil {
				return err
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			return a.printConsent(ctx, id)
		},
	})
	return cmd
}

func (a *app) printConsent(ctx context.Context, patientID int64) error {
	p, err := a.store.FindPatient(ctx, a.clinic.ID, patientID)
	if err != nil {
		return err
	}
	evs, err := a.store.ListConsentEvents(ctx, a.clinic.ID, p.ID)
	if err != nil {
		return err
	}
	if a.jsonOut {
		out := []consentEventJSON{}
		for _, e := range evs {
			out = append(out, consentEventJSON{e.At.UTC().Format(time.RFC3339), string(e.Channel), string(e.Action), e.Source, e.UserID, e.Note})
		}
		return a.printJSON(map[string]any{"patient_id": p.ID, "sms": p.CanReceive(aftercare.SMS), "email": p.CanReceive(aftercare.Email), "events": out})
	}
	loc, err := aftercare.LoadZone(a.clinic.TZ)
	if err != nil {
		return err
	}
	a.printf("Patient %d, %s: SMS %s, email %s.\n", p.ID, p.Name, yesNo(p.CanReceive(aftercare.SMS)), yesNo(p.CanReceive(aftercare.Email)))
	if len(evs) == 0 {
		a.printf("No consent recorded.\n")
		return nil
	}
	tw := a.table()
	fmt.Fprintln(tw, "WHEN\tCHANNEL\tCONSENT\tSOURCE\tUSER")
	for _, e := range evs {
		user := ""
		if e.UserID != 0 {
			user = fmt.Sprint(e.UserID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.In(loc).Format("2006-01-02 15:04"), e.Channel, e.Action, e.Source, user)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
