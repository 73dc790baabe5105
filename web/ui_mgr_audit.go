package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// The audit log: who did what, recorded where each action is done, and
// the manager's page that reads it.

// auditActor is who the audit log names for p (withPrincipal puts it in
// every signed-in request's context, where scheduler.Service reads it).
func (p *Principal) auditActor() aftercare.Actor {
	a := aftercare.Actor{Label: p.Actor()}
	if p.Token == nil && p.User != nil {
		a.UserID = p.User.ID
	}
	return a
}

// audit records a staff action the handler did to the store directly
// (users, tokens, exports; the Service records its own). The action is
// done already: a failure to record it is logged, not shown.
func (s *Server) audit(r *http.Request, action, subject, detail string) {
	p := principal(r)
	if p == nil || s.Service == nil {
		return
	}
	if err := s.Service.Audit(r.Context(), p.Clinic.ID, action, subject, detail); err != nil {
		s.logger().Error("audit log", "clinic", p.Clinic.ID, "action", action, "subject", subject, "err", err)
	}
}

// auditPageSize is how many entries a page of the audit log shows.
const auditPageSize = 50

// AuditPageData is the data of the "audit" template.
type AuditPageData struct {
	Since, Until string // the filter as typed: days in the clinic's zone
	Errors       FieldErrors
	Entries      []AuditRow
	Next         string // the next (older) page's link, "" on the last
}

// AuditRow is one entry as the page shows it.
type AuditRow struct {
	When, Actor, Action, Subject, Detail string
}

// NavSection keeps the navigation's "Audit log" current.
func (AuditPageData) NavSection() string { return "audit" }

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q := r.URL.Query()
	page := AuditPageData{Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")), Errors: FieldErrors{}}
	var err error
	var beforeAt time.Time
	var beforeID int64
	if c := q.Get("after"); c != "" {
		if beforeAt, beforeID, err = decodeCursor(c); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	res, err := s.Service.AuditLog(r.Context(), p.Clinic, page.Since, page.Until, beforeAt, beforeID, auditPageSize)
	if err != nil {
		if !page.Errors.Add(err) {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusBadRequest, "audit", "Audit log", page)
		return
	}
	loc := clinicZone(p.Clinic)
	for _, e := range res.Entries {
		page.Entries = append(page.Entries, AuditRow{When: mgrTime(e.At, loc, whenLayout), Actor: e.Actor, Action: e.Action,
			Subject: e.Subject, Detail: e.Detail})
	}
	if res.More {
		last := res.Entries[len(res.Entries)-1]
		next := url.Values{"after": {encodeCursor(last.At, last.ID)}}
		if page.Since != "" {
			next.Set("since", page.Since)
		}
		if page.Until != "" {
			next.Set("until", page.Until)
		}
		page.Next = "/audit?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", "Audit log", page)
}
