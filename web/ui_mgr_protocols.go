package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	ptemplates "github.com/aftercare/aftercare/templates"
)

// Protocols: the list, one version with its steps and a preview timeline,
// and editing the YAML (each save that changes it is a new version).

// ProtocolsPage is the data of the "protocols" template.
type ProtocolsPage struct {
	Protocols []*aftercare.Protocol
}

func (s *Server) protocolsPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	list, err := s.Store.ListProtocols(r.Context(), p.Clinic.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "protocols", "Protocols", ProtocolsPage{Protocols: list})
}

// CodeLine is one line of a YAML listing; Problems are what the parser said
// about it.
type CodeLine struct {
	N        int
	Text     string
	Problems []string
}

// Bad reports whether the line has a problem.
func (l CodeLine) Bad() bool { return len(l.Problems) > 0 }

// codeLines numbers the lines of src and attaches each problem to its line.
func codeLines(src string, problems []ptemplates.Problem) []CodeLine {
	text := strings.Split(src, "\n")
	if len(text) > 1 && text[len(text)-1] == "" {
		text = text[:len(text)-1] // the newline that ends the last line
	}
	lines := make([]CodeLine, len(text))
	for i, t := range text {
		lines[i] = CodeLine{N: i + 1, Text: t}
	}
	for _, pr := range problems {
		i := min(max(pr.Line, 1), len(lines)) - 1
		lines[i].Problems = append(lines[i].Problems, fmt.Sprintf("column %d: %s", pr.Col, pr.Msg))
	}
	return lines
}

// normalizeYAML makes a textarea's text the file it stands for: browsers
// send CRLF line ends, which would make an unchanged protocol look new.
func normalizeYAML(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// ProtocolStep is a step of a protocol as the protocol page lists it.
type ProtocolStep struct {
	Key      string
	Channels string
	Timing   string
	Expires  string
}

// ProtocolPreviewForm is the preview's input as typed.
type ProtocolPreviewForm struct {
	TreatedAt string // local YYYY-MM-DDTHH:MM
	TZ        string
	Lang      string
	Channel   string // "" for both
}

// TimelineItem is one message of a preview timeline.
type TimelineItem struct {
	*aftercare.Message
	When  string // in the preview's zone
	After string // "+3d 2h" from the treatment
	Step  string
}

// ProtocolPage is the data of the "protocol" template.
type ProtocolPage struct {
	Protocol *aftercare.Protocol
	Latest   int // the newest version of the slug
	Versions []int
	Steps    []ProtocolStep
	Warnings []ptemplates.Problem // see templates.ParseWithWarnings
	Lines    []CodeLine
	Form     ProtocolPreviewForm
	Errors   FieldErrors
	Timeline []TimelineItem
	Zones    []string
}

// NavSection marks protocols in the menu.
func (ProtocolPage) NavSection() string { return "protocols" }

// previewZones are offered in the preview's zone list besides the clinic's.
var previewZones = []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
	"America/Phoenix", "America/Anchorage", "Pacific/Honolulu", "America/Toronto", "America/Mexico_City",
	"Europe/London", "Europe/Madrid", "UTC"}

func (s *Server) protocolPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	slug := r.PathValue("slug")
	q := r.URL.Query()
	version := 0
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, aftercare.Errorf(aftercare.ENOTFOUND, "protocol %q has no version %q", slug, v))
			return
		}
		version = n
	}
	latest, err := s.Store.FindProtocol(ctx, p.Clinic.ID, slug, 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stored := latest
	if version != 0 && version != latest.Version {
		if stored, err = s.Store.FindProtocol(ctx, p.Clinic.ID, slug, version); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	page := ProtocolPage{Protocol: stored, Latest: latest.Version, Errors: FieldErrors{},
		Lines: codeLines(stored.YAML, nil)}
	for v := latest.Version; v >= 1; v-- {
		page.Versions = append(page.Versions, v)
	}
	parsed, warns, err := ptemplates.ParseWithWarnings(slug+".yaml", []byte(stored.YAML))
	page.Warnings = warns
	if err == nil {
		for _, st := range parsed.Steps {
			chans := make([]string, len(st.Channels))
			for i, c := range st.Channels {
				chans[i] = string(c)
			}
			exp := aftercare.FormatOffset(st.Expires)
			if st.Expires == 0 {
				exp = aftercare.FormatOffset(aftercare.DefaultExpires) + " (default)"
			}
			page.Steps = append(page.Steps, ProtocolStep{Key: st.Key, Channels: strings.Join(chans, ", "), Timing: st.Timing.String(), Expires: exp})
		}
	}

	loc := clinicZone(p.Clinic)
	f := ProtocolPreviewForm{TreatedAt: q.Get("treated_at"), TZ: q.Get("tz"), Lang: q.Get("lang"), Channel: q.Get("channel")}
	if f.TreatedAt == "" {
		// A sample: this afternoon at three, clinic time.
		n := s.Now().In(loc)
		f.TreatedAt = time.Date(n.Year(), n.Month(), n.Day(), 15, 0, 0, 0, loc).Format("2006-01-02T15:04")
	}
	if f.TZ == "" {
		f.TZ = p.Clinic.TZ
	}
	if f.Channel != "" && f.Channel != string(aftercare.SMS) && f.Channel != string(aftercare.Email) {
		page.Errors["channel"] = "pick SMS, email or both"
	}
	page.Form = f
	page.Zones = append([]string{p.Clinic.TZ}, previewZones...)
	if len(page.Errors) == 0 {
		if err := s.protocolPreview(ctx, p.Clinic, stored, &page); err != nil {
			if !page.Errors.Add(err) {
				s.fail(w, r, err)
				return
			}
			formLevel(page.Errors, "treated_at", "tz", "lang", "channel")
		}
	}
	status := http.StatusOK
	if len(page.Errors) > 0 {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "protocol", stored.Name, page)
}

// protocolPreview fills page.Timeline with what a patient treated at the form's
// time would get.
func (s *Server) protocolPreview(ctx context.Context, clinic *aftercare.Clinic, stored *aftercare.Protocol, page *ProtocolPage) error {
	f := page.Form
	_, msgs, err := s.Service.Preview(ctx, clinic, scheduler.PreviewRequest{Protocol: stored.Slug, Version: stored.Version,
		TreatedAt: f.TreatedAt, TZ: f.TZ, Lang: f.Lang})
	if err != nil {
		return err
	}
	loc, err := aftercare.LoadZone(f.TZ)
	if err != nil {
		return err
	}
	treated, err := aftercare.ParseTreatmentTime(f.TreatedAt, loc)
	if err != nil {
		return err
	}
	year := s.Now().In(clinicZone(clinic)).Year()
	for _, m := range msgs {
		if f.Channel != "" && string(m.Channel) != f.Channel {
			continue
		}
		page.Timeline = append(page.Timeline, TimelineItem{Message: m, When: dated(m.SendAt, loc, "Mon 2 Jan 15:04", year),
			After: offsetLabel(m.SendAt.Sub(treated)), Step: stepLabel(m)})
	}
	return nil
}

// offsetLabel writes an offset from the treatment the way staff read it:
// "+3d 2h", "-7d", "+0m".
func offsetLabel(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	var parts []string
	if days > 0 {
		parts = append(parts, fmt.Sprintf("%dd", days))
	}
	if hours > 0 {
		parts = append(parts, fmt.Sprintf("%dh", hours))
	}
	if mins > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%dm", mins))
	}
	return sign + strings.Join(parts, " ")
}

// ProtocolEditPage is the data of the "mgr_protocol_edit" template, for a
// new protocol (Slug "") or a new version of one.
type ProtocolEditPage struct {
	Slug     string
	Latest   *aftercare.Protocol // the version being edited; nil for a new protocol
	YAML     string
	Problems []ptemplates.Problem
	Lines    []CodeLine // the submitted text, when it has problems
	Errors   FieldErrors
	Action   string
}

// NavSection marks protocols in the menu.
func (ProtocolEditPage) NavSection() string { return "protocols" }

// newProtocolYAML starts a new protocol: the smallest useful document.
const newProtocolYAML = `slug: chemical-peel
name: Chemical peel aftercare
languages: [en]
steps:
  - key: sunscreen
    channels: [sms]
    after: 2h
    text:
      en:
        sms: >-
          {{.ClinicName}}: Hi {{.FirstName}}, please keep your face out of the sun
          this week and wear sunscreen every morning. Questions? Call {{.ClinicPhone}}.
`

func (s *Server) protocolNewForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "mgr_protocol_edit", "New protocol",
		ProtocolEditPage{YAML: newProtocolYAML, Errors: FieldErrors{}, Action: "/protocols"})
}

// editPage is the edit page of the latest version of the protocol the
// path's slug names, without the text: the form and the save share it.
func (s *Server) editPage(r *http.Request) (*ProtocolEditPage, error) {
	latest, err := s.Store.FindProtocol(r.Context(), principal(r).Clinic.ID, r.PathValue("slug"), 0)
	if err != nil {
		return nil, err
	}
	return &ProtocolEditPage{Slug: latest.Slug, Latest: latest, Errors: FieldErrors{},
		Action: "/protocols/" + url.PathEscape(latest.Slug) + "/edit"}, nil
}

func (s *Server) protocolEditForm(w http.ResponseWriter, r *http.Request) {
	page, err := s.editPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page.YAML = page.Latest.YAML
	s.render(w, r, http.StatusOK, "mgr_protocol_edit", "Edit "+page.Latest.Name, *page)
}

func (s *Server) protocolCreate(w http.ResponseWriter, r *http.Request) {
	page := ProtocolEditPage{Errors: FieldErrors{}, Action: "/protocols"}
	s.saveProtocol(w, r, &page)
}

func (s *Server) protocolSave(w http.ResponseWriter, r *http.Request) {
	page, err := s.editPage(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.saveProtocol(w, r, page)
}

// saveProtocol validates the posted YAML and stores it as the next version
// of its slug. On any problem it shows the text again with each problem at
// its line, and stores nothing. Editing a protocol cannot change its slug,
// and a new protocol cannot take a slug in use: both would silently write
// another protocol's history.
func (s *Server) saveProtocol(w http.ResponseWriter, r *http.Request, page *ProtocolEditPage) {
	p := principal(r)
	ctx := r.Context()
	title := "New protocol"
	if page.Latest != nil {
		title = "Edit " + page.Latest.Name
	}
	page.YAML = normalizeYAML(r.PostFormValue("yaml"))
	fail := func(problems ...ptemplates.Problem) {
		page.Problems = problems
		page.Lines = codeLines(page.YAML, problems)
		s.render(w, r, http.StatusBadRequest, "mgr_protocol_edit", title, page)
	}
	if strings.TrimSpace(page.YAML) == "" {
		page.Errors["yaml"] = "the protocol is empty: write its YAML here (see the example on New protocol)"
		fail()
		return
	}
	filename := page.Slug
	if filename == "" {
		filename = "new"
	}
	// failed answers err if there is one: a parse error with its problems
	// at their lines, any other as it is.
	failed := func(err error) bool {
		var pe *ptemplates.ParseError
		switch {
		case err == nil:
			return false
		case errors.As(err, &pe):
			fail(pe.Problems...)
		default:
			s.fail(w, r, err)
		}
		return true
	}
	parsed, warns, err := ptemplates.ParseWithWarnings(filename+".yaml", []byte(page.YAML))
	if failed(err) {
		return
	}
	line := slugLine(page.YAML)
	if page.Latest != nil && parsed.Slug != page.Latest.Slug {
		fail(ptemplates.Problem{Line: line, Col: 1, Msg: fmt.Sprintf("this page edits %q: keep slug: %s (to start another protocol, use New protocol)", page.Latest.Slug, page.Latest.Slug)})
		return
	}
	if page.Latest == nil && parsed.Slug == "new" {
		fail(ptemplates.Problem{Line: line, Col: 1, Msg: `the slug "new" is the address of this page: pick another`})
		return
	}
	if page.Latest == nil {
		_, err := s.Store.FindProtocol(ctx, p.Clinic.ID, parsed.Slug, 0)
		if err == nil {
			fail(ptemplates.Problem{Line: line, Col: 1, Msg: fmt.Sprintf("the clinic already has a protocol %q: pick another slug, or edit that one", parsed.Slug)})
			return
		} else if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
			s.fail(w, r, err)
			return
		}
	}
	saved, created, err := s.Service.ImportProtocol(ctx, p.Clinic.ID, filename+".yaml", []byte(page.YAML))
	if failed(err) {
		return
	}
	to := "/protocols/" + url.PathEscape(saved.Slug)
	// The protocol page lists the warnings of the version it shows.
	warned := ""
	if n := len(warns); n > 0 {
		warned = fmt.Sprintf(" It has %d warning%s: see below.", n, map[bool]string{true: "s"}[n != 1])
	}
	if !created {
		s.redirect(w, r, to, fmt.Sprintf("Nothing changed: the text is the same as version %d.%s", saved.Version, warned))
		return
	}
	s.logger().Info("protocol saved", "clinic", p.Clinic.ID, "slug", saved.Slug, "version", saved.Version, "warnings", len(warns), "by", p.Actor())
	s.redirect(w, r, to, fmt.Sprintf("Saved %s as version %d. New enrollments use it; patients already enrolled keep their version.%s", saved.Name, saved.Version, warned))
}

// slugLine is the line of the top-level "slug:" key (1 if there is none).
func slugLine(src string) int {
	for i, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "slug:") {
			return i + 1
		}
	}
	return 1
}
