package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// The delivery log, its CSV export, one message with its attempts, the
// daily chart and the attention list.

// logPageSize is the rows of one page of the log and of the attention list.
const logPageSize = 50

// LogForm is the delivery log's filter as typed, so the form shows it again
// and every page link and the export keep it.
type LogForm struct {
	Since, Until string // YYYY-MM-DD, the clinic's local days; Until is included
	States       map[aftercare.Status]bool
	Channel      string
	Protocol     string
	Patient      string // a patient id, or a name, phone or email to look for
}

// logKeys are the query parameters of the filter (the cursor, "after", is not
// one of them).
var logKeys = []string{"since", "until", "state", "channel", "protocol", "patient"}

// Values returns the filter as query parameters.
func (f LogForm) Values() url.Values {
	v := url.Values{"since": {f.Since}, "until": {f.Until}}
	for _, s := range aftercare.Statuses {
		if f.States[s] {
			v.Add("state", string(s))
		}
	}
	for k, x := range map[string]string{"channel": f.Channel, "protocol": f.Protocol, "patient": f.Patient} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// logFilter is a read filter: what the form said, the store's filter, and
// what was wrong with it.
type logFilter struct {
	Form    LogForm
	Filter  aftercare.MessageFilter
	Errors  FieldErrors
	Choices []*aftercare.Patient // several patients matched the search
	// Protocols are the clinic's, for the filter's choices.
	Protocols []*aftercare.Protocol
}

// readLogFilter reads the log's filter from a query. Input problems are in
// Errors (by field); the error is for failures of the store. A first visit
// (no filter parameter at all) shows the last seven local days.
func (s *Server) readLogFilter(ctx context.Context, p *Principal, q url.Values) (*logFilter, error) {
	protocols, err := s.Store.ListProtocols(ctx, p.Clinic.ID)
	if err != nil {
		return nil, err
	}
	loc := clinicZone(p.Clinic)
	lf := &logFilter{Errors: FieldErrors{}, Protocols: protocols, Filter: aftercare.MessageFilter{ClinicID: p.Clinic.ID}}
	form := &lf.Form
	first := !slices.ContainsFunc(logKeys, q.Has)
	if first {
		today := s.Now().In(loc)
		form.Since = today.AddDate(0, 0, -6).Format(time.DateOnly)
		form.Until = today.Format(time.DateOnly)
	} else {
		form.Since = strings.TrimSpace(q.Get("since"))
		form.Until = strings.TrimSpace(q.Get("until"))
	}
	form.Channel = q.Get("channel")
	form.Protocol = q.Get("protocol")
	form.Patient = strings.TrimSpace(q.Get("patient"))
	form.States = map[aftercare.Status]bool{}

	if lf.Filter.Since, lf.Filter.Until, err = aftercare.DayRange(form.Since, form.Until, loc); err != nil {
		var ae *aftercare.Error
		if !errors.As(err, &ae) {
			return nil, err
		}
		lf.Errors[ae.Field] = upperFirst(ae.Message)
	}
	for _, v := range q["state"] {
		st, err := aftercare.ParseStatus(v)
		if err != nil {
			lf.Errors["state"] = fmt.Sprintf("%q is not a message state", v)
			continue
		}
		if !form.States[st] {
			form.States[st] = true
			lf.Filter.Statuses = append(lf.Filter.Statuses, st)
		}
	}
	if form.Channel != "" {
		c, err := aftercare.ParseChannel(form.Channel)
		if err != nil {
			lf.Errors["channel"] = "pick SMS or email (or any)"
		}
		lf.Filter.Channel = c
	}
	if form.Protocol != "" {
		if !slices.ContainsFunc(protocols, func(x *aftercare.Protocol) bool { return x.Slug == form.Protocol }) {
			lf.Errors["protocol"] = fmt.Sprintf("this clinic has no protocol %q", form.Protocol)
		}
		lf.Filter.ProtocolSlug = form.Protocol
	}
	if form.Patient != "" {
		id, ch, msg, err := s.findLogPatient(ctx, p.Clinic.ID, form.Patient)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			lf.Errors["patient"] = msg
		}
		lf.Filter.PatientID, lf.Choices = id, ch
	}
	if a := q.Get("after"); a != "" {
		at, id, err := decodeCursor(a)
		if err != nil {
			lf.Errors.Add(err)
		}
		lf.Filter.AfterSendAt, lf.Filter.AfterID = at, id
	}
	return lf, nil
}

// findLogPatient reads the log's patient field: an id of the clinic's, or a
// search (name, phone, email) that must match exactly one patient; digits
// that are not an id are searched as a phone. msg says what is wrong;
// choices are the patients a search matched when there were several.
func (s *Server) findLogPatient(ctx context.Context, clinicID int64, v string) (id int64, choices []*aftercare.Patient, msg string, err error) {
	if len(v) > 200 {
		return 0, nil, "that is too long to be a name, phone or email", nil
	}
	if n, perr := strconv.ParseInt(strings.TrimPrefix(v, "#"), 10, 64); perr == nil && n > 0 {
		_, err := s.Store.FindPatient(ctx, clinicID, n)
		if err == nil {
			return n, nil, "", nil
		}
		if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
			return 0, nil, "", err
		}
		if strings.HasPrefix(v, "#") || len(v) < 3 {
			return 0, nil, fmt.Sprintf("this clinic has no patient #%d", n), nil
		}
	}
	if len([]rune(v)) < 2 {
		return 0, nil, "type at least two letters of the name, or the patient's id", nil
	}
	found, err := s.Store.SearchPatients(ctx, clinicID, v, 11)
	if err != nil {
		return 0, nil, "", err
	}
	switch len(found) {
	case 0:
		return 0, nil, fmt.Sprintf("no patient has the id, name, phone or email %q", v), nil
	case 1:
		return found[0].ID, nil, "", nil
	}
	if len(found) > 10 {
		return 0, found[:10], fmt.Sprintf("more than 10 patients match %q: type more of the name, or pick one below", v), nil
	}
	return 0, found, fmt.Sprintf("%d patients match %q: pick one below", len(found), v), nil
}

// LogRow is one message as the log and the attention list show it.
type LogRow struct {
	*aftercare.Message
	PatientName string // "" when the patient could not be found
	When        string // SendAt in the clinic's zone
	Sent        string
	Delivered   string
	Step        string // key, with the occurrence of a recurring step
	URL         string // the message's own page
}

// messageURL is the page of one message. The store finds messages by
// (send time, id), so the link carries the send time.
func messageURL(m *aftercare.Message) string {
	return "/log/" + strconv.FormatInt(m.ID, 10) + "?at=" + m.SendAt.UTC().Format(messageAtLayout)
}

const messageAtLayout = "2006-01-02T15:04:05.000Z"

// stepLabel names a message's step, with "#n" for an occurrence of a
// recurring one.
func stepLabel(m *aftercare.Message) string {
	if m.Occurrence > 0 {
		return fmt.Sprintf("%s #%d", m.StepKey, m.Occurrence+1)
	}
	return m.StepKey
}

// logRows dresses messages for a table, loading each patient of the page
// once (a page of fifty rows is usually a handful of patients).
func (s *Server) logRows(ctx context.Context, clinic *aftercare.Clinic, msgs []*aftercare.Message) ([]LogRow, error) {
	loc := clinicZone(clinic)
	names := map[int64]string{}
	for _, m := range msgs {
		if _, ok := names[m.PatientID]; ok {
			continue
		}
		pt, err := s.Store.FindPatient(ctx, clinic.ID, m.PatientID)
		switch {
		case err == nil:
			names[m.PatientID] = pt.Name
		case aftercare.ErrorCode(err) == aftercare.ENOTFOUND:
			names[m.PatientID] = ""
		default:
			return nil, err
		}
	}
	year := s.Now().In(loc).Year()
	rows := make([]LogRow, len(msgs))
	for i, m := range msgs {
		rows[i] = LogRow{Message: m, PatientName: names[m.PatientID], When: shortTime(m.SendAt, time.Time{}, loc, year),
			Sent: shortTime(m.SentAt, m.SendAt, loc, year), Delivered: shortTime(m.DeliveredAt, m.SendAt, loc, year),
			Step: stepLabel(m), URL: messageURL(m)}
	}
	return rows, nil
}

// shortTime writes t for a crowded table: "14:05" on the day of ref (in
// loc), "3 Nov 14:05" in the current year, "3 Nov 2025 14:05" otherwise;
// "" for the zero time.
func shortTime(t, ref time.Time, loc *time.Location, year int) string {
	if t.IsZero() {
		return ""
	}
	l := t.In(loc)
	if !ref.IsZero() {
		r := ref.In(loc)
		if r.YearDay() == l.YearDay() && r.Year() == l.Year() {
			return l.Format("15:04")
		}
	}
	if l.Year() == year {
		return l.Format("2 Jan 15:04")
	}
	return l.Format("2 Jan 2006 15:04")
}

// LogPage is the data of the "log" template.
type LogPage struct {
	Form      LogForm
	Errors    FieldErrors
	Choices   []ChoiceLink
	States    []aftercare.Status
	Protocols []*aftercare.Protocol
	Rows      []LogRow
	Later     bool   // this is not the first page
	First     string // the first page of this filter
	Next      string // the next page, "" on the last one
	CSV       string // the export of everything the filter selects
	Zone      string
}

// NavSection marks the log in the menu.
func (LogPage) NavSection() string { return "log" }

// ChoiceLink is a patient a search matched, with the log filtered on them.
type ChoiceLink struct {
	Name, Contact, URL string
	ID                 int64
}

func (s *Server) logPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	lf, err := s.readLogFilter(ctx, p, r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := lf.Form.Values()
	page := LogPage{Form: lf.Form, Errors: lf.Errors, States: aftercare.Statuses, Protocols: lf.Protocols,
		First: "/log?" + v.Encode(), CSV: "/log.csv?" + v.Encode(), Zone: p.Clinic.TZ,
		Later: lf.Filter.AfterID != 0}
	for _, c := range lf.Choices {
		cv := lf.Form.Values()
		cv.Set("patient", strconv.FormatInt(c.ID, 10))
		contact := aftercare.DisplayPhone(c.Phone)
		if contact == "" {
			contact = c.Email
		}
		page.Choices = append(page.Choices, ChoiceLink{Name: c.Name, Contact: contact, ID: c.ID, URL: "/log?" + cv.Encode()})
	}
	if len(lf.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "log", "Delivery log", page)
		return
	}
	f := lf.Filter
	f.Limit = logPageSize + 1 // one more tells whether there is a next page
	msgs, err := s.Store.ListMessages(ctx, f)
	if err != nil {
		if page.Errors.Add(err) {
			formLevel(page.Errors, logKeys...)
			s.render(w, r, http.StatusBadRequest, "log", "Delivery log", page)
			return
		}
		s.fail(w, r, err)
		return
	}
	if len(msgs) > logPageSize {
		msgs = msgs[:logPageSize]
		last := msgs[len(msgs)-1]
		nv := lf.Form.Values()
		nv.Set("after", encodeCursor(last.SendAt, last.ID))
		page.Next = "/log?" + nv.Encode()
	}
	if page.Rows, err = s.logRows(ctx, p.Clinic, msgs); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "log", "Delivery log", page)
}

// logCSV streams every message the filter selects (all pages, not only the
// one on screen) as `aftercare log --csv` prints them, reading the store a
// batch at a time so that memory stays flat whatever the size.
func (s *Server) logCSV(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	q := r.URL.Query()
	q.Del("after")
	lf, err := s.readLogFilter(ctx, p, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(lf.Errors) > 0 {
		var msgs []string
		for _, k := range append([]string{""}, logKeys...) {
			if m := lf.Errors[k]; m != "" {
				msgs = append(msgs, m)
			}
		}
		s.fail(w, r, aftercare.Errorf(aftercare.EINVALID, "fix the log's filter first: %s", strings.Join(msgs, "; ")))
		return
	}
	name := fmt.Sprintf("aftercare-log-%s-%s.csv", p.Clinic.Slug, s.Now().In(clinicZone(p.Clinic)).Format("2006-01-02"))
	s.audit(r, aftercare.AuditExport, "delivery log", name)
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if rows, err := WriteLogCSV(ctx, w, s.Store, lf.Filter); err != nil && !errors.Is(err, ErrCSVWrite) {
		// The status line has gone: break the download rather than hand
		// over a file that looks complete. (ErrCSVWrite: the client left.)
		s.logger().Error("exporting the log", "clinic", p.Clinic.ID, "rows", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// MessagePage is the data of the "mgr_message" template.
type MessagePage struct {
	Row        LogRow
	Patient    *aftercare.Patient // nil when not found
	Enrollment *aftercare.Enrollment
	Attempts   []AttemptRow
	Expires    string
	Next       string // when the dispatcher may try again
	Claimed    string
	Zone       string
}

// NavSection marks the log in the menu.
func (MessagePage) NavSection() string { return "log" }

// AttemptRow is one provider call as the message page shows it.
type AttemptRow struct {
	*aftercare.Attempt
	When    string
	Latency string
}

func (s *Server) messagePage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	id, err := pathID(r, "message")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	notFound := aftercare.Errorf(aftercare.ENOTFOUND, "there is no message #%d here: open messages from the delivery log or the attention list", id)
	at, err := time.Parse(messageAtLayout, r.URL.Query().Get("at"))
	if err != nil {
		s.fail(w, r, notFound)
		return
	}
	// The row at exactly (at, id): the first after (at, id-1) within that
	// millisecond.
	msgs, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: p.Clinic.ID,
		Since: at, Until: at.Add(time.Millisecond), AfterSendAt: at, AfterID: id - 1, Limit: 1})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(msgs) == 0 || msgs[0].ID != id {
		s.fail(w, r, notFound)
		return
	}
	m := msgs[0]
	rows, err := s.logRows(ctx, p.Clinic, msgs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := clinicZone(p.Clinic)
	page := MessagePage{Row: rows[0], Zone: p.Clinic.TZ, Expires: mgrTime(m.ExpiresAt, loc, whenLayout),
		Claimed: mgrTime(m.ClaimedAt, loc, whenLayout)}
	if m.Status == aftercare.StatusPending {
		page.Next = mgrTime(m.NextAttemptAt, loc, whenLayout)
	}
	if pt, err := s.Store.FindPatient(ctx, p.Clinic.ID, m.PatientID); err == nil {
		page.Patient = pt
	} else if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	if e, err := s.Store.FindEnrollment(ctx, p.Clinic.ID, m.EnrollmentID); err == nil {
		page.Enrollment = e
	} else if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	attempts, err := s.Store.ListAttempts(ctx, p.Clinic.ID, m.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, a := range attempts {
		lat := ""
		if a.Latency > 0 {
			lat = a.Latency.Round(time.Millisecond).String()
		}
		page.Attempts = append(page.Attempts, AttemptRow{Attempt: a, When: mgrTime(a.At, loc, "2 Jan 2006 15:04:05"), Latency: lat})
	}
	s.render(w, r, http.StatusOK, "mgr_message", fmt.Sprintf("Message #%d", m.ID), page)
}

// attentionStates are the outcomes someone should look at: the patient may
// not have the instruction.
var attentionStates = []aftercare.Status{aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown, aftercare.StatusExpired}

// periodChoices are the look-back periods the chart and the attention list
// offer, in days.
var periodChoices = []int{7, 30, 90}

// readPeriod reads ?days=, one of periodChoices (30 otherwise).
func readPeriod(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("days"))
	if slices.Contains(periodChoices, n) {
		return n
	}
	return 30
}

// AttentionPage is the data of the "attention" template.
type AttentionPage struct {
	Days    int
	Periods []int
	States  []aftercare.Status
	Rows    []LogRow
	Later   bool
	First   string
	Next    string
	Log     string // the same list in the delivery log, with its export
}

// NavSection marks the attention list in the menu.
func (AttentionPage) NavSection() string { return "attention" }

func (s *Server) attentionPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	days := readPeriod(r)
	loc := clinicZone(p.Clinic)
	now := s.Now()
	f := aftercare.MessageFilter{ClinicID: p.Clinic.ID, Statuses: attentionStates,
		Since: now.Add(-time.Duration(days) * 24 * time.Hour).UTC(), Limit: logPageSize + 1}
	page := AttentionPage{Days: days, Periods: periodChoices, States: attentionStates,
		First: fmt.Sprintf("/attention?days=%d", days)}
	lv := LogForm{Since: now.In(loc).AddDate(0, 0, -days).Format(time.DateOnly), States: map[aftercare.Status]bool{}}
	for _, st := range attentionStates {
		lv.States[st] = true
	}
	page.Log = "/log?" + lv.Values().Encode()
	if a := r.URL.Query().Get("after"); a != "" {
		at, id, err := decodeCursor(a)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		f.AfterSendAt, f.AfterID, page.Later = at, id, true
	}
	msgs, err := s.Store.ListMessages(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(msgs) > logPageSize {
		msgs = msgs[:logPageSize]
		last := msgs[len(msgs)-1]
		page.Next = fmt.Sprintf("/attention?days=%d&after=%s", days, encodeCursor(last.SendAt, last.ID))
	}
	if page.Rows, err = s.logRows(ctx, p.Clinic, msgs); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "attention", "Needs attention", page)
}
