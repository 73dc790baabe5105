// The column lists of the rows that files of several nouns read (a claimed
// message comes with its patient and its clinic), each with the one list
// of scan destinations that every query reading it appends to, as in
// store/sqlite.

package postgres

import (
	"strings"

	"github.com/aftercare/aftercare"
)

const clinicColumns = `id, slug, name, phone, country, tz, window_start, window_end,
	daily_cap, email_fallback, is_default, created_at, updated_at, sms_from, email_from, show_treatment,
	alert_email, twilio_opt_out_replies, retention_days, patient_links, summary_at, summary_to`

// clinicDest appends the scan destinations of clinicColumns in c to dst.
func clinicDest(dst []any, c *aftercare.Clinic) []any {
	return append(dst, &c.ID, &c.Slug, &c.Name, &c.Phone, &c.Country, &c.TZ, &c.Window.Start, &c.Window.End,
		&c.DailyCap, &c.EmailFallback, &c.Default, (*dbTime)(&c.CreatedAt), (*dbTime)(&c.UpdatedAt), &c.SMSFrom, &c.EmailFrom, &c.ShowTreatment,
		&c.AlertEmail, &c.TwilioOptOutReplies, &c.RetentionDays, &c.PatientLinks, &c.SummaryAt, &c.SummaryTo)
}

func scanClinic(s scanner) (*aftercare.Clinic, error) {
	var c aftercare.Clinic
	if err := s.Scan(clinicDest(make([]any, 0, 22), &c)...); err != nil {
		return nil, err
	}
	return &c, nil
}

const patientColumns = `id, clinic_id, name, phone, email, tz, lang, sms_consent_at, sms_consent_source,
	email_consent_at, email_consent_source, sms_opt_out_at, email_opt_out_at, created_at, updated_at`

// patientDest appends the scan destinations of patientColumns in p to dst.
func patientDest(dst []any, p *aftercare.Patient) []any {
	return append(dst, &p.ID, &p.ClinicID, &p.Name, &p.Phone, &p.Email, &p.TZ, &p.Lang,
		(*dbTime)(&p.SMSConsent.At), &p.SMSConsent.Source, (*dbTime)(&p.EmailConsent.At), &p.EmailConsent.Source,
		(*dbTime)(&p.SMSOptOutAt), (*dbTime)(&p.EmailOptOut), (*dbTime)(&p.CreatedAt), (*dbTime)(&p.UpdatedAt))
}

func scanPatient(s scanner) (*aftercare.Patient, error) {
	var p aftercare.Patient
	if err := s.Scan(patientDest(make([]any, 0, 15), &p)...); err != nil {
		return nil, err
	}
	return &p, nil
}

// messageColumns are a message's columns, read from messages m joined with
// its text t (messageText).
const messageColumns = `m.id, m.clinic_id, m.enrollment_id, m.patient_id, m.step_key, m.occurrence, m.channel,
	m.lang, m.status, m.send_at, m.expires_at, m.note, t.subject, t.body,
	m.segments, m.attempts, m.next_attempt_at, m.claimed_at, m.claimed_by, m.sent_at, m.delivered_at, m.sender,
	m.provider_id, m.provider_status, m.error_code, m.error, m.created_at, m.updated_at`

// messageText joins a message's text for messageColumns.
const messageText = ` JOIN message_texts t ON t.id = m.text_id`

// messageDest appends the scan destinations of messageColumns in m to dst.
func messageDest(dst []any, m *aftercare.Message) []any {
	return append(dst, &m.ID, &m.ClinicID, &m.EnrollmentID, &m.PatientID, &m.StepKey, &m.Occurrence, &m.Channel,
		&m.Lang, &m.Status, (*dbTime)(&m.SendAt), (*dbTime)(&m.ExpiresAt), &m.Note, &m.Subject, &m.Body,
		&m.Segments, &m.Attempts, (*dbTime)(&m.NextAttemptAt), (*dbTime)(&m.ClaimedAt), &m.ClaimedBy,
		(*dbTime)(&m.SentAt), (*dbTime)(&m.DeliveredAt), &m.Sender, &m.ProviderID, &m.ProviderState,
		&m.ErrorCode, &m.Error, (*dbTime)(&m.CreatedAt), (*dbTime)(&m.UpdatedAt))
}

func scanMessage(s scanner) (*aftercare.Message, error) {
	var m aftercare.Message
	if err := s.Scan(messageDest(make([]any, 0, 28), &m)...); err != nil {
		return nil, err
	}
	return &m, nil
}

// prefixed qualifies each column of cols with alias: prefixed("p",
// patientColumns) for a join.
func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}
