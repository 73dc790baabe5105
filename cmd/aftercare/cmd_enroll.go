package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

func (a *app) previewCmd() *cobra.Command {
	var req scheduler.PreviewRequest
	cmd := &cobra.Command{
		Use:   "preview --protocol SLUG --treated-at TIME [--tz ZONE]",
		Short: "Print a protocol's whole timeline in a patient's local time, without enrolling anyone",
		Long: `Print every message a patient would get: local weekday, date and time, step,
channel, SMS segments, the text, and a note wherever a time was moved (quiet
hours, the daily cap, a DST change).

--treated-at is the end of the treatment: RFC 3339 (2026-03-07T17:30:00-05:00)
or the patient's local time (2026-03-07T17:30) read in --tz, which is the
clinic's zone unless given.`,
		Example: `  aftercare preview --protocol microneedling --treated-at 2026-03-07T17:30 --tz America/New_York
  aftercare preview --protocol microneedling --treated-at 2026-03-07T17:30 --tz America/New_York --lang es --json`,
		Args: needArgs(0, "no arguments, only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlags(c, "protocol", "treated-at"); err != nil {
				return err
			}
			if err := a.open(c.Context()); err != nil {
				return err
			}
			req.TZ = scheduler.ZoneOrClinic(req.TZ, a.clinic)
			cp, msgs, err := a.svc.Preview(c.Context(), a.clinic, req)
			if err != nil {
				return err
			}
			loc, err := aftercare.LoadZone(req.TZ)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(messagesJSON(msgs, loc))
			}
			a.printf("%s v%d for %s: %d messages (%s)\n\n", cp.Name, cp.Version, req.TZ, len(msgs), a.clinic.Name)
			printTimeline(a.io.Out, msgs, loc, false)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Protocol, "protocol", "", "protocol slug (required)")
	f.IntVar(&req.Version, "version", 0, "protocol version (default: the latest)")
	f.StringVar(&req.TreatedAt, "treated-at", "", "end of the treatment (required)")
	f.StringVar(&req.TZ, "tz", "", "the patient's IANA time zone, e.g. America/New_York (default: the clinic's)")
	f.StringVar(&req.Lang, "lang", "", "language of the texts (default: the protocol's first)")
	f.StringVar(&req.Name, "name", "", "patient name used in the texts (default: a sample)")
	return cmd
}

type enrollmentJSON struct {
	EnrollmentID    int64           `json:"enrollment_id"`
	PatientID       int64           `json:"patient_id"`
	Created         bool            `json:"created"`
	Status          string          `json:"status"`
	Protocol        string          `json:"protocol"`
	ProtocolVersion int             `json:"protocol_version"`
	TreatedAt       string          `json:"treated_at"`
	Patient         web.PatientJSON `json:"patient"`
	Messages        []messageJSON   `json:"messages"`
}

// printEnrollment prints an enrollment: its heading, its patient (id,
// contact, consent), and its messages, every one with its text (full), or
// one line each with a recurring step's messages on one line (`show`).
func (a *app) printEnrollment(r *scheduler.EnrollResult, verb string, full bool) error {
	loc, err := aftercare.LoadZone(r.Patient.TZ)
	if err != nil {
		return err
	}
	e := r.Enrollment
	for _, w := range r.Warnings {
		fmt.Fprintf(a.io.Err, "warning: %s\n", w)
	}
	if a.jsonOut {
		return a.printJSON(enrollmentJSON{e.ID, r.Patient.ID, r.Created, e.Status, e.ProtocolSlug, e.ProtocolVersion,
			e.TreatedAt.UTC().Format(time.RFC3339), web.NewPatientJSON(r.Patient), messagesJSON(r.Messages, loc)})
	}
	a.printf("%s enrollment %d: %s on %s v%d, treated %s (%s)\n", verb, e.ID, r.Patient.Name, e.ProtocolSlug, e.ProtocolVersion,
		e.TreatedAt.In(loc).Format("Mon 2006-01-02 15:04 MST"), r.Patient.TZ)
	a.printPatientLines(r.Patient)
	a.printf("%s\n", enrollmentCounts(r))
	if a.clinic.Phone == "" {
		a.printf("warning: the clinic has no phone number; texts name the clinic instead. Set one: aftercare clinic set --phone ...\n")
	}
	if len(r.Messages) == 0 {
		a.printf("warning: no messages: the patient consented to no channel it can be reached on\n")
	}
	a.printf("\n")
	if !full {
		if err := a.printTimelineShort(r.Messages, loc); err != nil {
			return err
		}
		a.printf("\nEvery message with its text: aftercare show %d --all\n", e.ID)
		return nil
	}
	printTimeline(a.io.Out, r.Messages, loc, true)
	return nil
}

func (a *app) enrollCmd() *cobra.Command {
	var req scheduler.EnrollRequest
	cmd := &cobra.Command{
		Use:   "enroll --name NAME (--phone PHONE | --email EMAIL) [--tz ZONE] --protocol SLUG --treated-at TIME",
		Short: "Enroll a patient on a protocol after (or before) a treatment",
		Long: `Store the patient and the enrollment, plan every message in the patient's time
zone, and print the enrollment id and the timeline.

Consent is recorded per channel: a channel without --sms-consent or
--email-consent gets no messages. A phone number without a country code is read
in the clinic's country. Without --tz, a patient the clinic already has
(same name, phone and email) keeps their zone and a new one is in the
clinic's. An enrollment that would send nothing (no consent,
the patient opted out, every message already in the past) is refused with the
reason and what to fix. Running the same command again returns the same
enrollment and creates nothing new.`,
		Example: `  aftercare enroll --name "Ana Ruiz" --phone "+1 415 555 0100" --email ana@example.com \
    --tz America/Los_Angeles --lang es --protocol microneedling --treated-at 2026-11-22T15:00 \
    --sms-consent --email-consent`,
		Args: needArgs(0, "no arguments, only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireFlags(c, "name", "protocol", "treated-at"); err != nil {
				return err
			}
			if err := a.open(c.Context()); err != nil {
				return err
			}
			req.Source = "cli" // an empty --tz: Service.Enroll's default
			r, err := a.svc.Enroll(c.Context(), a.clinic, req)
			if err != nil {
				return err
			}
			verb := "created"
			if !r.Created {
				verb = "already enrolled: existing"
			}
			return a.printEnrollment(r, verb, true)
		},
	}
	f := cmd.Flags()
	f.StringVar(&req.Name, "name", "", "patient's full name (required)")
	f.StringVar(&req.Phone, "phone", "", "mobile number, e.g. \"+1 415 555 0100\"")
	f.StringVar(&req.Email, "email", "", "email address")
	f.StringVar(&req.TZ, "tz", "", "patient's IANA time zone (default: a returning patient's own, else the clinic's)")
	f.StringVar(&req.Lang, "lang", "", "language of the messages (default: the protocol's first)")
	f.StringVar(&req.Protocol, "protocol", "", "protocol slug (required)")
	f.StringVar(&req.TreatedAt, "treated-at", "", "end of the treatment, local YYYY-MM-DDTHH:MM or RFC 3339 (required)")
	f.BoolVar(&req.SMSConsent, "sms-consent", false, "the patient agreed to text messages")
	f.BoolVar(&req.EmailConsent, "email-consent", false, "the patient agreed to emails")
	return cmd
}

// openForEnrollment reads an enrollment id as typed (before touching the
// database, so a typo costs nothing) and opens the store.
func (a *app) openForEnrollment(ctx context.Context, arg string) (int64, error) {
	id, err := scheduler.ParseID("enrollment", arg)
	if err != nil {
		return 0, err
	}
	return id, a.open(ctx)
}

func (a *app) showCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "show ENROLLMENT_ID [--all]",
		Short: "Print an enrollment, its patient and the state of its messages",
		Long: `Print an enrollment: the patient (id, phone and email, consent per channel)
and one line per message in the patient's time, the messages of a recurring
step on one line ("sunscreen, 14 messages" with its first and last day and
how many are in each state). --all prints every message with its text.`,
		Args: needArgs(1, "one enrollment id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := a.openForEnrollment(c.Context(), args[0])
			if err != nil {
				return err
			}
			r, err := a.svc.Enrollment(c.Context(), a.clinic.ID, id)
			if err != nil {
				return err
			}
			return a.printEnrollment(r, r.Enrollment.Status, all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "every message with its text, not one line per recurring step")
	return cmd
}

func (a *app) cancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ENROLLMENT_ID",
		Short: "Cancel an enrollment's pending messages (what was sent stays in the history)",
		Args:  needArgs(1, "one enrollment id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := a.openForEnrollment(c.Context(), args[0])
			if err != nil {
				return err
			}
			n, err := a.svc.Cancel(c.Context(), a.clinic.ID, id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"enrollment_id": id, "status": aftercare.EnrollmentCancelled, "cancelled_messages": n})
			}
			a.printf("enrollment %d cancelled: %d pending messages cancelled\n", id, n)
			return nil
		},
	}
}

func (a *app) rescheduleCmd() *cobra.Command {
	var treatedAt string
	cmd := &cobra.Command{
		Use:   "reschedule ENROLLMENT_ID --treated-at TIME",
		Short: "Move an enrollment to a new treatment time and recompute what is still pending",
		Args:  needArgs(1, "one enrollment id"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireFlags(c, "treated-at"); err != nil {
				return err
			}
			id, err := a.openForEnrollment(c.Context(), args[0])
			if err != nil {
				return err
			}
			r, err := a.svc.Reschedule(c.Context(), a.clinic, id, treatedAt)
			if err != nil {
				return err
			}
			return a.printEnrollment(r, "rescheduled", false)
		},
	}
	cmd.Flags().StringVar(&treatedAt, "treated-at", "", "new end of the treatment, in the patient's zone or RFC 3339 (required)")
	return cmd
}

func (a *app) importCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Enroll many patients from a CSV file",
		Long: `Enroll every valid row of a CSV file whose header names the columns
name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent (any order).
Invalid rows, and rows that would send nothing, are reported with their line
number and reason; valid rows are enrolled. Re-running the same file creates
no duplicates. Use - to read stdin.`,
		Args: needArgs(1, "one CSV file"),
		RunE: func(c *cobra.Command, args []string) error {
			r := a.io.In
			name := "stdin"
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return aftercare.Errorf(aftercare.EINVALID, "cannot read %s: %v", args[0], unwrapPathErr(err))
				}
				defer f.Close()
				r, name = f, args[0]
			}
			if err := a.open(c.Context()); err != nil {
				return err
			}
			var progress func(int)
			if f, ok := a.io.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !a.jsonOut {
				progress = func(done int) { fmt.Fprintf(f, "\rimporting: %d rows done", done) }
			}
			rep, err := a.svc.Import(c.Context(), a.clinic, r, name, progress)
			if progress != nil {
				fmt.Fprintln(a.io.Err)
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				if err := a.printJSON(rep); err != nil {
					return err
				}
			} else {
				a.printf("%s: %d rows: %d enrolled, %d already enrolled, %d with errors\n", name, rep.Rows, rep.Enrolled, rep.Existing, len(rep.Errors))
				for _, e := range rep.Errors {
					if e.Field != "" {
						a.printf("  line %d: %s: %s\n", e.Line, e.Field, e.Reason)
					} else {
						a.printf("  line %d: %s\n", e.Line, e.Reason)
					}
				}
			}
			if len(rep.Errors) > 0 {
				return aftercare.Errorf(aftercare.EINVALID, "%d rows of %s were not enrolled; fix them and run the import again (enrolled rows are not duplicated)", len(rep.Errors), name)
			}
			return nil
		},
	}
}
