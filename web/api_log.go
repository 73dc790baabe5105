package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/aftercare/aftercare"
)

// The practice manager's routes: the delivery log (JSON pages or all of it
// as CSV), one message with its attempts, daily counts, and the messages
// that need someone's attention.

// Page sizes of the delivery log.
const (
	apiLogLimit    = 100  // rows of a JSON page unless limit says otherwise
	apiLogMaxLimit = 1000 // the most a client may ask for
)

// MessageListJSON is a page of the delivery log, ordered by send time;
// Next is the cursor of the next page, null on the last.
type MessageListJSON struct {
	Messages []MessageJSON `json:"messages"`
	Next     *string       `json:"next"`
}

// apiMessageFilter reads the delivery log's filter: since and until (the
// clinic's local days, both included, or RFC 3339 instants; an until
// instant is excluded), status (repeated or
// comma-separated), channel, protocol, patient and enrollment. A protocol,
// patient or enrollment the clinic does not have is EINVALID.
func (s *Server) apiMessageFilter(ctx context.Context, p *Principal, q apiQuery) (aftercare.MessageFilter, error) {
	f := aftercare.MessageFilter{ClinicID: p.Clinic.ID}
	var err error
	if f.Since, f.Until, err = apiRange(q, apiLocation(p.Clinic)); err != nil {
		return f, err
	}
	for _, v := range q.v["status"] {
		for _, one := range strings.Split(v, ",") {
			st, err := aftercare.ParseStatus(strings.TrimSpace(one))
			if err != nil {
				return f, err
			}
			if !slices.Contains(f.Statuses, st) {
				f.Statuses = append(f.Statuses, st)
			}
		}
	}
	ch, err := q.one("channel")
	if err == nil && ch != "" {
		f.Channel, err = aftercare.ParseChannel(ch)
	}
	if err != nil {
		return f, err
	}
	if f.ProtocolSlug, err = q.one("protocol"); err != nil {
		return f, err
	}
	if f.ProtocolSlug != "" {
		if err := aftercare.ValidateSlug("protocol", f.ProtocolSlug); err != nil {
			return f, err
		}
		if _, err := s.Store.FindProtocol(ctx, p.Clinic.ID, f.ProtocolSlug, 0); err != nil {
			return f, notFoundOn("protocol", err, "this clinic has no protocol %q", f.ProtocolSlug)
		}
	}
	if f.PatientID, err = q.id("patient"); err != nil {
		return f, err
	}
	if f.PatientID != 0 {
		if _, err := s.Store.FindPatient(ctx, p.Clinic.ID, f.PatientID); err != nil {
			return f, notFoundOn("patient", err, "this clinic has no patient %d", f.PatientID)
		}
	}
	if f.EnrollmentID, err = q.id("enrollment"); err != nil {
		return f, err
	}
	if f.EnrollmentID != 0 {
		if _, err := s.Store.FindEnrollment(ctx, p.Clinic.ID, f.EnrollmentID); err != nil {
			return f, notFoundOn("enrollment", err, "this clinic has no enrollment %d", f.EnrollmentID)
		}
	}
	return f, nil
}

// notFoundOn is err, a failed lookup of what a filter names, as the
// filter's error: ENOTFOUND becomes EINVALID on field, saying so; any
// other error stays as it is.
func notFoundOn(field string, err error, format string, args ...any) error {
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return aftercare.FieldErrorf(field, format, args...)
	}
	return err
}

// apiMessages answers the delivery log: a page of JSON, or with Accept:
// text/csv every row the filter selects.
func (s *Server) apiMessages(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	q, err := apiReadQuery(r, "since", "until", "status", "channel", "protocol", "patient", "enrollment", "limit", "cursor")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := s.apiMessageFilter(ctx, p, q)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if apiWantsCSV(r) {
		for _, k := range []string{"limit", "cursor"} {
			if q.v.Has(k) {
				s.fail(w, r, aftercare.FieldErrorf(k, "%s pages the JSON list; the CSV export has every row the filter selects", k))
				return
			}
		}
		s.apiMessagesCSV(w, r, f)
		return
	}
	limit, err := q.limit(apiLogLimit, apiLogMaxLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if f.AfterSendAt, f.AfterID, err = apiReadMessageCursor(q); err != nil {
		s.fail(w, r, err)
		return
	}
	f.Limit = limit + 1 // one more says whether there is a next page
	msgs, err := s.Store.ListMessages(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgs, next := apiMessagePage(msgs, limit)
	writeJSON(w, http.StatusOK, MessageListJSON{apiViews(msgs, NewMessageJSON), next})
}

// apiMessagesCSV streams every message f selects (WriteLogCSV).
func (s *Server) apiMessagesCSV(w http.ResponseWriter, r *http.Request, f aftercare.MessageFilter) {
	p := principal(r)
	name := fmt.Sprintf("aftercare-messages-%s-%s.csv", p.Clinic.Slug, s.Now().In(apiLocation(p.Clinic)).Format("2006-01-02"))
	s.audit(r, aftercare.AuditExport, "delivery log", name)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if rows, err := WriteLogCSV(r.Context(), w, s.Store, f); err != nil && !errors.Is(err, ErrCSVWrite) {
		// The status line has gone: break the download rather than hand
		// over a file that looks complete.
		s.logger().Error("exporting the delivery log", "clinic", p.Clinic.ID, "rows", rows, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// apiMessage answers one message of an enrollment with its text and its
// attempts. Messages are found through their enrollment (every log row
// names it), which the store reads by its own index.
func (s *Server) apiMessage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	eid, err := apiPathID(r, "id", "enrollment")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mid, err := apiReadID(r, "message_id", "message")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgs, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: p.Clinic.ID, EnrollmentID: eid})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	i := slices.IndexFunc(msgs, func(m *aftercare.Message) bool { return m.ID == mid })
	if i < 0 {
		s.fail(w, r, aftercare.Errorf(aftercare.ENOTFOUND, "enrollment %d has no message %d in this clinic", eid, mid))
		return
	}
	m := msgs[i]
	loc := apiLocation(p.Clinic)
	if pt, err := s.Store.FindPatient(ctx, p.Clinic.ID, m.PatientID); err == nil {
		if l, err := aftercare.LoadZone(pt.TZ); err == nil {
			loc = l
		}
	} else if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		s.fail(w, r, err)
		return
	}
	attempts, err := s.Store.ListAttempts(ctx, p.Clinic.ID, m.ID)
	apiAnswer(s, w, r, attempts, err, func(attempts []*aftercare.Attempt) MessageDetailJSON {
		return MessageDetailJSON{Message: NewMessageTextJSON(m, loc), Attempts: apiViews(attempts, NewAttemptJSON)}
	})
}

// StatsJSON is the count of messages per send day (in the clinic's zone)
// and state.
type StatsJSON struct {
	Days []DayStatJSON `json:"days"`
}

func (s *Server) apiStats(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	q, err := apiReadQuery(r, "since", "until")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	loc := apiLocation(p.Clinic)
	since, until, err := apiRange(q, loc)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows, err := s.Store.DailyStats(r.Context(), p.Clinic.ID, since, until, loc)
	apiAnswer(s, w, r, rows, err, func(rows []aftercare.DayStat) StatsJSON {
		return StatsJSON{apiViews(rows, newDayStatJSON)}
	})
}

// apiMessagePage cuts msgs, read with one more than limit, to a page, and
// says the cursor of the next page: nil when this is the last.
func apiMessagePage(msgs []*aftercare.Message, limit int) ([]*aftercare.Message, *string) {
	if len(msgs) <= limit {
		return msgs, nil
	}
	msgs = msgs[:limit]
	last := msgs[len(msgs)-1]
	return msgs, ptr(apiMessageCursor(last.SendAt, last.ID))
}

func newDayStatJSON(d aftercare.DayStat) DayStatJSON {
	return DayStatJSON{d.Day, string(d.Status), d.Count}
}

// apiAttentionStates are the outcomes someone should look at: the patient
// may not have had the instruction.
var apiAttentionStates = []aftercare.Status{aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown, aftercare.StatusExpired}

// AttentionListJSON is a page of messages that need attention, ordered by
// send time; Next is the cursor of the next page, null on the last.
type AttentionListJSON struct {
	Items []AttentionJSON `json:"items"`
	Next  *string         `json:"next"`
}

// apiAttention lists the messages whose outcome needs a person (failed,
// undelivered, unknown, expired), each with the patient to call.
func (s *Server) apiAttention(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	ctx := r.Context()
	q, err := apiReadQuery(r, "since", "until", "limit", "cursor")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := aftercare.MessageFilter{ClinicID: p.Clinic.ID, Statuses: apiAttentionStates}
	if f.Since, f.Until, err = apiRange(q, apiLocation(p.Clinic)); err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := q.limit(apiLogLimit, apiLogMaxLimit)
	if err == nil {
		f.AfterSendAt, f.AfterID, err = apiReadMessageCursor(q)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f.Limit = limit + 1
	msgs, err := s.Store.ListMessages(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgs, next := apiMessagePage(msgs, limit)
	out := AttentionListJSON{Items: []AttentionJSON{}, Next: next}
	patients := map[int64]PatientJSON{}
	for _, m := range msgs {
		pj, ok := patients[m.PatientID]
		if !ok {
			pt, err := s.Store.FindPatient(ctx, p.Clinic.ID, m.PatientID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			pj = NewPatientJSON(pt)
			patients[m.PatientID] = pj
		}
		out.Items = append(out.Items, AttentionJSON{NewMessageJSON(m), pj})
	}
	writeJSON(w, http.StatusOK, out)
}
