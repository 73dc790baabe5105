package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/aftercare/aftercare"
)

// The clinic settings of two-way messaging and records, on `clinic` and
// `clinic set`.

func addRecordFlags(f *pflag.FlagSet) {
	f.String("alert-email", "", `where replies naming a warning sign are emailed, e.g. nurse@clinic.example; "" for nobody`)
	f.String("twilio-opt-out-replies", "", "yes if Twilio's Advanced Opt-Out already answers STOP and HELP for the clinic's sender, so Aftercare sends no second reply (yes|no)")
	f.String("retention-days", "", "purge message and reply texts this many days old (30 to 3650); 0 keeps them. States and counts stay")
	f.String("patient-links", "", "add the patient's own aftercare page link to the first SMS and to emails (yes|no)")
	f.String("summary-to", "", `who gets the daily summary email: the manager's address, or several separated by commas; "" turns it off`)
	f.String("summary-at", "", "when the daily summary of the day before is emailed, HH:MM in the clinic's time zone (default 07:00), or off")
}

// printRecordSettings prints them as a block of its own, aligned apart
// from the settings above.
func printRecordSettings(out io.Writer, c *aftercare.Clinic) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	alert := c.AlertEmail
	if alert == "" {
		alert = "(none: red-flag replies show in the inbox only)"
	}
	optOut := "no (Aftercare answers STOP and HELP)"
	if c.TwilioOptOutReplies {
		optOut = "yes (Twilio answers STOP and HELP; Aftercare sends no second reply)"
	}
	retention := "keep message texts"
	if c.RetentionDays > 0 {
		retention = fmt.Sprintf("purge message and reply texts after %d days", c.RetentionDays)
	}
	links := "no"
	if c.PatientLinks {
		links = "yes (first SMS and emails link to the patient's own page)"
	}
	summary := "off (`aftercare clinic set --summary-to ADDRESS` sends one every morning)"
	if c.SummaryEnabled() {
		summary = fmt.Sprintf("%s (clinic's time) to %s", c.SummaryAt, c.SummaryTo)
	}
	fmt.Fprintf(w, "alert email\t%s\nTwilio opt-out replies\t%s\nretention\t%s\npatient links\t%s\ndaily summary\t%s\n", alert, optOut, retention, links, summary)
	return w.Flush()
}
