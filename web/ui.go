package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/aftercare/aftercare"
)

// The app's templates and assets are compiled into the binary: nothing to
// build or copy beside it.
var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// View is what every page template gets: the page's own data in Page, and
// what the layout needs (who is signed in, the CSRF token, the flash).
type View struct {
	Title  string
	Nav    string // the active section: "home", "enroll", "patients", "log", ...
	P      *Principal
	CSRF   string
	Flash  string
	Page   any
	Now    time.Time
	Server *Server
	Unread int // the clinic's unread replies, for the Inbox link
}

// Can reports whether the signed-in user has at least role r (templates
// show a link only to those who may follow it).
func (v View) Can(r string) bool { return v.P != nil && v.P.Role.AtLeast(aftercare.Role(r)) }

// Zone is the clinic's time zone, for dates shown to staff.
func (v View) Zone() *time.Location {
	if v.P != nil && v.P.Clinic != nil {
		if loc, err := aftercare.LoadZone(v.P.Clinic.TZ); err == nil {
			return loc
		}
	}
	return time.UTC
}

// Year is the current year in the clinic's zone, by the injected clock:
// lists give the year of dates in any other ("date").
func (v View) Year() int { return v.Now.In(v.Zone()).Year() }

// dated formats t in loc ("" for the zero time) by layout, with the year
// after the month ("Tue 2 Dec 2025") when t is not in year, so that a list
// never shows "Tue 2 Dec" for 2025 and 2027 beside this year's days.
func dated(t time.Time, loc *time.Location, layout string, year int) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	if t.Year() != year && !strings.Contains(layout, "2006") {
		layout = strings.Replace(layout, "Jan", "Jan 2006", 1)
	}
	return t.Format(layout)
}

var funcs = template.FuncMap{
	// date formats a time in an IANA zone like local, with the year when
	// it is not year (View.Year).
	"date": func(t time.Time, tz string, layout string, year int) string {
		loc, err := aftercare.LoadZone(tz)
		if err != nil {
			loc = time.UTC
		}
		return dated(t, loc, layout, year)
	},
	// local formats a UTC time in an IANA zone ("" for the zero time).
	"local": func(t time.Time, tz string, layout string) string {
		if t.IsZero() {
			return ""
		}
		loc, err := aftercare.LoadZone(tz)
		if err != nil {
			loc = time.UTC
		}
		return t.In(loc).Format(layout)
	},
	"phone":     aftercare.DisplayPhone,
	"sentLabel": sentLabel,
	"viaOutbox": viaOutbox,
	"zonedNote": zonedNote,
	"maskPhone": aftercare.MaskPhone,
	"maskEmail": aftercare.MaskEmail,
	// statusClass is the CSS class of a message state's badge.
	"statusClass": func(s aftercare.Status) string {
		switch s {
		case aftercare.StatusDelivered, aftercare.StatusSent:
			return "ok"
		case aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown, aftercare.StatusExpired:
			return "bad"
		case aftercare.StatusPending, aftercare.StatusSending:
			return "wait"
		}
		return "muted"
	},
	"add":   func(a, b int) int { return a + b },
	"query": func(v url.Values) template.URL { return template.URL(v.Encode()) },
	"join":  strings.Join,
	"upper": strings.ToUpper,
}

// templates holds one template set per page: the layout, the shared
// partials, and the page's own file.
type templates struct {
	once  sync.Once
	err   error
	pages map[string]*template.Template
}

var pageTemplates templates

func (t *templates) load() (map[string]*template.Template, error) {
	t.once.Do(func() {
		base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
		if err != nil {
			t.err = err
			return
		}
		files, _ := fs.Glob(templateFS, "templates/*.html")
		t.pages = map[string]*template.Template{}
		for _, f := range files {
			name := strings.TrimSuffix(path.Base(f), ".html")
			if name == "layout" {
				continue
			}
			c := template.Must(base.Clone())
			if _, err := c.ParseFS(templateFS, f); err != nil {
				t.err = err
				return
			}
			t.pages[name] = c
		}
	})
	return t.pages, t.err
}

// render writes the page template name with data inside the app's layout.
// It renders into a buffer first, so a template error never sends half a
// page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	pages, err := pageTemplates.load()
	if err != nil {
		s.logger().Error("loading templates", "err", err)
		http.Error(w, "the app's templates are broken; see the server log", http.StatusInternalServerError)
		return
	}
	t := pages[name]
	if t == nil {
		s.logger().Error("no such template", "name", name)
		http.Error(w, "page not found", http.StatusInternalServerError)
		return
	}
	v := View{Title: title, Nav: name, P: principal(r), CSRF: csrfToken(r), Page: data, Now: s.Now(), Server: s}
	if c, err := r.Cookie(flashCookie); err == nil {
		if msg, err := url.QueryUnescape(c.Value); err == nil {
			v.Flash = msg
		}
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.SecureCookies})
	}
	if s.Store != nil && v.P != nil && v.P.Session != nil && v.P.Clinic != nil {
		v.Unread, _ = s.Store.CountUnread(r.Context(), v.P.Clinic.ID) // a failure only hides the count
	}
	if nav, ok := data.(interface{ NavSection() string }); ok {
		v.Nav = nav.NavSection()
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.logger().Error("rendering", "template", name, "err", err)
		http.Error(w, "this page could not be shown; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

const flashCookie = "aftercare_flash"

// flash shows msg on the next page rendered for this browser (after a
// redirect: post, redirect, get).
func (s *Server) flash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.SecureCookies})
}

// redirect answers a successful form with 303 See Other, optionally with a
// flash message.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		s.flash(w, flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// ErrorPage is the data of the "error" template.
type ErrorPage struct {
	Status  int
	Heading string
	Message string
}

// renderError writes the app's error page for err.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(aftercare.ErrorCode(err))
	msg := aftercare.ErrorMessage(err)
	heading := map[int]string{
		http.StatusBadRequest: "That did not work", http.StatusNotFound: "Not found",
		http.StatusConflict: "That clashes with what is stored", http.StatusUnauthorized: "Please sign in",
		http.StatusForbidden: "Not allowed",
	}[status]
	if heading == "" {
		heading = "Something went wrong"
		msg = "Aftercare hit an internal error. Nothing was changed by this request. The details are in the server log."
	}
	s.render(w, r, status, "error", heading, ErrorPage{Status: status, Heading: heading, Message: msg})
}

// FieldErrors collects form errors by field name, for showing each beside
// its input.
type FieldErrors map[string]string

// Add records err against its field (or "" for the form as a whole) and
// reports whether err was an input problem (EINVALID, ECONFLICT) rather than
// a failure the caller must pass on.
func (fe FieldErrors) Add(err error) bool {
	if !aftercare.InputError(err) && aftercare.ErrorCode(err) != aftercare.ECONFLICT {
		return false
	}
	field, msg := "", aftercare.ErrorMessage(err)
	if e := (*aftercare.Error)(nil); errors.As(err, &e) {
		field, msg = e.Field, e.Message
	}
	if old := fe[field]; old != "" && old != msg {
		msg = old + " " + msg
	}
	fe[field] = msg
	return true
}

// routesUI mounts the staff app's pages: the front desk's (ui_fd.go: home,
// enroll, patients, import) and the manager's and admin's (ui_mgr.go:
// delivery log, attention, chart, protocols, users, tokens, settings).
func (s *Server) routesUI(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Files only: a directory would be listed (or its index served).
		if st, err := fs.Stat(static, strings.TrimSuffix(r.URL.Path, "/")); r.URL.Path == "" || err != nil || st.IsDir() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})))
	s.routesFrontDesk(mux)
	s.routesInbox(mux)
	s.routesManager(mux)
}
