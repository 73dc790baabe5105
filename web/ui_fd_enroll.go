package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// EnrollForm is the enroll form as typed.
type EnrollForm struct {
	Name, Phone, Email, TZ, Lang, Protocol, TreatedAt string
	SMSConsent, EmailConsent                          bool
}

// enrollFields are the enroll form's inputs; an error naming any other
// field is shown above the form.
var enrollFields = []string{"name", "phone", "email", "tz", "lang", "protocol", "treated_at", "sms_consent", "email_consent", "consent"}

// EnrollPage is the data of the "enroll" template.
type EnrollPage struct {
	Form      EnrollForm
	Errors    FieldErrors
	Clinic    *aftercare.Clinic
	Protocols []*aftercare.Protocol
	Languages []option
	Zones     []option
	// Returning is the patient being enrolled again (from their page), nil
	// for a new one.
	Returning *aftercare.Patient
	Preview   *Preview
	// Question: the treatment date is unusual (scheduler.
	// TreatmentDateWarning) and the form asks before enrolling; nil when
	// it does not.
	Question *DateQuestion
}

// NavSection marks "Enroll" in the menu.
func (EnrollPage) NavSection() string { return "enroll" }

// Problems lists the form's errors for the summary above it.
func (p EnrollPage) Problems() []Problem { return problemsOf(p.Errors, enrollFields) }

// ProtocolLanguages is a hint listing each protocol's languages.
func (p EnrollPage) ProtocolLanguages() string {
	out := ""
	for i, pr := range p.Protocols {
		if i > 0 {
			out += "; "
		}
		out += pr.Name + ": "
		for j, l := range pr.Languages {
			if j > 0 {
				out += ", "
			}
			out += languageName(l)
		}
	}
	return out
}

func (s *Server) newEnrollPage(ctx context.Context, p *Principal) (*EnrollPage, error) {
	protocols, err := s.Store.ListProtocols(ctx, p.Clinic.ID)
	if err != nil {
		return nil, err
	}
	return &EnrollPage{Errors: FieldErrors{}, Clinic: p.Clinic, Protocols: protocols,
		Languages: languageOptions(protocols), Zones: commonZones}, nil
}

// enrollForm shows the empty form: the clinic's zone, now, the first
// protocol. ?patient=ID fills in a patient of the clinic to enroll again.
func (s *Server) enrollForm(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	page, err := s.newEnrollPage(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page.Form = EnrollForm{TZ: p.Clinic.TZ, TreatedAt: s.Now().In(clinicZone(p.Clinic)).Format(localInput)}
	if len(page.Protocols) > 0 {
		page.Form.Protocol = page.Protocols[0].Slug
	}
	if v := r.URL.Query().Get("protocol"); v != "" {
		page.Form.Protocol = v
	}
	if v := r.URL.Query().Get("patient"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, r, aftercare.Errorf(aftercare.ENOTFOUND, "there is no patient %q", v))
			return
		}
		pt, err := s.Store.FindPatient(ctx, p.Clinic.ID, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		page.Returning = pt
		page.Form.Name, page.Form.Email, page.Form.TZ, page.Form.Lang = pt.Name, pt.Email, pt.TZ, pt.Lang
		if pt.Phone != "" {
			page.Form.Phone = aftercare.DisplayPhone(pt.Phone)
		}
		page.Form.SMSConsent = pt.SMSConsent.Given() && pt.SMSOptOutAt.IsZero()
		page.Form.EmailConsent = pt.EmailConsent.Given() && pt.EmailOptOut.IsZero()
		if !hasOption(page.Languages, pt.Lang) {
			page.Form.Lang = ""
		}
	}
	s.showEnroll(w, r, http.StatusOK, page)
}

// showEnroll shows the enroll form with status and the preview of what
// the form would send.
func (s *Server) showEnroll(w http.ResponseWriter, r *http.Request, status int, page *EnrollPage) {
	var err error
	if page.Preview, err = s.buildPreview(r.Context(), principal(r).Clinic, page.Form, page.Protocols); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, status, "enroll", "Enroll a patient", page)
}

// postedEnrollPage is the enroll page with the posted form read into it.
func (s *Server) postedEnrollPage(r *http.Request) (*EnrollPage, error) {
	page, err := s.newEnrollPage(r.Context(), principal(r))
	if err != nil {
		return nil, err
	}
	readEnrollForm(r, page)
	return page, nil
}

// readEnrollForm reads the posted form into page.Form, recording fields
// that cannot even be read.
func readEnrollForm(r *http.Request, page *EnrollPage) {
	fe := page.Errors
	page.Form = EnrollForm{
		Name: formValue(r, fe, "name"), Phone: formValue(r, fe, "phone"), Email: formValue(r, fe, "email"),
		TZ: formValue(r, fe, "tz"), Lang: formValue(r, fe, "lang"), Protocol: formValue(r, fe, "protocol"),
		TreatedAt:  formValue(r, fe, "treated_at"),
		SMSConsent: formCheck(r, fe, "sms_consent"), EmailConsent: formCheck(r, fe, "email_consent"),
	}
}

// enroll enrolls the patient, or shows the form again with every problem
// beside its field; nothing is stored unless the whole form is right. A
// treatment on an unusual date is asked about first (DateQuestion), and
// enrolled once the box comes back ticked for the same time.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	page, err := s.postedEnrollPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if r.PostFormValue("action") == "preview" {
		// The form's "show the timeline" button, for browsers without the
		// script: the same page with the preview filled in.
		s.showEnroll(w, r, http.StatusOK, page)
		return
	}
	checkEnroll(p.Clinic, page)
	var res *scheduler.EnrollResult
	if len(page.Errors) == 0 {
		f := page.Form
		// The question is about a moment: the time and the zone it is in.
		asked := strings.TrimSpace(f.TreatedAt + " " + f.TZ)
		res, err = s.Service.Enroll(ctx, p.Clinic, scheduler.EnrollRequest{
			Name: f.Name, Phone: f.Phone, Email: f.Email, TZ: f.TZ, Lang: f.Lang, Protocol: f.Protocol,
			TreatedAt: f.TreatedAt, SMSConsent: f.SMSConsent, EmailConsent: f.EmailConsent, Source: p.Actor(),
			AskDate: !dateConfirmed(r, asked),
		})
		if page.Question = askDate(err, "f-confirm_date", asked, "enroll the patient with it all the same"); page.Question != nil {
			s.showEnroll(w, r, http.StatusOK, page)
			return
		}
		if err != nil && !fieldError(page.Errors, err, enrollFields...) {
			s.fail(w, r, err)
			return
		}
	}
	if len(page.Errors) > 0 {
		s.showEnroll(w, r, http.StatusBadRequest, page)
		return
	}
	to := fmt.Sprintf("/patients/%d#enrollment-%d", res.Patient.ID, res.Enrollment.ID)
	name := namesOf(page.Protocols).Name(res.Enrollment.ProtocolSlug)
	if !res.Created {
		s.redirect(w, r, to, fmt.Sprintf("%s was already enrolled on %s for this treatment time; nothing new was stored.", res.Patient.Name, name))
		return
	}
	planned := 0
	for _, m := range res.Messages {
		if m.Status == aftercare.StatusPending {
			planned++
		}
	}
	s.logger().Info("enrolled", "clinic", p.Clinic.ID, "patient", res.Patient.ID, "enrollment", res.Enrollment.ID, "by", p.Actor())
	s.redirect(w, r, to, fmt.Sprintf("%s is enrolled on %s: %s scheduled.", res.Patient.Name, name, plural(planned, "message", "messages")))
}

// DateQuestion is what a staff form asks before it stores a treatment on
// an unusual date (scheduler.TreatmentDateWarning): the warning and a box
// to tick, shown by the template "date-confirm" (layout.html).
type DateQuestion struct {
	// ID is the box's id; the question's is ID+"-box".
	ID string
	// Warning says what is unusual about the date.
	Warning string
	// At is the treatment time asked about, as typed, and the box's value
	// (on the enroll form, followed by the zone as typed, "2027-04-02T10:00
	// America/New_York": the same time in another zone is another moment):
	// the form stores it only when the box comes back with the time (and
	// zone) sent beside it (dateConfirmed), so that a time or zone changed
	// after the question is asked about in turn rather than stored on the
	// old answer.
	At string
	// Confirm ends the box's label "The date is right: ...", saying what
	// ticking it does.
	Confirm string
}

// askDate is the question to ask when err asks to confirm an unusual
// treatment date (scheduler.EnrollRequest.AskDate, scheduler.Service.
// RescheduleAskingDate) for the time at, with a box of id labelled with
// confirm; nil for any other err.
func askDate(err error, id, at, confirm string) *DateQuestion {
	var ae *aftercare.Error
	if !errors.As(err, &ae) || ae.Field != "confirm_date" {
		return nil
	}
	return &DateQuestion{ID: id, Warning: upperFirst(ae.Message), At: at, Confirm: confirm}
}

// dateConfirmed reports whether the form's answer to a DateQuestion, its
// box "confirm_date", confirms the treatment time at sent with it. The
// box's value is the time asked about, so a box ticked after the time was
// changed does not confirm the new one, nor does a bare "yes" (what the
// enroll form's box sent before it carried the time): the form asks again.
func dateConfirmed(r *http.Request, at string) bool {
	v := strings.TrimSpace(r.PostFormValue("confirm_date"))
	return v != "" && v == at
}

// checkEnroll checks every field of the form, so that all the problems
// show at once (Enroll itself stops at the first). Enroll checks again,
// and alone says when an enrollment would send nothing (no consent, an
// opt-out, every message in the past): that rule is the scheduler's, the
// same for every way in, and its error shows beside its field ("consent"
// beside the consent boxes).
func checkEnroll(c *aftercare.Clinic, page *EnrollPage) {
	f, fe := page.Form, page.Errors
	add := func(err error) {
		if err != nil {
			fieldError(fe, err, enrollFields...)
		}
	}
	_, err := aftercare.ValidateName(f.Name)
	add(err)
	phone, perr := aftercare.NormalizePhone(f.Phone, c.Country)
	add(perr)
	email, eerr := aftercare.NormalizeEmail(f.Email)
	add(eerr)
	if perr == nil && eerr == nil && phone == "" && email == "" && fe["phone"] == "" && fe["email"] == "" {
		fe["phone"] = "Give a phone number or an email address: the patient must be reachable."
	}
	if f.SMSConsent && f.Phone == "" && fe["sms_consent"] == "" {
		fe["sms_consent"] = "SMS consent is ticked but there is no phone number."
	}
	if f.EmailConsent && f.Email == "" && fe["email_consent"] == "" {
		fe["email_consent"] = "Email consent is ticked but there is no email address."
	}
	loc, err := aftercare.LoadZone(f.TZ)
	add(err)
	if err == nil {
		_, err = aftercare.ParseTreatmentTime(f.TreatedAt, loc)
		add(err)
	}
	pr, err := findProtocol(page.Protocols, f.Protocol)
	add(err)
	if pr != nil && f.Lang != "" && !pr.HasLanguage(f.Lang) {
		fe["lang"] = fmt.Sprintf("%s is not written in %s; choose one of its languages.", pr.Name, languageName(f.Lang))
	}
}

func findProtocol(protocols []*aftercare.Protocol, slug string) (*aftercare.Protocol, error) {
	if slug == "" {
		return nil, aftercare.FieldErrorf("protocol", "Choose the protocol for this treatment.")
	}
	for _, p := range protocols {
		if p.Slug == slug {
			return p, nil
		}
	}
	return nil, aftercare.FieldErrorf("protocol", "This clinic has no protocol %q; choose one from the list.", slug)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// enrollPreview answers the live preview: the timeline fragment for the
// form as it is now, or what to fix before there can be one. Nothing is
// stored.
func (s *Server) enrollPreview(w http.ResponseWriter, r *http.Request) {
	page, err := s.postedEnrollPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pv, err := s.buildPreview(r.Context(), principal(r).Clinic, page.Form, page.Protocols)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if len(pv.Problems) > 0 {
		status = http.StatusBadRequest
	}
	s.renderFragment(w, status, "enroll", "preview", pv)
}

// Preview is the data of the "preview" template (in enroll.html): the
// whole timeline in the patient's local time, day by day.
type Preview struct {
	Problems []Problem // what to fix before there can be a timeline
	TZ       string
	Protocol string
	Language string
	Treated  string // the treatment's local time
	Days     []PreviewDay
	// Counts: to be sent (SMS and email), skipped because their time has
	// passed, and not sent for want of consent or an address.
	SMS, Email, Skipped, Off int
	First, Last              string // local dates of the first and last message sent
	// Blank: no address and no consent yet, so the whole protocol is shown
	// rather than a timeline of messages that would all go unsent.
	Blank bool
	// DateWarning: the treatment date is unusual; enrolling will ask.
	DateWarning string
}

// Problem is a field to fix, for the preview's list.
type Problem struct {
	Field, Label, Message string
}

// PreviewDay is one local day of the timeline.
type PreviewDay struct {
	Label string // "Treatment day", "Day 3", "1 day before"
	Date  string // "Thu 26 Nov 2026"
	Items []PreviewItem
}

// PreviewItem is one message of the preview.
type PreviewItem struct {
	Time     string // local "15:04 MST"
	When     string // local date and time, for screen readers and titles
	Channel  aftercare.Channel
	Subject  string
	Body     string
	Segments int
	Notes    []string
	// State: "send", "late" (sent as soon as possible), "skip" (its time
	// has passed), "off" (no consent or no address).
	State      string
	StateLabel string
}

var fieldLabels = map[string]string{
	"name": "Name", "phone": "Phone", "email": "Email", "tz": "Time zone", "lang": "Language",
	"protocol": "Protocol", "treated_at": "Treatment time", "sms_consent": "SMS consent",
	"email_consent": "Email consent", "consent": "Consent", "sms_optout": "SMS opt-out", "email_optout": "Email opt-out",
}

// buildPreview runs the scheduler's preview for the form and marks what
// enrolling now would do to each message: skip it because its time has
// passed, or leave it unsent for want of consent. Field problems come back
// in Preview.Problems; the error is for anything else.
func (s *Server) buildPreview(ctx context.Context, c *aftercare.Clinic, f EnrollForm, protocols []*aftercare.Protocol) (*Preview, error) {
	fe := FieldErrors{}
	// The contact details first: a count of messages that "will be sent"
	// to a number that cannot take them would mislead.
	if _, err := aftercare.NormalizePhone(f.Phone, c.Country); err != nil {
		fieldError(fe, err, enrollFields...)
	}
	if _, err := aftercare.NormalizeEmail(f.Email); err != nil {
		fieldError(fe, err, enrollFields...)
	}
	loc, err := aftercare.LoadZone(f.TZ)
	if err != nil {
		fieldError(fe, err, enrollFields...)
	} else if _, err := aftercare.ParseTreatmentTime(f.TreatedAt, loc); err != nil {
		fieldError(fe, err, enrollFields...)
	}
	pr, err := findProtocol(protocols, f.Protocol)
	if err != nil {
		fieldError(fe, err, enrollFields...)
	} else if f.Lang != "" && !pr.HasLanguage(f.Lang) {
		fe["lang"] = fmt.Sprintf("%s is not written in %s; choose one of its languages.", pr.Name, languageName(f.Lang))
	}
	pv := &Preview{TZ: f.TZ}
	if len(fe) == 0 {
		name, _ := aftercare.ValidateName(f.Name)
		cp, msgs, err := s.Service.Preview(ctx, c, scheduler.PreviewRequest{Protocol: f.Protocol, TreatedAt: f.TreatedAt, TZ: f.TZ, Lang: f.Lang, Name: name})
		switch {
		case err == nil:
			fillPreview(pv, cp, msgs, f, loc, s.Now())
			return pv, nil
		case !fieldError(fe, err, enrollFields...):
			return nil, err
		}
	}
	pv.Problems = problemsOf(fe, enrollFields)
	return pv, nil
}

// problemsOf lists a form's errors in the order of its fields, the form's
// own first.
func problemsOf(fe FieldErrors, fields []string) []Problem {
	var out []Problem
	if msg := fe[""]; msg != "" {
		out = append(out, Problem{Message: msg})
	}
	for _, k := range fields {
		if msg := fe[k]; msg != "" {
			out = append(out, Problem{Field: k, Label: fieldLabels[k], Message: msg})
		}
	}
	return out
}

func fillPreview(pv *Preview, cp *scheduler.Compiled, msgs []*aftercare.Message, f EnrollForm, loc *time.Location, now time.Time) {
	treated, _ := aftercare.ParseTreatmentTime(f.TreatedAt, loc)
	tl := treated.In(loc)
	pv.Protocol = cp.Name
	pv.Treated = tl.Format("Mon 2 Jan 2006, 15:04 MST")
	lang := f.Lang
	if lang == "" && len(cp.Languages) > 0 {
		lang = cp.Languages[0]
	}
	pv.Language = languageName(lang)
	pv.Blank = f.Phone == "" && f.Email == "" && !f.SMSConsent && !f.EmailConsent
	day0 := calendarDay(tl)
	var first, last time.Time
	var planned []*aftercare.Message
	for _, m := range msgs {
		at := m.SendAt.In(loc)
		it := PreviewItem{
			Time: at.Format("15:04 MST"), When: at.Format("Mon 2 Jan 2006, 15:04 MST"),
			Channel: m.Channel, Subject: m.Subject, Body: m.Body, Segments: m.Segments,
			State: "send", StateLabel: "will be sent",
		}
		if m.Note != "" {
			it.Notes = append(it.Notes, m.Note)
		}
		switch {
		case !pv.Blank && m.Channel == aftercare.SMS && f.Phone == "":
			it.State, it.StateLabel = "off", "not sent: no phone number"
		case !pv.Blank && m.Channel == aftercare.SMS && !f.SMSConsent:
			it.State, it.StateLabel = "off", "not sent: no SMS consent"
		case !pv.Blank && m.Channel == aftercare.Email && f.Email == "":
			it.State, it.StateLabel = "off", "not sent: no email address"
		case !pv.Blank && m.Channel == aftercare.Email && !f.EmailConsent:
			it.State, it.StateLabel = "off", "not sent: no email consent"
		case m.SendAt.Before(now):
			// What Enroll does to a message whose time has passed (see
			// scheduler.Expand): a step due right at the end of the
			// treatment is still sent if it has not expired; any other is
			// skipped.
			st := cp.Step(m.StepKey)
			if st != nil && st.Timing.Kind == aftercare.TimingAfter && st.Timing.Offset == 0 && now.Before(m.ExpiresAt) {
				it.State, it.StateLabel = "late", "sent as soon as possible"
				it.Notes = append(it.Notes, "enrolled after the treatment: sent as soon as possible (within the send window)")
			} else {
				it.State, it.StateLabel = "skip", "skipped: its time has passed"
			}
		}
		// The messages Enroll would plan, as it would plan them, for the
		// date warning: its counts are then the same as when enrolling.
		switch it.State {
		case "send":
			planned = append(planned, &aftercare.Message{Status: aftercare.StatusPending, SendAt: m.SendAt})
		case "late":
			planned = append(planned, &aftercare.Message{Status: aftercare.StatusPending, SendAt: now})
		case "skip":
			planned = append(planned, &aftercare.Message{Status: aftercare.StatusSkipped, SendAt: m.SendAt})
		}
		switch it.State {
		case "send", "late":
			if m.Channel == aftercare.SMS {
				pv.SMS++
			} else {
				pv.Email++
			}
			if first.IsZero() {
				first = at
			}
			last = at
		case "skip":
			pv.Skipped++
		case "off":
			pv.Off++
		}
		n := int(calendarDay(at).Sub(day0) / (24 * time.Hour))
		label := fmt.Sprintf("Day %d", n)
		switch {
		case n == 0:
			label = "Treatment day"
		case n < 0:
			label = plural(-n, "day", "days") + " before"
		}
		if len(pv.Days) == 0 || pv.Days[len(pv.Days)-1].Label != label {
			pv.Days = append(pv.Days, PreviewDay{Label: label, Date: at.Format("Mon 2 Jan 2006")})
		}
		d := &pv.Days[len(pv.Days)-1]
		d.Items = append(d.Items, it)
	}
	pv.DateWarning = upperFirst(scheduler.TreatmentDateWarning(treated, now, loc, planned))
	if !first.IsZero() {
		year := now.In(loc).Year()
		pv.First, pv.Last = dated(first, loc, "Mon 2 Jan", year), dated(last, loc, "Mon 2 Jan", year)
	}
}

// calendarDay is t's local date as a plain value, for counting days.
func calendarDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
