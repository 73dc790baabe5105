package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "Content-Type must be application/x-www-form-urlencoded, got "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "unreadable form: "+err.Error())
		return
	}
	form := r.PostForm
	if code, msg := validateCreate(form); code != 0 {
		s.reject(w, r, http.StatusBadRequest, code, msg)
		return
	}

	reply := s.script(form.Get("To"))
	if reply.AcceptThenHang {
		s.accept(form)
		if s.arrived(w, r, reply.Arrived) {
			s.hang(w, r, reply.Release)
		}
		return
	}
	if !s.arrived(w, r, reply.Arrived) {
		return
	}
	if reply.Hang {
		s.hang(w, r, reply.Release)
		return
	}
	if !s.wait(w, r, reply.Latency, reply.Release) {
		return
	}
	if !reply.accepts() {
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		if reply.HTML {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(reply.Status)
			fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n",
				reply.Status, http.StatusText(reply.Status), reply.Status, http.StatusText(reply.Status))
			return
		}
		s.twilioError(w, reply.Status, reply.Code, reply.Message)
		return
	}

	m := s.accept(form)
	body, _ := json.Marshal(s.resource(m))
	switch {
	case reply.AcceptThenDrop:
		drop(w)
	case reply.ResetMidBody:
		conn := hijack(w)
		if conn == nil {
			return
		}
		fmt.Fprintf(conn, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		conn.Write(body[:len(body)/2])
		reset(conn)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	}
}

func (s *Server) accept(form url.Values) Message {
	now := s.now().UTC().Truncate(time.Second)
	m := &Message{
		AccountSID:          s.AccountSID,
		To:                  form.Get("To"),
		From:                form.Get("From"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
		Body:                form.Get("Body"),
		StatusCallback:      form.Get("StatusCallback"),
		Status:              "queued",
		Direction:           "outbound-api",
		DateCreated:         now,
		DateSent:            now,
		Params:              form,
	}
	if m.From == "" {
		m.Status = "accepted" // Twilio picks a sender from the service's pool later
	}
	m.ValidityPeriod, _ = strconv.Atoi(form.Get("ValidityPeriod"))
	s.mu.Lock()
	defer s.mu.Unlock()
	m.SID = s.newSIDLocked()
	s.count++
	if !s.noRecord {
		s.msgs = append(s.msgs, m)
		s.bySID[m.SID] = m
	}
	return m.copy()
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken":
		default:
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "Unknown parameter: "+k)
			return
		}
	}
	pageSize := DefaultPageSize
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, fmt.Sprintf("PageSize must be from 1 to %d, got %q", MaxPageSize, v))
			return
		}
		pageSize = n
	}
	page := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "Page must be a non-negative integer, got "+v)
			return
		}
		page = n
	}
	offset := page * pageSize
	if v := q.Get("PageToken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "PT"))
		if err != nil || !strings.HasPrefix(v, "PT") || n < 0 {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "invalid PageToken "+v)
			return
		}
		offset = n
	}
	var on, before, after time.Time
	for key, dst := range map[string]*time.Time{"DateSent": &on, "DateSent<": &before, "DateSent>": &after} {
		if v := q.Get(key); v != "" {
			d, ok := parseDate(v)
			if !ok {
				s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, fmt.Sprintf("%s: %q is not a date", key, v))
				return
			}
			*dst = d
		}
	}
	if to := q.Get("To"); to != "" && !e164RE.MatchString(to) {
		s.violation(r, CodeInvalidTo, "To filter "+to+" is not E.164")
	}

	s.mu.Lock()
	var match []Message
	for _, m := range s.msgs {
		if v := q.Get("To"); v != "" && m.To != v {
			continue
		}
		if v := q.Get("From"); v != "" && m.From != v {
			continue
		}
		// Twilio filters on the date only, not the time of day.
		if !on.IsZero() || !before.IsZero() || !after.IsZero() {
			if m.DateSent.IsZero() {
				continue
			}
			d := day(m.DateSent)
			if (!on.IsZero() && !d.Equal(on)) || (!before.IsZero() && d.After(before)) || (!after.IsZero() && d.Before(after)) {
				continue
			}
		}
		match = append(match, m.copy())
	}
	s.mu.Unlock()
	sortNewestFirst(match) // as Twilio lists

	end := min(offset+pageSize, len(match))
	start := min(offset, end)
	pageMsgs := make([]any, 0, end-start)
	for _, m := range match[start:end] {
		pageMsgs = append(pageMsgs, s.resource(m))
	}
	base := *r.URL
	filters := url.Values{}
	for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	pageURI := func(p, off int) string {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		if off > 0 {
			v.Set("PageToken", "PT"+strconv.Itoa(off))
		}
		return base.Path + "?" + v.Encode()
	}
	var next, prev any
	if end < len(match) {
		next = pageURI(offset/pageSize+1, end)
	}
	if start > 0 {
		prev = pageURI(max(offset/pageSize-1, 0), max(start-pageSize, 0))
	}
	resp := map[string]any{
		"messages":          pageMsgs,
		"end":               max(end-1, 0),
		"first_page_uri":    pageURI(0, 0),
		"next_page_uri":     next,
		"previous_page_uri": prev,
		"page":              offset / pageSize,
		"page_size":         pageSize,
		"start":             start,
		"uri":               base.Path + "?" + r.URL.RawQuery,
	}
	writeJSON(w, http.StatusOK, resp)
}

// sortNewestFirst orders by DateCreated descending; on equal times the
// message stored later (higher SID sequence) comes first.
func sortNewestFirst(ms []Message) {
	slices.SortStableFunc(ms, func(a, b Message) int {
		if c := b.DateCreated.Compare(a.DateCreated); c != 0 {
			return c
		}
		return strings.Compare(b.SID, a.SID)
	})
}

func (s *Server) fetch(w http.ResponseWriter, r *http.Request, sid string) {
	if !messageSIDRE.MatchString(sid) {
		s.violation(r, CodeNotFound, "Sid "+sid+" does not match ^(SM|MM)[0-9a-fA-F]{32}$")
	}
	m, ok := s.Message(sid)
	if !ok {
		s.twilioError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, s.resource(m))
}

// resource renders a message in the contract's api.v2010.account.message
// shape.
func (s *Server) resource(m Message) map[string]any {
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s.json", m.AccountSID, m.SID)
	out := map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          m.DateCreated.UTC().Format(TimeFormat),
		"date_updated":          m.DateCreated.UTC().Format(TimeFormat),
		"date_sent":             nil,
		"direction":             m.Direction,
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(m.From),
		"messaging_service_sid": nullable(m.MessagingServiceSID),
		"num_media":             "0",
		"num_segments":          strconv.Itoa(segments(m.Body)),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris":      map[string]string{"media": strings.TrimSuffix(uri, ".json") + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri,
	}
	if !m.DateSent.IsZero() {
		out["date_sent"] = m.DateSent.UTC().Format(TimeFormat)
	}
	if m.ErrorCode != 0 {
		out["error_code"] = m.ErrorCode
		out["error_message"] = fmt.Sprintf("Error %d", m.ErrorCode)
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// segments approximates Twilio's count: 160/153 characters for plain ASCII,
// 70/67 UTF-16 units otherwise.
func segments(body string) int {
	ascii := true
	for i := 0; i < len(body); i++ {
		if body[i] >= 0x80 {
			ascii = false
			break
		}
	}
	single, multi, n := 160, 153, len(body)
	if !ascii {
		single, multi, n = 70, 67, len(utf16.Encode([]rune(body)))
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDate reads a DateSent filter value in the formats Twilio documents
// and returns its date (GMT); the time of day is ignored, as Twilio does.
func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", time.RFC3339, "2006-01-02 15:04:05.000", "2006-01-02 15:04:05", TimeFormat, "Mon, 02 Jan 2006 15:04:05 -0000", "01/02/2006 15:04:05 MST"} {
		if t, err := time.Parse(layout, v); err == nil {
			return day(t), true
		}
	}
	return time.Time{}, false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
