package web

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// The front desk's routes: enrollments, previews, patients, CSV imports.
// Every call is scoped to the caller's clinic: an id of another clinic's
// row is 404, as if it did not exist.

// apiEnroll enrolls a patient: 201 with the enrollment and its messages,
// or 200 with the stored one when the same patient is already enrolled
// on the same protocol for the same treatment time (nothing is written).
func (s *Server) apiEnroll(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req scheduler.EnrollRequest
	if err := apiDecode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	for field, v := range map[string]string{"phone": req.Phone, "email": req.Email, "tz": req.TZ, "lang": req.Lang,
		"protocol": req.Protocol, "treated_at": req.TreatedAt} {
		if err := apiCheckText(field, v, 200); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	req.Source = p.Actor()
	res, err := s.Service.Enroll(r.Context(), p.Clinic, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
		w.Header().Set("Location", apiLocationOf("/enrollments/%d", res.Enrollment.ID))
	}
	writeJSON(w, status, NewEnrollAnswerJSON(res))
}

// EnrollAnswerJSON answers POST /enrollments and a reschedule: the
// enrollment, and what to check although it was stored (a treatment date
// far from today).
type EnrollAnswerJSON struct {
	EnrollmentJSON
	Warnings []string `json:"warnings"`
}

// NewEnrollAnswerJSON returns the API's view of an enrollment just stored,
// with its warnings (an array, empty when there are none).
func NewEnrollAnswerJSON(r *scheduler.EnrollResult) EnrollAnswerJSON {
	return EnrollAnswerJSON{NewEnrollmentJSON(r), append([]string{}, r.Warnings...)}
}

// EnrollmentListJSON is a page of enrollments, newest first; Next is the
// cursor of the next page, null on the last.
type EnrollmentListJSON struct {
	Enrollments []EnrollmentSummaryJSON `json:"enrollments"`
	Next        *string                 `json:"next"`
}

func (s *Server) apiEnrollments(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q, err := apiReadQuery(r, "since", "patient", "limit", "cursor")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := aftercare.EnrollmentFilter{ClinicID: p.Clinic.ID}
	if f.Since, err = q.when("since", apiLocation(p.Clinic)); err != nil {
		s.fail(w, r, err)
		return
	}
	if f.PatientID, err = q.id("patient"); err != nil {
		s.fail(w, r, err)
		return
	}
	if f.Limit, err = q.limit(50, 500); err != nil {
		s.fail(w, r, err)
		return
	}
	if f.BeforeID, err = apiReadEnrollmentCursor(q); err != nil {
		s.fail(w, r, err)
		return
	}
	limit := f.Limit
	f.Limit++ // one more says whether there is a next page
	rows, err := s.Store.ListEnrollments(r.Context(), f)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND && f.PatientID != 0 {
		err = aftercare.FieldErrorf("patient", "this clinic has no patient %d", f.PatientID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var next *string
	if len(rows) > limit {
		rows = rows[:limit]
		next = ptr(apiEnrollmentCursor(rows[len(rows)-1].Enrollment.ID))
	}
	writeJSON(w, http.StatusOK, EnrollmentListJSON{apiViews(rows, NewEnrollmentSummaryJSON), next})
}

func (s *Server) apiEnrollment(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := apiReadID(r, "id", "enrollment")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Service.Enrollment(r.Context(), p.Clinic.ID, id)
	apiAnswer(s, w, r, res, err, NewEnrollmentJSON)
}

// apiCancel cancels an enrollment's pending messages. Cancelling a
// cancelled enrollment changes nothing and answers the same.
func (s *Server) apiCancel(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := apiReadID(r, "id", "enrollment")
	if err == nil && r.ContentLength > 0 {
		err = aftercare.Errorf(aftercare.EINVALID, "cancel takes no body")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.Service.Cancel(r.Context(), p.Clinic.ID, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Service.Enrollment(r.Context(), p.Clinic.ID, id)
	apiAnswer(s, w, r, res, err, func(res *scheduler.EnrollResult) CancelJSON {
		return CancelJSON{NewEnrollmentJSON(res), n}
	})
}

// RescheduleRequest is the body of POST /api/v1/enrollments/{id}/reschedule.
type RescheduleRequest struct {
	TreatedAt string `json:"treated_at"`
}

func (s *Server) apiReschedule(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req RescheduleRequest
	id, err := apiReadID(r, "id", "enrollment")
	if err == nil {
		err = apiDecode(r, &req)
	}
	if err == nil {
		err = apiCheckText("treated_at", req.TreatedAt, 100)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.Service.Reschedule(r.Context(), p.Clinic, id, req.TreatedAt)
	apiAnswer(s, w, r, res, err, NewEnrollAnswerJSON)
}

// PreviewRequest is the body of POST /api/v1/preview.
type PreviewRequest struct {
	Protocol  string `json:"protocol"`
	Version   int    `json:"version"`
	TreatedAt string `json:"treated_at"`
	TZ        string `json:"tz"`
	Lang      string `json:"lang"`
	Name      string `json:"name"`
}

// apiPreview answers every message a patient in a zone (the clinic's
// unless given) would get, on every channel, with nothing stored.
func (s *Server) apiPreview(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req PreviewRequest
	err := apiDecode(r, &req)
	if err == nil && strings.TrimSpace(req.Protocol) == "" {
		err = aftercare.FieldErrorf("protocol", "choose a protocol: GET /api/v1/protocols lists them")
	}
	if err == nil && req.Version < 0 {
		err = aftercare.FieldErrorf("version", "version must be 1 or more (or left out for the latest), got %d", req.Version)
	}
	for _, f := range []struct{ name, v string }{{"protocol", req.Protocol}, {"treated_at", req.TreatedAt}, {"tz", req.TZ}, {"lang", req.Lang}} {
		if err == nil {
			err = apiCheckText(f.name, f.v, 200)
		}
	}
	if err == nil && req.Name != "" {
		req.Name, err = aftercare.ValidateName(req.Name)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req.TZ = scheduler.ZoneOrClinic(req.TZ, p.Clinic) // as `aftercare preview` without --tz
	cp, msgs, err := s.Service.Preview(r.Context(), p.Clinic, scheduler.PreviewRequest{Protocol: strings.TrimSpace(req.Protocol),
		Version: req.Version, TreatedAt: req.TreatedAt, TZ: req.TZ, Lang: req.Lang, Name: req.Name})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc, _ := aftercare.LoadZone(req.TZ) // Preview loaded it already
	treated, _ := aftercare.ParseTreatmentTime(req.TreatedAt, loc)
	lang := strings.ToLower(strings.TrimSpace(req.Lang))
	if lang == "" {
		lang = cp.Languages[0]
	}
	writeJSON(w, http.StatusOK, PreviewJSON{Protocol: cp.Slug, ProtocolName: cp.Name, ProtocolVersion: cp.Version,
		TZ: req.TZ, Lang: lang, TreatedAt: apiTime(treated), Messages: apiMessagesText(msgs, loc)})
}

// PatientListJSON is the answer of a patient search.
type PatientListJSON struct {
	Patients []PatientJSON `json:"patients"`
}

// apiPatients finds patients by name, phone or email, most recently
// changed first.
func (s *Server) apiPatients(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q, err := apiReadQuery(r, "q", "limit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	text, err := q.one("q")
	if err == nil {
		text = strings.TrimSpace(text)
		err = apiCheckText("q", text, 100)
	}
	limit := 0
	if err == nil {
		limit, err = q.limit(20, 200)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	found, err := s.Store.SearchPatients(r.Context(), p.Clinic.ID, text, limit)
	apiAnswer(s, w, r, found, err, func(found []*aftercare.Patient) PatientListJSON {
		return PatientListJSON{apiViews(found, NewPatientJSON)}
	})
}

func (s *Server) apiPatient(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := apiReadID(r, "id", "patient")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pt, err := s.Store.FindPatient(r.Context(), p.Clinic.ID, id)
	apiAnswer(s, w, r, pt, err, NewPatientJSON)
}

// PatientUpdateRequest is the body of PATCH /api/v1/patients/{id}: the
// fields given are changed, the others kept.
type PatientUpdateRequest struct {
	Name         *string `json:"name"`
	Phone        *string `json:"phone"`
	Email        *string `json:"email"`
	TZ           *string `json:"tz"`
	Lang         *string `json:"lang"`
	SMSConsent   *bool   `json:"sms_consent"`
	EmailConsent *bool   `json:"email_consent"`
	SMSOptOut    *bool   `json:"sms_opt_out"`
	EmailOptOut  *bool   `json:"email_opt_out"`
}

func (s *Server) apiUpdatePatient(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req PatientUpdateRequest
	id, err := apiReadID(r, "id", "patient")
	if err == nil {
		err = apiDecode(r, &req)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"phone", req.Phone}, {"email", req.Email}, {"tz", req.TZ}, {"lang", req.Lang}} {
		if err == nil && f.v != nil {
			err = apiCheckText(f.name, *f.v, 200)
		}
	}
	if err == nil && req == (PatientUpdateRequest{}) {
		err = aftercare.Errorf(aftercare.EINVALID, "nothing to change: give at least one field")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pt, err := s.Service.UpdatePatient(r.Context(), p.Clinic, id, scheduler.PatientChanges{
		Name: req.Name, Phone: req.Phone, Email: req.Email, TZ: req.TZ, Lang: req.Lang,
		SMSConsent: req.SMSConsent, EmailConsent: req.EmailConsent, SMSOptOut: req.SMSOptOut, EmailOptOut: req.EmailOptOut,
		Source: p.Actor(),
	})
	apiAnswer(s, w, r, pt, err, NewPatientJSON)
}

// apiImport enrolls the rows of a patients CSV (the body, text/csv): valid
// rows are enrolled, each invalid row is reported with its line and
// reason, and rows enrolled before are recognised, so sending the same
// file again creates nothing. A file without the required header is 400
// and enrolls nothing.
func (s *Server) apiImport(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q, err := apiReadQuery(r, "filename")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name, err := q.one("filename")
	if err == nil {
		name = strings.TrimSpace(name)
		if name == "" {
			name = "api-" + s.Now().UTC().Format("20060102T150405Z") + ".csv"
		}
		err = apiCheckText("filename", name, 100)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Read all of it first, so that a body cut short by the size limit
	// enrolls nothing rather than the rows before the cut.
	body, err := apiBody(r, 16<<20, "text/csv")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.Service.Import(r.Context(), p.Clinic, bytes.NewReader(body), name, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
