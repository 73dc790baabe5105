package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Sizes of the start page's lists.
const (
	todayLimit  = 200 // enrollments listed under "today"
	recentLimit = 20  // enrollments per page of "recent"
	searchLimit = 50  // patients a search lists
)

// HomePage is the data of the "home" template: what was enrolled today,
// in the clinic's local day, and the enrollments before it, newest first.
type HomePage struct {
	Day        string // "Monday 23 November", the clinic's today
	Today      []*aftercare.EnrollmentSummary
	TodayMore  bool // there were more than todayLimit today
	Recent     []*aftercare.EnrollmentSummary
	Older      string // the next page of Recent, "" at the end
	Paged      bool   // showing a later page: today's list is left out
	Protocols  protocolNames
	NoProtocol bool   // the clinic has no protocol to enroll on
	TZ         string // the clinic's zone, in which the lists show times
	Year       int    // the clinic's current year: other years are written out
}

// EnrollmentTable is the data of the "enrollment-table" template.
type EnrollmentTable struct {
	Rows      []*aftercare.EnrollmentSummary
	TZ        string
	Protocols protocolNames
	Year      int
}

// TodayTable is today's list as a table.
func (p HomePage) TodayTable() EnrollmentTable {
	return EnrollmentTable{p.Today, p.TZ, p.Protocols, p.Year}
}

// RecentTable is the earlier list as a table.
func (p HomePage) RecentTable() EnrollmentTable {
	return EnrollmentTable{p.Recent, p.TZ, p.Protocols, p.Year}
}

// NavSection marks "Today" in the menu.
func (HomePage) NavSection() string { return "home" }

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	before := int64(0)
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			s.fail(w, r, aftercare.FieldErrorf("before", "%q is not a page of this list; start again from Today", v))
			return
		}
		before = n
	}
	loc := clinicZone(p.Clinic)
	now := s.Now().In(loc)
	y, m, d := now.Date()
	midnight := time.Date(y, m, d, 0, 0, 0, 0, loc)
	protocols, err := s.Store.ListProtocols(ctx, p.Clinic.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := HomePage{Day: now.Format("Monday 2 January"), Paged: before > 0, Protocols: namesOf(protocols), NoProtocol: len(protocols) == 0, TZ: p.Clinic.TZ, Year: now.Year()}
	if !page.Paged {
		today, err := s.Store.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: p.Clinic.ID, Since: midnight.UTC(), Limit: todayLimit + 1})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(today) > todayLimit {
			today, page.TodayMore = today[:todayLimit], true
		}
		page.Today = today
		if len(today) > 0 {
			// Recent continues where today's list stops.
			before = today[len(today)-1].Enrollment.ID
		}
	}
	recent, err := s.Store.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: p.Clinic.ID, BeforeID: before, Limit: recentLimit + 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(recent) > recentLimit {
		recent = recent[:recentLimit]
		page.Older = "/?before=" + strconv.FormatInt(recent[len(recent)-1].Enrollment.ID, 10)
	}
	page.Recent = recent
	title := "Today"
	if page.Paged {
		title = "Earlier enrollments"
	}
	s.render(w, r, http.StatusOK, "home", title, page)
}

// PatientsPage is the data of the "patients" template: a search and its
// results.
type PatientsPage struct {
	Q        string
	Searched bool
	Results  []*aftercare.Patient
	More     bool // more than searchLimit matched
	Errors   FieldErrors
}

func (s *Server) patients(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q := strings.Join(strings.Fields(r.URL.Query().Get("q")), " ")
	page := PatientsPage{Q: q, Errors: FieldErrors{}}
	switch {
	case q == "":
	case len([]rune(q)) > 100:
		page.Errors["q"] = "Search for at most 100 characters: part of a name, a phone number or an email address."
	default:
		res, err := s.Store.SearchPatients(r.Context(), p.Clinic.ID, q, searchLimit+1)
		if err != nil && !fieldError(page.Errors, err, "q") {
			s.fail(w, r, err)
			return
		}
		if len(res) > searchLimit {
			res, page.More = res[:searchLimit], true
		}
		page.Results, page.Searched = res, err == nil
	}
	status := http.StatusOK
	if len(page.Errors) > 0 {
		status = http.StatusBadRequest
	}
	s.render(w, r, status, "patients", "Patients", page)
}
