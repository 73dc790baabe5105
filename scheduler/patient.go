package scheduler

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// PatientChanges are the details UpdatePatient may change; a nil field
// leaves one as it is.
type PatientChanges struct {
	Name  *string
	Phone *string // as written, read in the clinic's country; "" removes it
	Email *string // "" removes it
	TZ    *string // IANA zone
	Lang  *string // language code, e.g. "es"
	// SMSConsent and EmailConsent: true records consent now, with Source
	// (consent recorded before is kept as it was); false withdraws it.
	SMSConsent   *bool
	EmailConsent *bool
	// SMSOptOut and EmailOptOut: true records an opt-out now (one recorded
	// before is kept as it was); false clears it.
	SMSOptOut   *bool
	EmailOptOut *bool
	// Source says who made the change, recorded with consent given now
	// and in the consent history: "cli", "web:ana@clinic.example",
	// "api:EHR integration". The staff user is ctx's actor
	// (aftercare.ActorFrom).
	Source string
}

// langRE is the shape of a language code as the front desk types it
// (protocols are checked for the language itself).
var langRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]{2})?$`)

// UpdatePatient applies ch to the clinic's patient id, validated as Enroll
// validates (the phone read in the clinic's country, the email, the zone,
// and a language that every active enrollment's protocol is written in),
// saves it, and then plans every active enrollment of the patient again for
// its treatment time, so that pending messages take a new language or name
// (re-rendered texts), zone (re-timed), address or consent (messages of a
// channel added or cancelled). Messages already sent stay in the history; a
// pending message whose time has passed is still sent, as soon as the send
// window allows, with the new text.
//
// Nothing is written when validation fails. It returns EINVALID naming the
// field to fix, ENOTFOUND when the clinic has no such patient, and
// ECONFLICT when another patient of the clinic has the same name, phone and
// email. When a re-plan fails after the patient was saved, the error says
// so and names the enrollment.
func (s *Service) UpdatePatient(ctx context.Context, clinic *aftercare.Clinic, id int64, ch PatientChanges) (*aftercare.Patient, error) {
	now := s.Now().UTC()
	old, err := s.Store.FindPatient(ctx, clinic.ID, id)
	if err != nil {
		return nil, err
	}
	p := *old
	if err := applyPatientChanges(&p, clinic, ch, now); err != nil {
		return nil, err
	}
	active, err := s.activeEnrollments(ctx, clinic.ID, id)
	if err != nil {
		return nil, err
	}
	// Every active protocol must be able to plan for the patient as changed
	// before anything is saved.
	for _, e := range active {
		cp, err := s.protocolByID(ctx, clinic.ID, e.ProtocolID)
		if err != nil {
			return nil, err
		}
		if _, err := pickLang(cp.Protocol, p.Lang); err != nil {
			return nil, err
		}
		if _, err := Expand(Plan{Protocol: cp.Protocol, Renderer: cp.Renderer, Clinic: clinic, Patient: &p, TreatedAt: e.TreatedAt, Now: now}); err != nil {
			return nil, err
		}
	}
	if p == *old {
		return old, nil
	}
	source := ch.Source
	if source == "" {
		source = "unknown"
	}
	actor := aftercare.ActorFrom(ctx)
	if err := s.Store.UpdatePatient(ctx, &p, consentEvents(old, &p, source, actor.UserID, now)...); err != nil {
		return nil, err
	}
	if err := s.Audit(ctx, clinic.ID, aftercare.AuditPatientUpdate, fmt.Sprintf("patient %d", p.ID), patientChanged(old, &p)); err != nil {
		return nil, err
	}
	var failed error
	for _, e := range active {
		err := s.replanFor(ctx, clinic, e, &p, now)
		switch {
		case err == nil || failed != nil:
		case aftercare.ErrorCode(err) == aftercare.EINTERNAL:
			failed = fmt.Errorf("the patient's details were saved, but enrollment %d could not be planned again: %w", e.ID, err)
		default:
			failed = aftercare.Errorf(aftercare.ErrorCode(err), "the patient's details were saved, but enrollment %d could not be planned again: %s", e.ID, aftercare.ErrorMessage(err))
		}
	}
	if failed != nil {
		return nil, failed
	}
	return &p, nil
}

// applyPatientChanges validates ch and applies it to p.
func applyPatientChanges(p *aftercare.Patient, clinic *aftercare.Clinic, ch PatientChanges, now time.Time) error {
	if ch.Name != nil {
		name, err := aftercare.ValidateName(*ch.Name)
		if err != nil {
			return err
		}
		p.Name = name
	}
	if ch.Phone != nil {
		phone, err := aftercare.NormalizePhone(*ch.Phone, clinic.Country)
		if err != nil {
			return err
		}
		p.Phone = phone
	}
	if ch.Email != nil {
		email, err := aftercare.NormalizeEmail(*ch.Email)
		if err != nil {
			return err
		}
		p.Email = email
	}
	if p.Phone == "" && p.Email == "" {
		return aftercare.FieldErrorf("phone", "give a phone number or an email address: the patient must be reachable")
	}
	if ch.TZ != nil {
		tz := strings.TrimSpace(*ch.TZ)
		if _, err := aftercare.LoadZone(tz); err != nil {
			return err
		}
		p.TZ = tz
	}
	if ch.Lang != nil {
		lang := strings.ToLower(strings.TrimSpace(*ch.Lang))
		if !langRE.MatchString(lang) {
			return aftercare.FieldErrorf("lang", "%q is not a language code: use a two-letter code such as en or es", *ch.Lang)
		}
		p.Lang = lang
	}
	source := ch.Source
	if source == "" {
		source = "unknown"
	}
	if ch.SMSConsent != nil {
		if *ch.SMSConsent && p.Phone == "" {
			return aftercare.FieldErrorf("sms_consent", "SMS consent was given but there is no phone number")
		}
		p.SMSConsent = consent(p.SMSConsent, *ch.SMSConsent, now, source)
	}
	if ch.EmailConsent != nil {
		if *ch.EmailConsent && p.Email == "" {
			return aftercare.FieldErrorf("email_consent", "email consent was given but there is no email address")
		}
		p.EmailConsent = consent(p.EmailConsent, *ch.EmailConsent, now, source)
	}
	if ch.SMSOptOut != nil {
		p.SMSOptOutAt = optOut(p.SMSOptOutAt, *ch.SMSOptOut, now)
	}
	if ch.EmailOptOut != nil {
		p.EmailOptOut = optOut(p.EmailOptOut, *ch.EmailOptOut, now)
	}
	return nil
}

// consent is c after the patient said yes (given) or no: the first consent
// recorded stands until it is withdrawn.
func consent(c aftercare.Consent, given bool, now time.Time, source string) aftercare.Consent {
	switch {
	case !given:
		return aftercare.Consent{}
	case c.Given():
		return c
	}
	return aftercare.Consent{At: now, Source: source}
}

// optOut is an opt-out time after the patient opted out (out) or back in.
func optOut(at time.Time, out bool, now time.Time) time.Time {
	switch {
	case !out:
		return time.Time{}
	case !at.IsZero():
		return at
	}
	return now
}

// activeEnrollments returns the patient's enrollments that are not
// cancelled.
func (s *Service) activeEnrollments(ctx context.Context, clinicID, patientID int64) ([]*aftercare.Enrollment, error) {
	var out []*aftercare.Enrollment
	f := aftercare.EnrollmentFilter{ClinicID: clinicID, PatientID: patientID, Limit: 200}
	for {
		page, err := s.Store.ListEnrollments(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, es := range page {
			if es.Enrollment.Status == aftercare.EnrollmentActive {
				out = append(out, es.Enrollment)
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		f.BeforeID = page[len(page)-1].Enrollment.ID
	}
}

// replanFor plans enrollment e again for the changed patient p, for the
// same treatment time, and stores the plan (Store.Reschedule: pending twins
// take the new plan; history stays). The enrollment's key follows the
// patient's new details, so that enrolling the patient again as they are
// now finds it.
func (s *Service) replanFor(ctx context.Context, clinic *aftercare.Clinic, e *aftercare.Enrollment, p *aftercare.Patient, now time.Time) error {
	cp, plan, err := s.replan(ctx, clinic, e, p, e.TreatedAt, now, PlanChanged)
	if err != nil {
		return err
	}
	stored, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID, EnrollmentID: e.ID})
	if err != nil {
		return err
	}
	loc, err := aftercare.LoadZone(p.TZ)
	if err != nil {
		return err
	}
	keepOwed(plan, stored, loc, clinic.Window, now)
	e.Key = enrollmentKey(p, cp.Slug, e.TreatedAt)
	return s.Store.Reschedule(ctx, e, plan, now)
}

// keepOwed keeps a message that is still owed to the patient: Expand skips
// a step whose time has passed, which is right for a new enrollment but not
// for a pending message that has not been sent yet (it is due, or waiting
// for a retry). Such a message stays pending with the new text, sent as soon
// as the send window allows and before its expiry, keeping its retry time.
func keepOwed(plan, stored []*aftercare.Message, loc *time.Location, w aftercare.Window, now time.Time) {
	twins := make(map[ident]*aftercare.Message, len(stored))
	for _, m := range stored {
		twins[identOf(m)] = m
	}
	for _, m := range plan {
		tw := twins[identOf(m)]
		if m.Status != aftercare.StatusSkipped || tw == nil || tw.Status != aftercare.StatusPending {
			continue
		}
		at, note := tw.SendAt, tw.Note
		if at.Before(now) {
			var notes []string
			at, notes = intoWindow(now, loc, w)
			note = strings.Join(append([]string{"due when the patient's details changed: sent as soon as possible"}, notes...), "; ")
		}
		if !tw.ExpiresAt.IsZero() && !at.Before(tw.ExpiresAt) {
			continue // too late now: skipped
		}
		m.Status, m.SendAt, m.ExpiresAt, m.Note = aftercare.StatusPending, at, tw.ExpiresAt, note
		m.NextAttemptAt = at
		if tw.NextAttemptAt.After(at) {
			m.NextAttemptAt = tw.NextAttemptAt // a retry keeps its backoff
		}
	}
}

// ident is a message's natural key within its enrollment.
type ident struct {
	step    string
	occ     int
	channel aftercare.Channel
}

func identOf(m *aftercare.Message) ident { return ident{m.StepKey, m.Occurrence, m.Channel} }
