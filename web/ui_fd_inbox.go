package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/aftercare/aftercare"
)

// The inbox: patients' replies to the clinic's texts, for the front desk
// and up. Red flags come first until someone reads them; staff answer from
// the patient's page (an SMS like any other: consent, quiet hours, the log).

// InboxPage is the data of the "inbox" template.
type InboxPage struct {
	Replies []*aftercare.Reply
	Unread  int
}

// NavSection marks "Inbox" in the menu.
func (InboxPage) NavSection() string { return "inbox" }

// KindLabel names a reply's kind for people.
func (InboxPage) KindLabel(k aftercare.ReplyKind) string { return replyKindLabel(k) }

func replyKindLabel(k aftercare.ReplyKind) string {
	switch k {
	case aftercare.ReplyStop:
		return "opted out"
	case aftercare.ReplyStart:
		return "opted back in"
	case aftercare.ReplyHelp:
		return "asked for help"
	case aftercare.ReplyRedFlag:
		return "warning sign"
	}
	return "reply"
}

// routesInbox mounts the inbox and the staff answer.
func (s *Server) routesInbox(mux *http.ServeMux) {
	fd := func(h http.HandlerFunc) http.HandlerFunc { return s.page(aftercare.RoleFrontDesk, h) }
	mux.HandleFunc("GET /inbox", fd(s.inboxPage))
	mux.HandleFunc("POST /inbox/{id}/read", fd(s.inboxRead))
	mux.HandleFunc("POST /patients/{id}/answer", fd(s.answerPatient))
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	rs, err := s.Store.ListReplies(r.Context(), aftercare.ReplyFilter{ClinicID: p.Clinic.ID, Limit: 200})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.Store.CountUnread(r.Context(), p.Clinic.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "inbox", "Inbox", InboxPage{Replies: rs, Unread: n})
}

// inboxRead marks a reply read and goes back where the form was (the inbox
// or the patient's page).
func (s *Server) inboxRead(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := pathID(r, "reply")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var uid int64
	if p.User != nil {
		uid = p.User.ID
	}
	if err := s.Store.MarkRead(r.Context(), p.Clinic.ID, id, uid, s.Now()); err != nil {
		s.fail(w, r, err)
		return
	}
	back := r.PostFormValue("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/inbox"
	}
	s.redirect(w, r, back, "Marked read.")
}

// answerPatient sends a staff answer to a patient.
func (s *Server) answerPatient(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := pathID(r, "patient")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := fmt.Sprintf("/patients/%d#replies", id)
	if s.Inbound == nil {
		s.redirect(w, r, to, "Answers cannot be sent from this server: texts are not set up.")
		return
	}
	var uid int64
	if p.User != nil {
		uid = p.User.ID
	}
	m, err := s.Inbound.Answer(r.Context(), p.Clinic.ID, id, uid, r.PostFormValue("body"))
	if aftercare.InputError(err) || aftercare.ErrorCode(err) == aftercare.EUNPROCESSABLE {
		s.redirect(w, r, to, "Not sent: "+aftercare.ErrorMessage(err))
		return
	} else if err != nil {
		s.fail(w, r, err)
		return
	}
	s.logger().Info("staff answer", "clinic", p.Clinic.ID, "patient", id, "message", m.ID, "by", p.Actor())
	if m.Status == aftercare.StatusPending {
		s.redirect(w, r, to, "Answer queued: it is quiet hours for the patient, so it goes at "+
			m.SendAt.In(clinicZone(p.Clinic)).Format("Mon 15:04")+" (clinic time).")
		return
	}
	s.redirect(w, r, to, "Answer sent.")
}
