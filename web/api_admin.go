package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	ptemplates "github.com/aftercare/aftercare/templates"
)

// Protocols (list and read for the front desk, validate and import for the
// manager) and the clinic's settings (read for everyone, change for the
// admin).

// ProtocolListJSON is the latest version of each of the clinic's
// protocols, by slug.
type ProtocolListJSON struct {
	Protocols []ProtocolJSON `json:"protocols"`
}

func (s *Server) apiProtocols(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if _, err := apiReadQuery(r); err != nil {
		s.fail(w, r, err)
		return
	}
	ps, err := s.Store.ListProtocols(r.Context(), p.Clinic.ID)
	apiAnswer(s, w, r, ps, err, func(ps []*aftercare.Protocol) ProtocolListJSON {
		return ProtocolListJSON{apiViews(ps, NewProtocolJSON)}
	})
}

// apiProtocol answers one version of a protocol (the latest unless
// ?version= says which) with its steps and its document.
func (s *Server) apiProtocol(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	slug := r.PathValue("slug")
	q, err := apiReadQuery(r, "version")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	version := 0
	if v, err := q.one("version"); err != nil {
		s.fail(w, r, err)
		return
	} else if v != "" {
		if version, err = strconv.Atoi(v); err != nil || version < 1 {
			s.fail(w, r, aftercare.FieldErrorf("version", "version must be a whole number from 1, got %q", v))
			return
		}
	}
	if aftercare.ValidateSlug("slug", slug) != nil {
		s.fail(w, r, aftercare.Errorf(aftercare.ENOTFOUND, "there is no protocol %q", slug))
		return
	}
	// The store says whether it exists (404); the service parses it.
	stored, err := s.Store.FindProtocol(r.Context(), p.Clinic.ID, slug, version)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		if version > 0 {
			err = aftercare.Errorf(aftercare.ENOTFOUND, "protocol %q has no version %d in this clinic", slug, version)
		} else {
			err = aftercare.Errorf(aftercare.ENOTFOUND, "this clinic has no protocol %q", slug)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cp, err := s.Service.Protocol(r.Context(), p.Clinic.ID, slug, stored.Version)
	apiAnswer(s, w, r, cp, err, func(cp *scheduler.Compiled) ProtocolDetailJSON {
		return NewProtocolDetailJSON(cp.Protocol)
	})
}

// apiProtocolBody reads and parses a protocol document: YAML, as
// docs/protocols.md describes it. It returns the document, the protocol
// and its warnings; a document that does not parse is a 422 listing every
// problem (apiProtocolProblems).
func apiProtocolBody(r *http.Request) ([]byte, *aftercare.Protocol, []ptemplates.Problem, error) {
	if _, err := apiReadQuery(r); err != nil {
		return nil, nil, nil, err
	}
	src, err := apiBody(r, apiMaxYAML, "application/yaml", "application/x-yaml")
	if err != nil {
		return nil, nil, nil, err
	}
	pr, warns, err := ptemplates.ParseWithWarnings("", src)
	if err != nil {
		return nil, nil, nil, apiProtocolProblems(err)
	}
	return src, pr, warns, nil
}

// apiProtocolProblems turns a protocol's parse errors into a 422 that
// lists every problem with its line and column.
func apiProtocolProblems(err error) error {
	var pe *ptemplates.ParseError
	if !errors.As(err, &pe) {
		return err
	}
	return &apiStatusError{Status: http.StatusUnprocessableEntity, Problems: apiViews(pe.Problems, problemJSON),
		Err: aftercare.Errorf(aftercare.EINVALID, "the protocol has %d problem(s): %s", len(pe.Problems), pe.Error())}
}

// ValidationJSON is what POST /api/v1/protocols/validate says of a valid
// protocol document.
type ValidationJSON struct {
	Valid     bool     `json:"valid"`
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	Steps     int      `json:"steps"`
	Languages []string `json:"languages"`
	// Warnings are texts a patient would be better off without (see
	// templates.ParseWithWarnings); a valid protocol may have them.
	Warnings []ProblemJSON `json:"warnings"`
}

// problemJSON is the JSON view of a protocol's problem or warning.
func problemJSON(x ptemplates.Problem) ProblemJSON { return ProblemJSON{x.Line, x.Col, x.Msg} }

// warningsJSON lists a protocol's warnings, never nil.
func warningsJSON(warns []ptemplates.Problem) []ProblemJSON { return apiViews(warns, problemJSON) }

// apiValidateProtocol checks a protocol document and stores nothing: 200
// when it is valid, 422 listing every problem otherwise.
func (s *Server) apiValidateProtocol(w http.ResponseWriter, r *http.Request) {
	_, pr, warns, err := apiProtocolBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ValidationJSON{true, pr.Slug, pr.Name, len(pr.Steps), pr.Languages, warningsJSON(warns)})
}

// ProtocolImportJSON is a stored protocol version; Created is false when
// the document was identical to the latest version and nothing was stored.
type ProtocolImportJSON struct {
	ProtocolJSON
	Created  bool          `json:"created"`
	Warnings []ProblemJSON `json:"warnings"` // as in ValidationJSON; they do not stop the import
}

// apiImportProtocol stores a protocol document as the next version of its
// slug: 201, or 200 when it is identical to the latest version. Patients
// already enrolled keep the version they were enrolled on.
func (s *Server) apiImportProtocol(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	src, _, warns, err := apiProtocolBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stored, created, err := s.Service.ImportProtocol(r.Context(), p.Clinic.ID, "", src)
	if err != nil {
		s.fail(w, r, apiProtocolProblems(err))
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", apiLocationOf("/protocols/%s?version=%d", stored.Slug, stored.Version))
	}
	writeJSON(w, status, ProtocolImportJSON{NewProtocolJSON(stored), created, warningsJSON(warns)})
}

func (s *Server) apiClinic(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	if _, err := apiReadQuery(r); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, NewClinicJSON(p.Clinic)) // read for this request
}

// ClinicUpdateRequest is the body of PATCH /api/v1/clinic: the settings
// given are changed, the others kept. The slug cannot be changed here.
type ClinicUpdateRequest struct {
	Name          *string `json:"name"`
	Phone         *string `json:"phone"`
	TZ            *string `json:"tz"`
	Country       *string `json:"country"`
	Window        *string `json:"window"`
	DailyCap      *int    `json:"daily_cap"`
	EmailFallback *bool   `json:"email_fallback"`
	ShowTreatment *bool   `json:"show_treatment"`
	SMSFrom       *string `json:"sms_from"`
	EmailFrom     *string `json:"email_from"`
	// Two-way messaging and records.
	AlertEmail          *string `json:"alert_email"`
	TwilioOptOutReplies *bool   `json:"twilio_opt_out_replies"`
	RetentionDays       *int    `json:"retention_days"`
	PatientLinks        *bool   `json:"patient_links"`
	// The daily summary: summary_at "HH:MM" (the clinic's zone) or "off",
	// summary_to the addresses ("" is off).
	SummaryAt *string `json:"summary_at"`
	SummaryTo *string `json:"summary_to"`
}

// senderUnchanged refuses a change of a clinic's own sender: senders are
// assigned by the server's operator, who knows which numbers and addresses
// belong to which clinic (`aftercare clinic set --sms-from/--email-from`).
// Sending the value the clinic already has (a GET echoed back) is allowed.
func senderUnchanged(field string, v *string, current string) error {
	if v == nil || strings.TrimSpace(*v) == current {
		return nil
	}
	return aftercare.Errorf(aftercare.EFORBIDDEN, "%s: a clinic's sender is assigned by the server's operator (aftercare clinic set --%s); leave it out, or ask them to change it",
		field, strings.ReplaceAll(field, "_", "-"))
}

// apiUpdateClinic changes the clinic's settings, all checked before any is
// saved. An API client does not answer questions, so a new send window or
// daily cap is saved even when it moves or drops messages; the response
// lists them (the web page and the command line ask first).
func (s *Server) apiUpdateClinic(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var req ClinicUpdateRequest
	_, err := apiReadQuery(r)
	if err == nil {
		err = apiDecode(r, &req)
	}
	if err == nil && req.Name != nil {
		err = apiCheckText("name", *req.Name, 120)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"phone", req.Phone}, {"tz", req.TZ}, {"country", req.Country}, {"window", req.Window}, {"sms_from", req.SMSFrom}, {"email_from", req.EmailFrom}, {"alert_email", req.AlertEmail},
		{"summary_at", req.SummaryAt}, {"summary_to", req.SummaryTo}} {
		if err == nil && f.v != nil {
			err = apiCheckText(f.name, *f.v, 100)
		}
	}
	if err == nil {
		err = senderUnchanged("sms_from", req.SMSFrom, p.Clinic.SMSFrom)
	}
	if err == nil {
		err = senderUnchanged("email_from", req.EmailFrom, p.Clinic.EmailFrom)
	}
	if err == nil && req == (ClinicUpdateRequest{}) {
		err = aftercare.Errorf(aftercare.EINVALID, "nothing to change: give at least one setting")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ch := scheduler.ClinicChanges{Name: req.Name, Phone: req.Phone, TZ: req.TZ, Country: req.Country, Window: req.Window,
		SMSFrom: req.SMSFrom, EmailFrom: req.EmailFrom}
	if req.DailyCap != nil {
		v := strconv.Itoa(*req.DailyCap)
		ch.DailyCap = &v
	}
	if req.EmailFallback != nil {
		v := strconv.FormatBool(*req.EmailFallback)
		ch.EmailFallback = &v
	}
	if req.ShowTreatment != nil {
		v := strconv.FormatBool(*req.ShowTreatment)
		ch.ShowTreatment = &v
	}
	ch.AlertEmail = req.AlertEmail
	if req.TwilioOptOutReplies != nil {
		ch.TwilioOptOutReplies = ptr(strconv.FormatBool(*req.TwilioOptOutReplies))
	}
	if req.RetentionDays != nil {
		ch.RetentionDays = ptr(strconv.Itoa(*req.RetentionDays))
	}
	if req.PatientLinks != nil {
		ch.PatientLinks = ptr(strconv.FormatBool(*req.PatientLinks))
	}
	ch.SummaryAt, ch.SummaryTo = req.SummaryAt, req.SummaryTo
	u, err := s.Service.CheckedUpdateClinic(r.Context(), p.Clinic.Slug, ch, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if n := len(scheduler.NewWarnings(u.Warnings)); n > 0 {
		s.logger().Info("clinic send window or cap changed though it moves messages", "clinic", p.Clinic.ID, "new_warnings", n, "by", p.Actor())
	}
	writeJSON(w, http.StatusOK, ClinicUpdateJSON{NewClinicJSON(u.Clinic), NewSettingsWarningsJSON(u.Warnings)})
}
