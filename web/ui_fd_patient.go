package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// PatientForm is the patient's edit form as typed.
type PatientForm struct {
	Name, Phone, Email, TZ, Lang                     string
	SMSConsent, EmailConsent, SMSOptOut, EmailOptOut bool
}

var patientFields = []string{"name", "phone", "email", "tz", "lang", "sms_consent", "email_consent", "sms_optout", "email_optout"}

// PatientPage is the data of the "patient" template: the patient's card,
// the edit form, and each enrollment with its timeline.
type PatientPage struct {
	Patient     *aftercare.Patient
	Enrollments []*EnrollmentView
	Edit        PatientForm
	Errors      FieldErrors // the edit form's
	Languages   []option
	Zones       []option
	Now         time.Time
	Consent     []ConsentRow       // the consent history, oldest first (ui_fd_consent.go)
	Replies     []*aftercare.Reply // the patient's texts to the clinic, newest first
}

// NavSection marks "Patients" in the menu.
func (PatientPage) NavSection() string { return "patients" }

// EnrollmentView is one enrollment on the patient's page.
type EnrollmentView struct {
	*aftercare.EnrollmentSummary
	Protocol string // its name
	Messages []*aftercare.Message
	// The reschedule form: the value shown (the current treatment time, or
	// what was typed) and its error.
	TreatedAt string
	Error     string
	// Question: the time typed is on an unusual date (scheduler.
	// TreatmentDateWarning) and the form asks before moving the treatment
	// to it, as the enroll form asks before enrolling; nil when it does not.
	Question *DateQuestion
	// PageURL is the patient's own page of this enrollment (/p/TOKEN),
	// when the server has a public URL and a signing key.
	PageURL string
}

// Active reports whether the enrollment can still be cancelled or moved.
func (v *EnrollmentView) Active() bool { return v.Enrollment.Status == aftercare.EnrollmentActive }

// SourceLabel says who recorded a consent or made an enrollment, for people.
func (PatientPage) SourceLabel(src string) string {
	kind, rest, _ := strings.Cut(src, ":")
	switch kind {
	case "web":
		return "by " + rest + " in the web app"
	case "api":
		return "through the API (" + rest + ")"
	case "import":
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			return "by the import of " + rest[:i] + ", line " + rest[i+1:]
		}
		return "by the import of " + rest
	case "cli":
		return "on the command line"
	case "twilio":
		return "by Twilio"
	}
	return src
}

// Problems lists the edit form's errors for the summary above it.
func (p PatientPage) Problems() []Problem { return problemsOf(p.Errors, patientFields) }

// LanguageName names a language code.
func (PatientPage) LanguageName(code string) string { return languageName(code) }

func (s *Server) loadPatientPage(ctx context.Context, p *Principal, id int64) (*PatientPage, error) {
	pt, err := s.Store.FindPatient(ctx, p.Clinic.ID, id)
	if err != nil {
		return nil, err
	}
	protocols, err := s.Store.ListProtocols(ctx, p.Clinic.ID)
	if err != nil {
		return nil, err
	}
	names := namesOf(protocols)
	sums, err := s.Store.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: p.Clinic.ID, PatientID: pt.ID, Limit: 200})
	if err != nil {
		return nil, err
	}
	loc, err := aftercare.LoadZone(pt.TZ)
	if err != nil {
		loc = clinicZone(p.Clinic)
	}
	page := &PatientPage{Patient: pt, Errors: FieldErrors{}, Languages: languageOptions(protocols, pt.Lang), Zones: commonZones, Now: s.Now()}
	for _, sum := range sums {
		msgs, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: p.Clinic.ID, EnrollmentID: sum.Enrollment.ID})
		if err != nil {
			return nil, err
		}
		ev := &EnrollmentView{EnrollmentSummary: sum, Protocol: names.Name(sum.Enrollment.ProtocolSlug),
			Messages: msgs, TreatedAt: sum.Enrollment.TreatedAt.In(loc).Format(localInput)}
		if s.Pages.Enabled() {
			ev.PageURL = s.Pages.URLFor(p.Clinic.ID, sum.Enrollment.ID, msgs)
		}
		page.Enrollments = append(page.Enrollments, ev)
	}
	if page.Replies, err = s.Store.ListReplies(ctx, aftercare.ReplyFilter{ClinicID: p.Clinic.ID, PatientID: pt.ID, Limit: 100}); err != nil {
		return nil, err
	}
	page.Edit = PatientForm{Name: pt.Name, Email: pt.Email, TZ: pt.TZ, Lang: pt.Lang,
		SMSConsent: pt.SMSConsent.Given(), EmailConsent: pt.EmailConsent.Given(),
		SMSOptOut: !pt.SMSOptOutAt.IsZero(), EmailOptOut: !pt.EmailOptOut.IsZero()}
	if pt.Phone != "" {
		page.Edit.Phone = aftercare.DisplayPhone(pt.Phone)
	}
	if page.Consent, err = s.consentHistory(ctx, p.Clinic, pt.ID); err != nil {
		return nil, err
	}
	return page, nil
}

// pathPatientPage is the page of the clinic's patient the path's id names.
func (s *Server) pathPatientPage(r *http.Request) (*PatientPage, error) {
	id, err := pathID(r, "patient")
	if err != nil {
		return nil, err
	}
	return s.loadPatientPage(r.Context(), principal(r), id)
}

func (s *Server) patient(w http.ResponseWriter, r *http.Request) {
	page, err := s.pathPatientPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "patient", page.Patient.Name, page)
}

// editPatient saves the edit form: only what changed is sent to
// UpdatePatient, which checks it all and saves all or nothing.
func (s *Server) editPatient(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	page, err := s.pathPatientPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pt, fe := page.Patient, page.Errors
	f := PatientForm{
		Name: formValue(r, fe, "name"), Phone: formValue(r, fe, "phone"), Email: formValue(r, fe, "email"),
		TZ: formValue(r, fe, "tz"), Lang: formValue(r, fe, "lang"),
		SMSConsent: formCheck(r, fe, "sms_consent"), EmailConsent: formCheck(r, fe, "email_consent"),
		SMSOptOut: formCheck(r, fe, "sms_optout"), EmailOptOut: formCheck(r, fe, "email_optout"),
	}
	page.Edit = f
	ch, changed := patientChanges(p.Clinic, pt, f, page.Languages, fe)
	ch.Source = p.Actor()
	to := fmt.Sprintf("/patients/%d", pt.ID)
	if len(fe) == 0 && len(changed) > 0 {
		if _, err := s.Service.UpdatePatient(r.Context(), p.Clinic, pt.ID, ch); err != nil {
			// UpdatePatient saves the patient before planning the active
			// enrollments again; if that second part failed, the change is
			// stored and the page must not say otherwise.
			if now, ferr := s.Store.FindPatient(r.Context(), p.Clinic.ID, pt.ID); ferr == nil && !now.UpdatedAt.Equal(pt.UpdatedAt) {
				s.logger().Error("patient saved, re-plan failed", "clinic", p.Clinic.ID, "patient", pt.ID, "err", err)
				s.redirect(w, r, to, "Saved: "+strings.Join(changed, ", ")+". But: "+aftercare.ErrorMessage(err))
				return
			}
			if !fieldError(fe, err, patientFields...) {
				s.fail(w, r, err)
				return
			}
		}
	}
	if len(fe) > 0 {
		s.render(w, r, http.StatusBadRequest, "patient", pt.Name, page)
		return
	}
	if len(changed) == 0 {
		s.redirect(w, r, to, "Nothing was changed.")
		return
	}
	s.logger().Info("patient changed", "clinic", p.Clinic.ID, "patient", pt.ID, "fields", strings.Join(changed, ","), "by", p.Actor())
	s.redirect(w, r, to, "Saved: "+strings.Join(changed, ", ")+".")
}

// patientChanges checks the form and returns what differs from the stored
// patient, with the changed fields' names for people. Problems go into fe.
func patientChanges(c *aftercare.Clinic, pt *aftercare.Patient, f PatientForm, langs []option, fe FieldErrors) (scheduler.PatientChanges, []string) {
	var ch scheduler.PatientChanges
	var changed []string
	add := func(err error) {
		if err != nil {
			fieldError(fe, err, patientFields...)
		}
	}
	str := func(v string) *string { return &v }
	flag := func(v bool) *bool { return &v }

	name, err := aftercare.ValidateName(f.Name)
	add(err)
	if err == nil && name != pt.Name {
		ch.Name, changed = str(f.Name), append(changed, "name")
	}
	phone, perr := aftercare.NormalizePhone(f.Phone, c.Country)
	add(perr)
	if perr == nil && phone != pt.Phone {
		ch.Phone, changed = str(f.Phone), append(changed, "phone")
	}
	email, eerr := aftercare.NormalizeEmail(f.Email)
	add(eerr)
	if eerr == nil && email != pt.Email {
		ch.Email, changed = str(f.Email), append(changed, "email")
	}
	if perr == nil && eerr == nil && phone == "" && email == "" {
		fe["phone"] = "Keep a phone number or an email address: the patient must be reachable."
	}
	_, err = aftercare.LoadZone(f.TZ)
	add(err)
	if err == nil && f.TZ != pt.TZ {
		ch.TZ, changed = str(f.TZ), append(changed, "time zone")
	}
	if !hasOption(langs, f.Lang) {
		fe["lang"] = "Choose one of the languages the clinic's protocols are written in."
	} else if f.Lang != pt.Lang {
		ch.Lang, changed = str(f.Lang), append(changed, "language")
	}
	if f.SMSConsent && perr == nil && phone == "" && fe["sms_consent"] == "" {
		fe["sms_consent"] = "SMS consent needs a phone number."
	}
	if f.EmailConsent && eerr == nil && email == "" && fe["email_consent"] == "" {
		fe["email_consent"] = "Email consent needs an email address."
	}
	if f.SMSConsent != pt.SMSConsent.Given() {
		ch.SMSConsent, changed = flag(f.SMSConsent), append(changed, "SMS consent")
	}
	if f.EmailConsent != pt.EmailConsent.Given() {
		ch.EmailConsent, changed = flag(f.EmailConsent), append(changed, "email consent")
	}
	if f.SMSOptOut != !pt.SMSOptOutAt.IsZero() {
		ch.SMSOptOut, changed = flag(f.SMSOptOut), append(changed, "SMS opt-out")
	}
	if f.EmailOptOut != !pt.EmailOptOut.IsZero() {
		ch.EmailOptOut, changed = flag(f.EmailOptOut), append(changed, "email opt-out")
	}
	return ch, changed
}

// pathEnrollment is the enrollment of the clinic the path's id names.
func (s *Server) pathEnrollment(r *http.Request) (*aftercare.Enrollment, error) {
	id, err := pathID(r, "enrollment")
	if err != nil {
		return nil, err
	}
	return s.Store.FindEnrollment(r.Context(), principal(r).Clinic.ID, id)
}

// cancelEnrollment cancels what is still to be sent; the history stays.
func (s *Server) cancelEnrollment(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	e, err := s.pathEnrollment(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := fmt.Sprintf("/patients/%d#enrollment-%d", e.PatientID, e.ID)
	if e.Status == aftercare.EnrollmentCancelled {
		s.redirect(w, r, to, "This enrollment was already cancelled; nothing changed.")
		return
	}
	n, err := s.Service.Cancel(r.Context(), p.Clinic.ID, e.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger().Info("enrollment cancelled", "clinic", p.Clinic.ID, "enrollment", e.ID, "messages", n, "by", p.Actor())
	s.redirect(w, r, to, fmt.Sprintf("Enrollment cancelled: %s will not be sent. Messages already sent stay in the history.", plural(n, "pending message", "pending messages")))
}

// rescheduleEnrollment moves an enrollment to a new treatment time; on a
// problem the patient's page comes back with it beside that enrollment's
// field, which takes the focus so that the page opens there rather than at
// its top, and nothing is changed. A time on an unusual date is asked about
// first, as the enroll form does: the page comes back with the warning and
// a box to tick, whose value is the time asked about, so that a time typed
// after the question is asked about in turn.
func (s *Server) rescheduleEnrollment(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	e, err := s.pathEnrollment(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	fe := FieldErrors{}
	v := formValue(r, fe, "treated_at")
	var res *scheduler.EnrollResult
	var question *DateQuestion
	if len(fe) == 0 {
		move := s.Service.RescheduleAskingDate
		if dateConfirmed(r, v) {
			move = s.Service.Reschedule
		}
		res, err = move(r.Context(), p.Clinic, e.ID, v)
		question = askDate(err, fmt.Sprintf("r-%d-confirm_date", e.ID), v, "move the treatment to it all the same")
		if question == nil && err != nil && !fieldError(fe, err, "treated_at") {
			s.fail(w, r, err)
			return
		}
	}
	if len(fe) > 0 || question != nil {
		page, err := s.loadPatientPage(r.Context(), p, e.PatientID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, ev := range page.Enrollments {
			if ev.Enrollment.ID == e.ID {
				ev.TreatedAt = v
				ev.Error = strings.TrimSpace(fe["treated_at"] + " " + fe[""])
				ev.Question = question
			}
		}
		status := http.StatusBadRequest
		if len(fe) == 0 {
			status = http.StatusOK // a question, as the enroll form's
		}
		s.render(w, r, status, "patient", page.Patient.Name, page)
		return
	}
	loc, err := aftercare.LoadZone(res.Patient.TZ)
	if err != nil {
		loc = clinicZone(p.Clinic)
	}
	pending := 0
	for _, m := range res.Messages {
		if m.Status == aftercare.StatusPending {
			pending++
		}
	}
	s.logger().Info("enrollment rescheduled", "clinic", p.Clinic.ID, "enrollment", e.ID, "by", p.Actor())
	s.redirect(w, r, fmt.Sprintf("/patients/%d#enrollment-%d", e.PatientID, e.ID),
		fmt.Sprintf("Rescheduled to %s: %s to send.", res.Enrollment.TreatedAt.In(loc).Format("Mon 2 Jan 2006, 15:04 MST"), plural(pending, "message", "messages")))
}
