package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

type clinicJSON struct {
	Slug          string `json:"slug"`
	Name          string `json:"name"`
	Phone         string `json:"phone"`
	Country       string `json:"country"`
	TZ            string `json:"tz"`
	Window        string `json:"window"`
	DailyCap      int    `json:"daily_cap"`
	EmailFallback bool   `json:"email_fallback"`
	ShowTreatment bool   `json:"show_treatment"`
	SMSFrom       string `json:"sms_from"`
	EmailFrom     string `json:"email_from"`
	Default       bool   `json:"default"`
	CreatedAt     string `json:"created_at"`
	// Two-way messaging and records.
	AlertEmail          string `json:"alert_email"`
	TwilioOptOutReplies bool   `json:"twilio_opt_out_replies"`
	RetentionDays       int    `json:"retention_days"`
	PatientLinks        bool   `json:"patient_links"`
	// The daily summary: summary_to "" is off.
	SummaryAt string `json:"summary_at"`
	SummaryTo string `json:"summary_to"`
}

func clinicToJSON(c *aftercare.Clinic) clinicJSON {
	return clinicJSON{c.Slug, c.Name, c.Phone, c.Country, c.TZ, c.Window.String(), c.DailyCap, c.EmailFallback, c.ShowTreatment,
		c.SMSFrom, c.EmailFrom, c.Default, c.CreatedAt.UTC().Format(time.RFC3339),
		c.AlertEmail, c.TwilioOptOutReplies, c.RetentionDays, c.PatientLinks, c.SummaryAt.String(), c.SummaryTo}
}

func (a *app) printClinic(c *aftercare.Clinic) error {
	if a.jsonOut {
		return a.printJSON(clinicToJSON(c))
	}
	tw := a.table()
	phone := c.Phone
	if phone == "" {
		phone = "(none: set one, patients are told to call it)"
	}
	orServer := func(v, server string) string {
		if v == "" {
			return "(the server's " + server + ")"
		}
		return v
	}
	treatment := "no (messages say \"your treatment\": lock screens show them)"
	if c.ShowTreatment {
		treatment = "yes (texts and email subjects name the treatment)"
	}
	fmt.Fprintf(tw, "slug\t%s\nname\t%s\nphone\t%s\ncountry\t%s\ntime zone\t%s\nsend window\t%s (patient's local time)\ndaily cap\t%d per patient per channel\nemail fallback\t%v\nshow treatment\t%s\nSMS sender\t%s\nemail sender\t%s\ndefault\t%v\n",
		c.Slug, c.Name, phone, c.Country, c.TZ, c.Window, c.DailyCap, c.EmailFallback, treatment,
		orServer(c.SMSFrom, "TWILIO_FROM / TWILIO_MESSAGING_SERVICE_SID"), orServer(c.EmailFrom, "SMTP_FROM"), c.Default)
	if err := tw.Flush(); err != nil {
		return err
	}
	return printRecordSettings(a.io.Out, c)
}

func (a *app) clinicCmd() *cobra.Command {
	show := func(c *cobra.Command, _ []string) error {
		if err := a.open(c.Context()); err != nil {
			return err
		}
		return a.printClinic(a.clinic)
	}
	cmd := &cobra.Command{
		Use:   "clinic",
		Short: "Show and change the clinic's settings; add clinics",
		Args:  needArgs(0, "no arguments (did you mean `clinic set` or `clinic add`?)"),
		RunE:  show,
	}
	var ch scheduler.ClinicChanges
	var name, phone, tz, country, window, dailyCap, fallback, showTreatment string
	var yes bool
	set := &cobra.Command{
		// The settings are the flags below; listed here, the usage line
		// ran to 387 columns.
		Use:                   "set --SETTING VALUE... [--yes]",
		DisableFlagsInUseLine: true,
		Short:                 "Change the clinic's settings (all checked before any is saved)",
		Long: `Change the clinic's settings. All are checked before any is saved.

A new send window or daily cap is first tried on the clinic's protocols, for
a treatment ending at 10:00 and one ending at 18:00 on an ordinary day. If
it moves or drops messages that the current settings send on time, they are
listed and nothing is saved: run again with --yes to save anyway.

The daily summary: --summary-to manager@clinic.example (several addresses
separated by commas) emails them, every day at --summary-at (default 07:00,
the clinic's time zone), the counts of the day before: messages sent,
delivered, failed, undelivered, unknown, skipped and expired with why,
opt-outs and replies waiting. It names no patient. It goes through SMTP
(SMTP_HOST); without it the summary is recorded as not sent. --summary-at off
stops it.`,
		Example: `  aftercare clinic set --window 08:00-20:00 --daily-cap 4
  aftercare clinic set --summary-to manager@glowskin.example --summary-at 07:30
  aftercare clinic set --show-treatment no --json`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			f := c.Flags()
			changed := false
			for flag, dst := range map[string]**string{"name": &ch.Name, "phone": &ch.Phone, "tz": &ch.TZ, "country": &ch.Country,
				"window": &ch.Window, "daily-cap": &ch.DailyCap, "email-fallback": &ch.EmailFallback,
				"show-treatment": &ch.ShowTreatment, "sms-from": &ch.SMSFrom, "email-from": &ch.EmailFrom,
				"alert-email": &ch.AlertEmail, "twilio-opt-out-replies": &ch.TwilioOptOutReplies,
				"retention-days": &ch.RetentionDays, "patient-links": &ch.PatientLinks,
				"summary-to": &ch.SummaryTo, "summary-at": &ch.SummaryAt} {
				if f.Changed(flag) {
					v, err := f.GetString(flag)
					if err != nil {
						return err
					}
					*dst, changed = &v, true
				}
			}
			if !changed {
				return &aftercare.Error{Code: usageCode, Message: "nothing to change; see `aftercare clinic set --help`"}
			}
			a.skipEnvCheck = true
			if err := a.open(c.Context()); err != nil {
				return err
			}
			u, err := a.svc.CheckedUpdateClinic(c.Context(), a.clinic.Slug, ch, yes)
			if err != nil {
				return err
			}
			return a.printClinicUpdate(u)
		},
	}
	sf := set.Flags()
	sf.StringVar(&name, "name", "", "clinic name, named in every message")
	sf.StringVar(&phone, "phone", "", "clinic phone patients call")
	sf.StringVar(&tz, "tz", "", "clinic IANA time zone")
	sf.StringVar(&country, "country", "", "two-letter country used for phone numbers without a country code")
	sf.StringVar(&window, "window", "", "send window in the patient's local time, e.g. 08:00-21:00")
	sf.StringVar(&dailyCap, "daily-cap", "", "most messages per patient per channel per day")
	sf.StringVar(&fallback, "email-fallback", "", "send the email version when an SMS fails permanently (yes|no)")
	sf.StringVar(&showTreatment, "show-treatment", "", `name the treatment in texts and email subjects (yes|no); no: they say "your treatment", as lock screens show them to anyone nearby`)
	var smsFrom, emailFrom string
	sf.StringVar(&smsFrom, "sms-from", "", `the clinic's own SMS sender: a number or a Twilio Messaging Service SID (MG...); "" for the server's`)
	sf.StringVar(&emailFrom, "email-from", "", `the clinic's own email sender address; "" for the server's SMTP_FROM`)
	addRecordFlags(sf)
	sf.BoolVar(&yes, "yes", false, "save a new send window or daily cap even though it moves or drops messages (they are still listed)")

	var d scheduler.ClinicDefaults
	add := &cobra.Command{
		Use:   "add SLUG --name NAME --tz ZONE --phone PHONE [--country CC]",
		Short: "Add a clinic (use --clinic SLUG to act on it)",
		Args:  needArgs(1, "one clinic slug, e.g. downtown"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireFlags(c, "name", "tz"); err != nil {
				return err
			}
			if strings.TrimSpace(d.Phone) == "" {
				// Every text tells the patient to call the clinic: without a
				// phone it would say "call us at Downtown Derm".
				return &aftercare.Error{Code: usageCode, Message: "missing --phone: a clinic needs the phone number its texts tell patients to call; see `aftercare clinic add --help`"}
			}
			if err := a.open(c.Context()); err != nil {
				return err
			}
			d.Slug = args[0]
			cl, err := a.svc.AddClinic(c.Context(), d, false)
			if err != nil {
				return err
			}
			return a.printClinic(cl)
		},
	}
	af := add.Flags()
	af.StringVar(&d.Name, "name", "", "clinic name (required)")
	af.StringVar(&d.Phone, "phone", "", "clinic phone patients call, named in every text (required)")
	af.StringVar(&d.TZ, "tz", "", "clinic IANA time zone (required)")
	af.StringVar(&d.Country, "country", "", "two-letter country (default: from the phone, else US)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the clinics",
		Args:  needArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			if err := a.open(c.Context()); err != nil {
				return err
			}
			cs, err := a.store.ListClinics(c.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := []clinicJSON{}
				for _, c := range cs {
					out = append(out, clinicToJSON(c))
				}
				return a.printJSON(out)
			}
			tw := a.table()
			fmt.Fprintln(tw, "SLUG\tNAME\tTIME ZONE\tDEFAULT")
			for _, c := range cs {
				def := ""
				if c.Default {
					def = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Slug, c.Name, c.TZ, def)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(&cobra.Command{Use: "show", Short: "Show the clinic's settings (the default)", Args: needArgs(0, "no arguments"), RunE: show}, mayCreateDB(set), mayCreateDB(add), list)
	return cmd
}
