package web

import (
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// The API's JSON views of domain types. Times are RFC 3339 in UTC, and ""
// for a time that has not happened (a message not sent yet). The message
// view is defined once, here: `aftercare log --json` prints the same.

// MessageJSON is a message in the delivery log: one row of GET
// /api/v1/messages and of `aftercare log --json`.
type MessageJSON struct {
	MessageID    int64  `json:"message_id"`
	EnrollmentID int64  `json:"enrollment_id"`
	PatientID    int64  `json:"patient_id"`
	Step         string `json:"step"`
	Occurrence   int    `json:"occurrence"`
	Channel      string `json:"channel"`
	Status       string `json:"status"`
	SendAt       string `json:"send_at"`
	SentAt       string `json:"sent_at"`
	DeliveredAt  string `json:"delivered_at"`
	Sender       string `json:"sender"`
	ProviderID   string `json:"provider_id"`
	ErrorCode    string `json:"error_code"`
	Error        string `json:"error"`
	Attempts     int    `json:"attempts"`
	Note         string `json:"note"`
}

// NewMessageJSON returns the delivery log's view of m.
func NewMessageJSON(m *aftercare.Message) MessageJSON {
	return MessageJSON{m.ID, m.EnrollmentID, m.PatientID, m.StepKey, m.Occurrence, string(m.Channel), string(m.Status),
		apiTime(m.SendAt), apiTime(m.SentAt), apiTime(m.DeliveredAt), m.Sender, m.ProviderID, m.ErrorCode, m.Error, m.Attempts, m.Note}
}

// MessageTextJSON is a message with its text: the delivery log's fields,
// then what the patient reads and when in their own zone. Enrollments,
// previews and message details use it. In a preview nothing is stored, so
// the ids are 0.
type MessageTextJSON struct {
	MessageJSON
	Lang      string `json:"lang"`
	Local     string `json:"local"` // send_at in the patient's zone, with its offset
	ExpiresAt string `json:"expires_at"`
	Subject   string `json:"subject"`  // email only
	Body      string `json:"body"`     // the text as it is sent
	Segments  int    `json:"segments"` // SMS only: how many segments Body takes
}

// NewMessageTextJSON returns m with its text, its local time in loc.
func NewMessageTextJSON(m *aftercare.Message, loc *time.Location) MessageTextJSON {
	return MessageTextJSON{MessageJSON: NewMessageJSON(m), Lang: m.Lang, Local: m.SendAt.In(loc).Format(time.RFC3339),
		ExpiresAt: apiTime(m.ExpiresAt), Subject: m.Subject, Body: m.Body, Segments: m.Segments}
}

func apiMessagesText(msgs []*aftercare.Message, loc *time.Location) []MessageTextJSON {
	out := make([]MessageTextJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, NewMessageTextJSON(m, loc))
	}
	return out
}

// AttemptJSON is one call to a provider for a message.
type AttemptJSON struct {
	Number         int    `json:"number"`
	At             string `json:"at"`
	Channel        string `json:"channel"`
	Sender         string `json:"sender"`
	ProviderID     string `json:"provider_id"`
	ProviderStatus string `json:"provider_status"`
	ErrorCode      string `json:"error_code"`
	Error          string `json:"error"`
	LatencyMS      int64  `json:"latency_ms"`
	Outcome        string `json:"outcome"`
}

// NewAttemptJSON returns the API's view of a.
func NewAttemptJSON(a *aftercare.Attempt) AttemptJSON {
	return AttemptJSON{a.Number, apiTime(a.At), string(a.Channel), a.Sender, a.ProviderID, a.ProviderStatus,
		a.ErrorCode, a.Error, a.Latency.Milliseconds(), string(a.Outcome)}
}

// MessageDetailJSON is one message with its text and every attempt to
// send it, oldest first.
type MessageDetailJSON struct {
	Message  MessageTextJSON `json:"message"`
	Attempts []AttemptJSON   `json:"attempts"`
}

// PatientJSON is a patient: contact details, language, and consent and
// opt-out per channel.
type PatientJSON struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	Phone              string `json:"phone"` // E.164
	Email              string `json:"email"`
	TZ                 string `json:"tz"`
	Lang               string `json:"lang"`
	SMSConsent         bool   `json:"sms_consent"`
	SMSConsentAt       string `json:"sms_consent_at"`
	SMSConsentSource   string `json:"sms_consent_source"`
	EmailConsent       bool   `json:"email_consent"`
	EmailConsentAt     string `json:"email_consent_at"`
	EmailConsentSource string `json:"email_consent_source"`
	SMSOptOut          bool   `json:"sms_opt_out"`
	SMSOptOutAt        string `json:"sms_opt_out_at"`
	EmailOptOut        bool   `json:"email_opt_out"`
	EmailOptOutAt      string `json:"email_opt_out_at"`
	CreatedAt          string `json:"created_at"`
	UpdatedAt          string `json:"updated_at"`
}

// NewPatientJSON returns the API's view of p.
func NewPatientJSON(p *aftercare.Patient) PatientJSON {
	return PatientJSON{
		ID: p.ID, Name: p.Name, Phone: p.Phone, Email: p.Email, TZ: p.TZ, Lang: p.Lang,
		SMSConsent: p.SMSConsent.Given(), SMSConsentAt: apiTime(p.SMSConsent.At), SMSConsentSource: p.SMSConsent.Source,
		EmailConsent: p.EmailConsent.Given(), EmailConsentAt: apiTime(p.EmailConsent.At), EmailConsentSource: p.EmailConsent.Source,
		SMSOptOut: !p.SMSOptOutAt.IsZero(), SMSOptOutAt: apiTime(p.SMSOptOutAt),
		EmailOptOut: !p.EmailOptOut.IsZero(), EmailOptOutAt: apiTime(p.EmailOptOut),
		CreatedAt: apiTime(p.CreatedAt), UpdatedAt: apiTime(p.UpdatedAt),
	}
}

// EnrollmentJSON is an enrollment with its patient and every message
// planned for it, in send order.
type EnrollmentJSON struct {
	ID              int64             `json:"id"`
	PatientID       int64             `json:"patient_id"`
	Status          string            `json:"status"` // active or cancelled
	Protocol        string            `json:"protocol"`
	ProtocolVersion int               `json:"protocol_version"`
	TreatedAt       string            `json:"treated_at"`
	Source          string            `json:"source"`
	CreatedAt       string            `json:"created_at"`
	UpdatedAt       string            `json:"updated_at"`
	CancelledAt     string            `json:"cancelled_at"`
	Patient         PatientJSON       `json:"patient"`
	Messages        []MessageTextJSON `json:"messages"`
}

// NewEnrollmentJSON returns the API's view of an enrollment; message
// times are shown in the patient's zone.
func NewEnrollmentJSON(r *scheduler.EnrollResult) EnrollmentJSON {
	e := r.Enrollment
	loc, err := aftercare.LoadZone(r.Patient.TZ)
	if err != nil {
		loc = time.UTC
	}
	return EnrollmentJSON{ID: e.ID, PatientID: e.PatientID, Status: e.Status, Protocol: e.ProtocolSlug,
		ProtocolVersion: e.ProtocolVersion, TreatedAt: apiTime(e.TreatedAt), Source: e.Source,
		CreatedAt: apiTime(e.CreatedAt), UpdatedAt: apiTime(e.UpdatedAt), CancelledAt: apiTime(e.CancelledAt),
		Patient: NewPatientJSON(r.Patient), Messages: apiMessagesText(r.Messages, loc)}
}

// CancelJSON is a cancelled enrollment and how many pending messages this
// request cancelled (0 when it was cancelled already).
type CancelJSON struct {
	EnrollmentJSON
	CancelledMessages int `json:"cancelled_messages"`
}

// EnrollmentSummaryJSON is one row of the enrollment list: the enrollment,
// who, and how far its messages have got.
type EnrollmentSummaryJSON struct {
	ID              int64  `json:"id"`
	PatientID       int64  `json:"patient_id"`
	PatientName     string `json:"patient_name"`
	Status          string `json:"status"`
	Protocol        string `json:"protocol"`
	ProtocolVersion int    `json:"protocol_version"`
	TreatedAt       string `json:"treated_at"`
	Source          string `json:"source"`
	CreatedAt       string `json:"created_at"`
	Pending         int    `json:"pending"`  // pending or sending
	Done            int    `json:"done"`     // sent or delivered
	Problems        int    `json:"problems"` // failed, undelivered, unknown or expired
	NextSendAt      string `json:"next_send_at"`
}

// NewEnrollmentSummaryJSON returns the API's view of a list row.
func NewEnrollmentSummaryJSON(s *aftercare.EnrollmentSummary) EnrollmentSummaryJSON {
	e := s.Enrollment
	j := EnrollmentSummaryJSON{ID: e.ID, PatientID: e.PatientID, Status: e.Status, Protocol: e.ProtocolSlug,
		ProtocolVersion: e.ProtocolVersion, TreatedAt: apiTime(e.TreatedAt), Source: e.Source, CreatedAt: apiTime(e.CreatedAt),
		Pending: s.Pending, Done: s.Done, Problems: s.Problems, NextSendAt: apiTime(s.NextSendAt)}
	if s.Patient != nil {
		j.PatientName = s.Patient.Name
	}
	return j
}

// ClinicJSON is the clinic's settings.
type ClinicJSON struct {
	ID            int64  `json:"id"`
	Slug          string `json:"slug"`
	Name          string `json:"name"`
	Phone         string `json:"phone"`
	Country       string `json:"country"`
	TZ            string `json:"tz"`
	Window        string `json:"window"` // HH:MM-HH:MM in the patient's local time
	DailyCap      int    `json:"daily_cap"`
	EmailFallback bool   `json:"email_fallback"`
	ShowTreatment bool   `json:"show_treatment"` // texts and email subjects name the treatment
	SMSFrom       string `json:"sms_from"`       // "" uses the server's Twilio sender
	EmailFrom     string `json:"email_from"`     // "" uses the server's SMTP_FROM
	// Two-way messaging and records.
	AlertEmail          string `json:"alert_email"`
	TwilioOptOutReplies bool   `json:"twilio_opt_out_replies"`
	RetentionDays       int    `json:"retention_days"`
	PatientLinks        bool   `json:"patient_links"`
	// The daily summary: emailed at summary_at (HH:MM, the clinic's zone)
	// to summary_to ("a@x.example, b@y.example"; "" is off).
	SummaryAt string `json:"summary_at"`
	SummaryTo string `json:"summary_to"`
	Default   bool   `json:"default"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// NewClinicJSON returns the API's view of c.
func NewClinicJSON(c *aftercare.Clinic) ClinicJSON {
	return ClinicJSON{c.ID, c.Slug, c.Name, c.Phone, c.Country, c.TZ, c.Window.String(), c.DailyCap, c.EmailFallback,
		c.ShowTreatment, c.SMSFrom, c.EmailFrom, c.AlertEmail, c.TwilioOptOutReplies, c.RetentionDays, c.PatientLinks,
		c.SummaryAt.String(), c.SummaryTo, c.Default, apiTime(c.CreatedAt), apiTime(c.UpdatedAt)}
}

// ProtocolJSON is one version of a protocol, without its steps.
type ProtocolJSON struct {
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	Version   int      `json:"version"`
	Source    string   `json:"source"` // builtin or clinic
	Languages []string `json:"languages"`
	SHA256    string   `json:"sha256"`
	CreatedAt string   `json:"created_at"`
}

// NewProtocolJSON returns the API's view of p.
func NewProtocolJSON(p *aftercare.Protocol) ProtocolJSON {
	langs := p.Languages
	if langs == nil {
		langs = []string{}
	}
	return ProtocolJSON{p.Slug, p.Name, p.Version, p.Source, langs, p.SHA256, apiTime(p.CreatedAt)}
}

// ProtocolDetailJSON is a protocol version with its steps and the
// document it was imported from.
type ProtocolDetailJSON struct {
	ProtocolJSON
	Steps []StepJSON `json:"steps"`
	YAML  string     `json:"yaml"`
}

// StepJSON is one step of a protocol: when it fires (in the words of
// `aftercare protocols show`), on which channels, and its text per
// language.
type StepJSON struct {
	Key      string                  `json:"key"`
	When     string                  `json:"when"`
	Channels []string                `json:"channels"`
	Expires  string                  `json:"expires"`
	Text     map[string]StepTextJSON `json:"text"`
}

// StepTextJSON is a step's templates in one language.
type StepTextJSON struct {
	SMS          string `json:"sms"`
	EmailSubject string `json:"email_subject"`
	EmailBody    string `json:"email_body"`
}

// NewProtocolDetailJSON returns the API's view of a parsed protocol.
func NewProtocolDetailJSON(p *aftercare.Protocol) ProtocolDetailJSON {
	d := ProtocolDetailJSON{ProtocolJSON: NewProtocolJSON(p), Steps: []StepJSON{}, YAML: p.YAML}
	for _, s := range p.Steps {
		st := StepJSON{Key: s.Key, When: s.Timing.String(), Channels: []string{}, Expires: aftercare.FormatOffset(s.Expires),
			Text: map[string]StepTextJSON{}}
		for _, c := range s.Channels {
			st.Channels = append(st.Channels, string(c))
		}
		for lang, t := range s.Text {
			st.Text[lang] = StepTextJSON{t.SMS, t.EmailSubject, t.EmailBody}
		}
		d.Steps = append(d.Steps, st)
	}
	return d
}

// PreviewJSON is the timeline a patient would get, with nothing stored.
type PreviewJSON struct {
	Protocol        string            `json:"protocol"`
	ProtocolName    string            `json:"protocol_name"`
	ProtocolVersion int               `json:"protocol_version"`
	TZ              string            `json:"tz"`
	Lang            string            `json:"lang"`
	TreatedAt       string            `json:"treated_at"`
	Messages        []MessageTextJSON `json:"messages"`
}

// DayStatJSON is one row of the daily counts: messages due on a day in the
// clinic's zone in a state (the rows of `aftercare stats --json`).
type DayStatJSON struct {
	Day    string `json:"day"`
	Status string `json:"status"`
	Count  int    `json:"count"`
}

// AttentionJSON is a message someone should look at, with the patient to
// call.
type AttentionJSON struct {
	Message MessageJSON `json:"message"`
	Patient PatientJSON `json:"patient"`
}
