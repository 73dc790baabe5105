package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// EnrollRequest is what the front desk types (or a CSV row, or an API call).
// TZ is the patient's IANA zone: Enroll fills in an empty one (a returning
// patient's, else the clinic's); an import row needs one.
type EnrollRequest struct {
	Name         string `json:"name"`
	Phone        string `json:"phone"`
	Email        string `json:"email"`
	TZ           string `json:"tz"`
	Lang         string `json:"lang"`
	Protocol     string `json:"protocol"`
	TreatedAt    string `json:"treated_at"`
	SMSConsent   bool   `json:"sms_consent"`
	EmailConsent bool   `json:"email_consent"`
	// Source says who enrolled, recorded with the consent: "cli",
	// "import:patients.csv:12", "api:token-3".
	Source string `json:"-"`
	// AskDate: for a treatment date TreatmentDateWarning finds unusual,
	// store nothing and return ECONFLICT naming "confirm_date" with the
	// warning, for a form that asks before it enrolls. Without it the
	// enrollment is stored and the warning is in EnrollResult.Warnings.
	AskDate bool `json:"-"`
}

// EnrollResult is a stored enrollment with its messages.
type EnrollResult struct {
	Enrollment *aftercare.Enrollment
	Patient    *aftercare.Patient
	Messages   []*aftercare.Message
	Created    bool // false when the same enrollment already existed
	// Warnings are what to check although the enrollment was stored: an
	// unusual treatment date (TreatmentDateWarning).
	Warnings []string
}

// prepare validates req and plans its messages. Errors are EINVALID and
// name the field to fix.
func (s *Service) prepare(ctx context.Context, clinic *aftercare.Clinic, req EnrollRequest, now time.Time) (*aftercare.NewEnrollment, error) {
	c, err := s.check(ctx, clinic, req, now, func(ctx context.Context, slug string) (*Compiled, error) {
		return s.Protocol(ctx, clinic.ID, slug, 0)
	}, s.defaultZone)
	if err != nil {
		return nil, err
	}
	var busy []Busy
	old, err := s.Store.FindPatientByMatchKey(ctx, clinic.ID, c.patient.MatchKey())
	if err == nil {
		if busy, err = s.busy(ctx, clinic.ID, old.ID, 0); err != nil {
			return nil, err
		}
	} else if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		return nil, err
	}
	return c.plan(clinic, old, busy, now, func() (bool, error) {
		return s.hasEnrollment(ctx, clinic.ID, old, c.key)
	})
}

// checked is an enrollment request that passed validation.
type checked struct {
	patient *aftercare.Patient // as entered, with the consent given now
	cp      *Compiled
	treated time.Time
	source  string
	key     string // the enrollment's Key
	userID  int64  // the staff user enrolling (aftercare.ActorFrom), 0 for none
}

// check validates req; protocol finds the latest version of a slug, and
// zone, if not nil, gives the zone of a request that names none, from the
// patient's validated name, phone and email (an import passes nil: every
// row names its zone). Errors are EINVALID and name the field to fix.
func (s *Service) check(ctx context.Context, clinic *aftercare.Clinic, req EnrollRequest, now time.Time,
	protocol func(ctx context.Context, slug string) (*Compiled, error),
	zone func(ctx context.Context, clinic *aftercare.Clinic, who *aftercare.Patient) (string, error)) (*checked, error) {
	name, err := aftercare.ValidateName(req.Name)
	if err != nil {
		return nil, err
	}
	phone, err := aftercare.NormalizePhone(req.Phone, clinic.Country)
	if err != nil {
		return nil, err
	}
	email, err := aftercare.NormalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	if phone == "" && email == "" {
		return nil, aftercare.FieldErrorf("phone", "give a phone number or an email address: the patient must be reachable")
	}
	if req.SMSConsent && phone == "" {
		return nil, aftercare.FieldErrorf("sms_consent", "SMS consent was given but there is no phone number")
	}
	if req.EmailConsent && email == "" {
		return nil, aftercare.FieldErrorf("email_consent", "email consent was given but there is no email address")
	}
	tz := req.TZ
	if zone != nil && strings.TrimSpace(tz) == "" {
		if tz, err = zone(ctx, clinic, &aftercare.Patient{Name: name, Phone: phone, Email: email}); err != nil {
			return nil, err
		}
	}
	loc, err := aftercare.LoadZone(tz)
	if err != nil {
		return nil, err
	}
	treated, err := aftercare.ParseTreatmentTime(req.TreatedAt, loc)
	if err != nil {
		return nil, err
	}
	if d := treated.Sub(now); d > aftercare.MaxOffset || d < -aftercare.MaxOffset {
		return nil, aftercare.FieldErrorf("treated_at", "%s is more than a year from today; check the year", treated.In(loc).Format("2006-01-02 15:04"))
	}
	if strings.TrimSpace(req.Protocol) == "" {
		return nil, aftercare.FieldErrorf("protocol", "choose a protocol; %s", s.protocolChoices(ctx, clinic.ID))
	}
	cp, err := protocol(ctx, strings.TrimSpace(req.Protocol))
	if err != nil {
		return nil, err
	}
	lang, err := pickLang(cp.Protocol, req.Lang)
	if err != nil {
		return nil, err
	}
	source := req.Source
	if source == "" {
		source = "unknown"
	}
	p := &aftercare.Patient{ClinicID: clinic.ID, Name: name, Phone: phone, Email: email, TZ: tz, Lang: lang}
	if req.SMSConsent {
		p.SMSConsent = aftercare.Consent{At: now, Source: source}
	}
	if req.EmailConsent {
		p.EmailConsent = aftercare.Consent{At: now, Source: source}
	}
	return &checked{patient: p, cp: cp, treated: treated, source: source, key: enrollmentKey(p, cp.Slug, treated),
		userID: aftercare.ActorFrom(ctx).UserID}, nil
}

// plan plans c's messages for the patient the store will match it with:
// old (nil for a new patient), whose consent given before still holds and
// whose opt-outs count, and who already has the messages busy, which count
// toward the daily cap. A plan with no pending message is refused (see
// nothingToSend) unless stored says the enrollment exists already: the
// store then returns that one, however much of it is left to send.
func (c *checked) plan(clinic *aftercare.Clinic, old *aftercare.Patient, busy []Busy, now time.Time,
	stored func() (bool, error)) (*aftercare.NewEnrollment, error) {
	p := c.patient
	plannedFor := *p
	if old != nil {
		if !plannedFor.SMSConsent.Given() {
			plannedFor.SMSConsent = old.SMSConsent
		}
		if !plannedFor.EmailConsent.Given() {
			plannedFor.EmailConsent = old.EmailConsent
		}
		plannedFor.SMSOptOutAt, plannedFor.EmailOptOut = old.SMSOptOutAt, old.EmailOptOut
	}
	msgs, err := Expand(Plan{
		Protocol: c.cp.Protocol, Renderer: c.cp.Renderer, Clinic: clinic, Patient: &plannedFor,
		TreatedAt: c.treated, Now: now, Busy: busy,
	})
	if err != nil {
		return nil, err
	}
	if refusal := nothingToSend(c.cp, &plannedFor, c.treated, msgs); refusal != nil {
		known, err := stored()
		if err != nil {
			return nil, err
		}
		if !known {
			return nil, refusal
		}
	}
	e := &aftercare.Enrollment{
		ClinicID: clinic.ID, ProtocolID: c.cp.ID, ProtocolSlug: c.cp.Slug, ProtocolVersion: c.cp.Version,
		TreatedAt: c.treated, Status: aftercare.EnrollmentActive,
		Key: c.key, Source: c.source,
	}
	return &aftercare.NewEnrollment{Patient: p, Enrollment: e, Messages: msgs, UserID: c.userID}, nil
}

// enrollmentKey: the same person, protocol and treatment time is the same
// enrollment, whichever version of the protocol is current.
func enrollmentKey(p *aftercare.Patient, slug string, treated time.Time) string {
	return sha([]byte(p.MatchKey() + "|" + slug + "|" + treated.UTC().Format(time.RFC3339)))[:32]
}

// busy lists the patient's live messages, leaving out the pending ones of
// one enrollment (the one being planned again).
func (s *Service) busy(ctx context.Context, clinicID, patientID, exceptEnrollment int64) ([]Busy, error) {
	msgs, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{
		ClinicID: clinicID, PatientID: patientID,
		Statuses: []aftercare.Status{aftercare.StatusPending, aftercare.StatusSending, aftercare.StatusSent, aftercare.StatusDelivered, aftercare.StatusUnknown},
	})
	if err != nil {
		return nil, err
	}
	var b []Busy
	for _, m := range msgs {
		if m.EnrollmentID != exceptEnrollment || m.Status != aftercare.StatusPending {
			b = append(b, Busy{At: m.SendAt, Channel: m.Channel})
		}
	}
	return b, nil
}

// Enroll validates req, plans the protocol for the patient and stores
// patient, enrollment and messages all or nothing. Enrolling the same
// patient on the same protocol for the same treatment time again returns
// the stored enrollment (Created false) and writes nothing. An empty
// req.TZ is the zone of the patient when the clinic knows them (the same
// name, phone and email), else the clinic's (see defaultZone); the result's
// Patient.TZ is the zone used. EINVALID names the field to fix.
func (s *Service) Enroll(ctx context.Context, clinic *aftercare.Clinic, req EnrollRequest) (*EnrollResult, error) {
	now := s.Now().UTC()
	ne, err := s.prepare(ctx, clinic, req, now)
	if err != nil {
		return nil, err
	}
	loc, err := aftercare.LoadZone(ne.Patient.TZ)
	if err != nil {
		return nil, err
	}
	warning := TreatmentDateWarning(ne.Enrollment.TreatedAt, now, loc, ne.Messages)
	if warning != "" && req.AskDate {
		return nil, &aftercare.Error{Code: aftercare.ECONFLICT, Field: "confirm_date", Message: warning}
	}
	created, err := s.Store.Enroll(ctx, ne)
	if err != nil {
		return nil, err
	}
	if created {
		e := ne.Enrollment
		if err := s.Audit(ctx, clinic.ID, aftercare.AuditEnroll, fmt.Sprintf("enrollment %d", e.ID),
			fmt.Sprintf("patient %d, %s v%d, consent: %s", e.PatientID, e.ProtocolSlug, e.ProtocolVersion, consentGiven(req))); err != nil {
			return nil, err
		}
	}
	res, err := s.result(ctx, ne, created)
	if err == nil && warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	return res, err
}

// defaultZone is the zone of an enrollment request that names none, for
// the patient who (name, phone and email, validated) it names: the stored
// patient's when the clinic has them (Store.Enroll would otherwise move a
// returning patient, say in Denver, to the clinic's zone, and plan their
// new messages in it), else the clinic's, as on the command line. The
// error is the store's.
func (s *Service) defaultZone(ctx context.Context, clinic *aftercare.Clinic, who *aftercare.Patient) (string, error) {
	p, err := s.Store.FindPatientByMatchKey(ctx, clinic.ID, who.MatchKey())
	switch {
	case aftercare.ErrorCode(err) == aftercare.ENOTFOUND:
		return clinic.TZ, nil
	case err != nil:
		return "", err
	}
	return ZoneOrClinic(p.TZ, clinic), nil
}

// consentGiven names the channels an enrollment request gives consent to.
func consentGiven(req EnrollRequest) string {
	switch {
	case req.SMSConsent && req.EmailConsent:
		return "sms, email"
	case req.SMSConsent:
		return "sms"
	case req.EmailConsent:
		return "email"
	}
	return "none given now"
}

func (s *Service) result(ctx context.Context, ne *aftercare.NewEnrollment, created bool) (*EnrollResult, error) {
	res := &EnrollResult{Enrollment: ne.Enrollment, Patient: ne.Patient, Messages: ne.Messages, Created: created}
	if created {
		return res, nil
	}
	return s.Enrollment(ctx, ne.Enrollment.ClinicID, ne.Enrollment.ID)
}

// Enrollment returns a stored enrollment with its patient and messages.
// ENOTFOUND when the clinic has no such enrollment.
func (s *Service) Enrollment(ctx context.Context, clinicID, id int64) (*EnrollResult, error) {
	e, err := s.Store.FindEnrollment(ctx, clinicID, id)
	if err != nil {
		return nil, err
	}
	p, err := s.Store.FindPatient(ctx, clinicID, e.PatientID)
	if err != nil {
		return nil, err
	}
	msgs, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinicID, EnrollmentID: id})
	if err != nil {
		return nil, err
	}
	return &EnrollResult{Enrollment: e, Patient: p, Messages: msgs}, nil
}

// Cancel cancels an enrollment's pending messages; what was already sent
// stays in the history. It returns how many messages were cancelled.
// ENOTFOUND when the clinic has no such enrollment.
func (s *Service) Cancel(ctx context.Context, clinicID, id int64) (int, error) {
	n, err := s.Store.CancelEnrollment(ctx, clinicID, id, s.Now().UTC())
	if err != nil {
		return 0, err
	}
	return n, s.Audit(ctx, clinicID, aftercare.AuditCancel, fmt.Sprintf("enrollment %d", id), fmt.Sprintf("%d pending messages cancelled", n))
}

// Reschedule moves an enrollment to a new treatment time and recomputes
// what is still pending (or was skipped); sent messages stay in the
// history. The enrollment keeps its protocol version. The result's
// Warnings say what to check although the move was stored (an unusual
// date: TreatmentDateWarning). ECONFLICT for a cancelled enrollment,
// EINVALID for a bad time.
func (s *Service) Reschedule(ctx context.Context, clinic *aftercare.Clinic, id int64, treatedAt string) (*EnrollResult, error) {
	return s.reschedule(ctx, clinic, id, treatedAt, false)
}

// RescheduleAskingDate is Reschedule for a form that asks before it moves
// a treatment to a date TreatmentDateWarning finds unusual: it then stores
// nothing and returns ECONFLICT naming "confirm_date" with the warning, as
// Enroll does for EnrollRequest.AskDate. Reschedule moves it once confirmed.
func (s *Service) RescheduleAskingDate(ctx context.Context, clinic *aftercare.Clinic, id int64, treatedAt string) (*EnrollResult, error) {
	return s.reschedule(ctx, clinic, id, treatedAt, true)
}

func (s *Service) reschedule(ctx context.Context, clinic *aftercare.Clinic, id int64, treatedAt string, askDate bool) (*EnrollResult, error) {
	now := s.Now().UTC()
	cur, err := s.Enrollment(ctx, clinic.ID, id)
	if err != nil {
		return nil, err
	}
	e, p := cur.Enrollment, cur.Patient
	if e.Status == aftercare.EnrollmentCancelled {
		return nil, aftercare.Errorf(aftercare.ECONFLICT, "enrollment %d is cancelled; enroll the patient again instead", id)
	}
	loc, err := aftercare.LoadZone(p.TZ)
	if err != nil {
		return nil, err
	}
	treated, err := aftercare.ParseTreatmentTime(treatedAt, loc)
	if err != nil {
		return nil, err
	}
	if d := treated.Sub(now); d > aftercare.MaxOffset || d < -aftercare.MaxOffset {
		return nil, aftercare.FieldErrorf("treated_at", "%s is more than a year from today; check the year", treated.In(loc).Format("2006-01-02 15:04"))
	}
	cp, plan, err := s.replan(ctx, clinic, e, p, treated, now, PlanRescheduled)
	if err != nil {
		return nil, err
	}
	// Nothing sent, nothing enrolled holds for a move too: an enrollment
	// left with nothing to send is refused (cancel it instead), counting
	// as sent what the plan has pending but went out already.
	if err := unprocessable(whyNothing(cp, p, treated, stillToSend(plan, cur.Messages), true)); err != nil {
		return nil, err
	}
	warning := TreatmentDateWarning(treated, now, loc, plan)
	if warning != "" && askDate {
		return nil, &aftercare.Error{Code: aftercare.ECONFLICT, Field: "confirm_date", Message: warning}
	}
	e.TreatedAt = treated
	e.Key = enrollmentKey(p, cp.Slug, treated)
	if err := s.Store.Reschedule(ctx, e, plan, now); err != nil {
		return nil, err
	}
	if err := s.Audit(ctx, clinic.ID, aftercare.AuditReschedule, fmt.Sprintf("enrollment %d", id),
		"treated at "+treated.In(loc).Format("2006-01-02 15:04 MST")); err != nil {
		return nil, err
	}
	res, err := s.Enrollment(ctx, clinic.ID, id)
	if err == nil && warning != "" {
		res.Warnings = append(res.Warnings, warning)
	}
	return res, err
}

// stillToSend returns plan with its pending messages marked sent where
// their stored twin (same step, occurrence and channel) is history, which
// Store.Reschedule keeps as it is: what is left pending would go out.
func stillToSend(plan, stored []*aftercare.Message) []*aftercare.Message {
	history := map[string]bool{}
	for _, m := range stored {
		switch {
		case m.Status == aftercare.StatusPending, m.Status == aftercare.StatusSkipped,
			m.Status == aftercare.StatusCancelled && m.Note == "rescheduled":
		default:
			history[m.Ident()] = true
		}
	}
	out := make([]*aftercare.Message, len(plan))
	for i, m := range plan {
		out[i] = m
		if m.Status == aftercare.StatusPending && history[m.Ident()] {
			sent := *m
			sent.Status = aftercare.StatusSent
			out[i] = &sent
		}
	}
	return out
}

// replan expands e's protocol version again for p treated at treated, as
// of now, counting the patient's live messages of other enrollments toward
// the daily cap. Store.Reschedule applies the plan.
func (s *Service) replan(ctx context.Context, clinic *aftercare.Clinic, e *aftercare.Enrollment, p *aftercare.Patient, treated, now time.Time, event PlanEvent) (*Compiled, []*aftercare.Message, error) {
	cp, err := s.protocolByID(ctx, clinic.ID, e.ProtocolID)
	if err != nil {
		return nil, nil, err
	}
	busy, err := s.busy(ctx, clinic.ID, p.ID, e.ID)
	if err != nil {
		return nil, nil, err
	}
	plan, err := Expand(Plan{Protocol: cp.Protocol, Renderer: cp.Renderer, Clinic: clinic, Patient: p, TreatedAt: treated, Now: now, Busy: busy, Event: event})
	if err != nil {
		return nil, nil, err
	}
	return cp, plan, nil
}

// ZoneOrClinic returns tz, or the clinic's zone when tz is empty: the
// patient's zone the front desk means when it names none (the command
// line's enroll and preview, the API's preview; the web form starts from
// the clinic's zone). Enroll defaults an empty zone itself, preferring a
// returning patient's; an import names the zone of every row.
func ZoneOrClinic(tz string, clinic *aftercare.Clinic) string {
	if strings.TrimSpace(tz) == "" {
		return clinic.TZ
	}
	return tz
}

// aOrAn puts "a" or "an" before word, by its first letter (enough for the
// words ParseID is given).
func aOrAn(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// ParseID reads an enrollment or patient id as typed.
func ParseID(what, s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(s), "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, aftercare.FieldErrorf("id", "%q is not %s id: use the number that enroll printed", s, aOrAn(what))
	}
	return id, nil
}
