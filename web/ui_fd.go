package web

import (
	"bytes"
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
)

// The front desk's pages. Every route is wrapped by s.page with the front
// desk role (managers and admins include it), and every store call names
// the principal's clinic: an id of another clinic's row is ENOTFOUND, which
// the app shows as 404.
//
// Files: ui_fd.go (routes and what the pages share), ui_fd_home.go (today,
// patient search), ui_fd_enroll.go (enroll form and live preview),
// ui_fd_patient.go (patient card, edit, cancel, reschedule), ui_fd_import.go
// (CSV import with progress), ui_fd_consent.go (consent changes),
// ui_fd_inbox.go (patients' texts and answers).

// routesFrontDesk mounts the front desk's pages.
func (s *Server) routesFrontDesk(mux *http.ServeMux) {
	fd := func(h http.HandlerFunc) http.HandlerFunc { return s.page(aftercare.RoleFrontDesk, h) }
	mux.HandleFunc("GET /{$}", fd(s.home))
	mux.HandleFunc("GET /enroll", fd(s.enrollForm))
	mux.HandleFunc("POST /enroll", fd(s.enroll))
	mux.HandleFunc("POST /enroll/preview", fd(s.enrollPreview))
	mux.HandleFunc("GET /patients", fd(s.patients))
	mux.HandleFunc("GET /patients/{id}", fd(s.patient))
	mux.HandleFunc("POST /patients/{id}", fd(s.editPatient))
	mux.HandleFunc("POST /enrollments/{id}/cancel", fd(s.cancelEnrollment))
	mux.HandleFunc("POST /enrollments/{id}/reschedule", fd(s.rescheduleEnrollment))
	mux.HandleFunc("GET /import", fd(s.importForm))
	mux.HandleFunc("POST /import", fd(s.importUpload))
	mux.HandleFunc("GET /import/template.csv", fd(s.importTemplate))
	mux.HandleFunc("GET /import/{id}", fd(s.importJobPage))
	mux.HandleFunc("GET /import/{id}/progress", fd(s.importProgress))
}

// fieldError records err in fe under its field when the field is one of
// the form's (known), and under "" (the form as a whole) otherwise. Unlike
// FieldErrors.Add it keeps only the message: the field's label is already
// beside it. It reports whether err was the user's to fix (EINVALID,
// ECONFLICT); any other error is the caller's to pass on.
func fieldError(fe FieldErrors, err error, known ...string) bool {
	if !aftercare.InputError(err) && aftercare.ErrorCode(err) != aftercare.ECONFLICT {
		return false
	}
	var ae *aftercare.Error
	errors.As(err, &ae)
	field, msg := ae.Field, ae.Message
	if !slices.Contains(known, field) {
		field, msg = "", ae.Error()
	}
	msg = upperFirst(msg)
	if old := fe[field]; old != "" {
		if old == msg {
			return true
		}
		msg = old + " " + msg
	}
	fe[field] = msg
	return true
}

// upperFirst capitalises a message from the domain ("the name is
// required") to stand on its own beside a field.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// pathID reads the {id} of a route; anything that is not a positive number
// is a page that does not exist.
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, aftercare.Errorf(aftercare.ENOTFOUND, "there is no %s %q", what, r.PathValue("id"))
	}
	return id, nil
}

// clinicZone is the clinic's location (UTC if its zone no longer loads).
func clinicZone(c *aftercare.Clinic) *time.Location {
	if loc, err := aftercare.LoadZone(c.TZ); err == nil {
		return loc
	}
	return time.UTC
}

// localInput is a time as a datetime-local input shows it.
const localInput = "2006-01-02T15:04"

// maxField bounds every text field of the front desk's forms, so that no
// validator is handed a megabyte.
const maxField = 300

// formValue reads a text field, trimmed, and records an error when it is
// absurdly long.
func formValue(r *http.Request, fe FieldErrors, name string) string {
	v := strings.TrimSpace(r.PostFormValue(name))
	if len(v) > maxField {
		fe[name] = "This is longer than " + strconv.Itoa(maxField) + " characters; check what was pasted here."
		return ""
	}
	return v
}

// formCheck reads a checkbox. A box sends its value ("yes") when ticked
// and nothing when not; anything else did not come from the form.
func formCheck(r *http.Request, fe FieldErrors, name string) bool {
	switch v := r.PostFormValue(name); v {
	case "":
		return false
	case "yes", "on", "true", "1":
		return true
	default:
		fe[name] = "Tick the box or leave it empty."
		return false
	}
}

// option is one choice of a select or datalist.
type option struct {
	Value, Label string
}

// languageNames are the names the front desk sees for the language codes
// protocols are written in; an unknown code is shown as it is.
var languageNames = map[string]string{
	"en": "English", "es": "Spanish (Español)", "fr": "French (Français)", "pt": "Portuguese (Português)",
	"de": "German (Deutsch)", "it": "Italian (Italiano)", "nl": "Dutch (Nederlands)", "pl": "Polish (Polski)",
	"ru": "Russian (Русский)", "uk": "Ukrainian (Українська)", "ar": "Arabic (العربية)", "he": "Hebrew (עברית)",
	"zh": "Chinese (中文)", "ja": "Japanese (日本語)", "ko": "Korean (한국어)", "vi": "Vietnamese (Tiếng Việt)",
	"tl": "Tagalog", "hi": "Hindi (हिन्दी)", "tr": "Turkish (Türkçe)", "el": "Greek (Ελληνικά)",
}

func languageName(code string) string {
	if n := languageNames[code]; n != "" {
		return n
	}
	return code
}

// languageOptions lists every language any of the protocols is written
// in (plus extra, e.g. a patient's current language), English first and
// then by name.
func languageOptions(protocols []*aftercare.Protocol, extra ...string) []option {
	seen := map[string]bool{}
	var codes []string
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			codes = append(codes, c)
		}
	}
	for _, p := range protocols {
		for _, l := range p.Languages {
			add(l)
		}
	}
	for _, l := range extra {
		add(l)
	}
	// English first, then the others by name.
	slices.SortFunc(codes, func(a, b string) int {
		switch {
		case a == "en" && b != "en":
			return -1
		case b == "en" && a != "en":
			return 1
		}
		return cmp.Compare(languageName(a), languageName(b))
	})
	out := make([]option, len(codes))
	for i, c := range codes {
		out[i] = option{c, languageName(c)}
	}
	return out
}

func hasOption(opts []option, v string) bool {
	return slices.ContainsFunc(opts, func(o option) bool { return o.Value == v })
}

// commonZones are offered in the time zone field's list; any other IANA
// name may be typed.
var commonZones = []option{
	{"America/New_York", "US Eastern (New York)"},
	{"America/Chicago", "US Central (Chicago)"},
	{"America/Denver", "US Mountain (Denver)"},
	{"America/Phoenix", "US Arizona (Phoenix, no DST)"},
	{"America/Los_Angeles", "US Pacific (Los Angeles)"},
	{"America/Anchorage", "US Alaska (Anchorage)"},
	{"Pacific/Honolulu", "US Hawaii (Honolulu)"},
	{"America/Puerto_Rico", "Puerto Rico"},
	{"America/Toronto", "Canada Eastern (Toronto)"},
	{"America/Vancouver", "Canada Pacific (Vancouver)"},
	{"America/Halifax", "Canada Atlantic (Halifax)"},
	{"America/Mexico_City", "Mexico (Mexico City)"},
	{"America/Bogota", "Colombia (Bogotá)"},
	{"America/Sao_Paulo", "Brazil (São Paulo)"},
	{"America/Argentina/Buenos_Aires", "Argentina (Buenos Aires)"},
	{"Europe/London", "UK (London)"},
	{"Europe/Dublin", "Ireland (Dublin)"},
	{"Europe/Lisbon", "Portugal (Lisbon)"},
	{"Europe/Madrid", "Spain (Madrid)"},
	{"Europe/Paris", "France (Paris)"},
	{"Europe/Berlin", "Germany (Berlin)"},
	{"Europe/Rome", "Italy (Rome)"},
	{"Europe/Amsterdam", "Netherlands (Amsterdam)"},
	{"Europe/Athens", "Greece (Athens)"},
	{"Europe/Istanbul", "Turkey (Istanbul)"},
	{"Africa/Johannesburg", "South Africa (Johannesburg)"},
	{"Asia/Dubai", "UAE (Dubai)"},
	{"Asia/Kolkata", "India (Kolkata)"},
	{"Asia/Singapore", "Singapore"},
	{"Asia/Hong_Kong", "Hong Kong"},
	{"Asia/Tokyo", "Japan (Tokyo)"},
	{"Asia/Seoul", "Korea (Seoul)"},
	{"Australia/Perth", "Australia Western (Perth)"},
	{"Australia/Brisbane", "Australia Queensland (Brisbane)"},
	{"Australia/Sydney", "Australia Eastern (Sydney)"},
	{"Pacific/Auckland", "New Zealand (Auckland)"},
	{"UTC", "UTC"},
}

// protocolNames maps the clinic's protocol slugs to their names, for lists
// that only carry the slug.
type protocolNames map[string]string

// Name is the protocol's name, or its slug when it is no longer listed.
func (n protocolNames) Name(slug string) string {
	if v := n[slug]; v != "" {
		return v
	}
	return slug
}

func namesOf(protocols []*aftercare.Protocol) protocolNames {
	n := protocolNames{}
	for _, p := range protocols {
		n[p.Slug] = p.Name
	}
	return n
}

// renderFragment writes one template of a page's set (e.g. "preview" in
// enroll.html) without the layout: the HTML the live preview swaps in.
func (s *Server) renderFragment(w http.ResponseWriter, status int, page, name string, data any) {
	pages, err := pageTemplates.load()
	var buf bytes.Buffer
	if err == nil {
		if t := pages[page]; t == nil {
			err = errors.New("no template set " + page)
		} else {
			err = t.ExecuteTemplate(&buf, name, data)
		}
	}
	if err != nil {
		s.logger().Error("rendering a fragment", "page", page, "template", name, "err", err)
		http.Error(w, "this part of the page could not be shown; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
