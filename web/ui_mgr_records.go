package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/aftercare/aftercare"
)

// The settings of two-way messaging and records on the Settings page.

// RecordsForm is the Settings page's "Replies and records" section.
type RecordsForm struct {
	AlertEmail          string // where red-flag replies are emailed; "" for nobody
	TwilioOptOutReplies bool   // Twilio answers STOP and HELP itself
	RetentionDays       string // 0 keeps message texts
	PatientLinks        bool   // messages link to the patient's own page
}

func recordsForm(c *aftercare.Clinic) RecordsForm {
	return RecordsForm{AlertEmail: c.AlertEmail, TwilioOptOutReplies: c.TwilioOptOutReplies,
		RetentionDays: strconv.Itoa(c.RetentionDays), PatientLinks: c.PatientLinks}
}

func readRecordsForm(r *http.Request, field func(string) string) RecordsForm {
	return RecordsForm{AlertEmail: strings.ToLower(field("alert_email")), TwilioOptOutReplies: r.PostFormValue("twilio_opt_out_replies") != "",
		RetentionDays: field("retention_days"), PatientLinks: r.PostFormValue("patient_links") != ""}
}

// checkRecordsForm puts each problem of f beside its field: the clinic's
// own rules, tried one field at a time on a copy.
func checkRecordsForm(e FieldErrors, c *aftercare.Clinic, f RecordsForm) {
	probe := *c
	probe.AlertEmail = f.AlertEmail
	e.Add(probe.Validate())
	probe = *c
	n, err := strconv.Atoi(f.RetentionDays)
	if f.RetentionDays == "" {
		n, err = 0, nil
	}
	if err != nil {
		e["retention_days"] = strconv.Quote(f.RetentionDays) + " is not a whole number of days (0 keeps message texts)"
		return
	}
	probe.RetentionDays = n
	e.Add(probe.Validate())
}

func ptr[T any](v T) *T { return &v }
