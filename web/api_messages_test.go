package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

// bigWorld adds 200 patients to the world's clinic by a CSV import (over
// a thousand messages in the log, which lists the pending ones due within
// a day, so the CSV export reads more than one batch) and dispatches what
// is due.
func bigWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	var b strings.Builder
	b.WriteString("name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n")
	for i := range 200 {
		fmt.Fprintf(&b, "Patient %d,+1 415 %03d 0100,p%d@example.com,America/New_York,en,microneedling,2026-11-23T%02d:%02d,yes,%v\n",
			i, 200+i, i, 9+i/20, i%20, i%2 == 0)
	}
	var rep scheduler.ImportReport
	w.do(w.FD, "POST", "/api/v1/imports", b.String(), "Content-Type", "text/csv").decode(t, http.StatusOK, &rep)
	if rep.Enrolled != 200 {
		t.Fatalf("import: %+v", rep)
	}
	w.dispatch(t)
	return w
}

func TestAPIMessagesPagination(t *testing.T) {
	t.Parallel()
	w := bigWorld(t)
	all := w.messages(t, aftercare.MessageFilter{ClinicID: w.Main.ID})
	if len(all) < 1000 {
		t.Fatalf("only %d messages", len(all))
	}
	late := map[int64]bool{} // messages added while paging
	for _, limit := range []int{7, 250} {
		seen := map[int64]bool{}
		var got []int64
		path := "/api/v1/messages?limit=" + strconv.Itoa(limit)
		for n := 0; ; n++ {
			var page web.MessageListJSON
			w.do(w.Mgr, "GET", path, nil).decode(t, http.StatusOK, &page)
			if len(page.Messages) > limit || (page.Next != nil && len(page.Messages) != limit) {
				t.Fatalf("page %d has %d rows for limit %d", n, len(page.Messages), limit)
			}
			for _, m := range page.Messages {
				if seen[m.MessageID] {
					t.Fatalf("limit %d: message %d comes twice", limit, m.MessageID)
				}
				seen[m.MessageID] = true
				got = append(got, m.MessageID)
			}
			if n == 1 && limit == 7 {
				// A new enrollment between pages does not make a row come twice.
				req := anaRequest()
				req["name"], req["treated_at"] = "Late Comer", "2026-11-23T08:50"
				var e web.EnrollAnswerJSON
				w.do(w.FD, "POST", "/api/v1/enrollments", req).decode(t, http.StatusCreated, &e)
				for _, m := range e.Messages {
					late[m.MessageID] = true
				}
			}
			if page.Next == nil {
				break
			}
			path = "/api/v1/messages?limit=" + strconv.Itoa(limit) + "&cursor=" + url.QueryEscape(*page.Next)
		}
		now := w.messages(t, aftercare.MessageFilter{ClinicID: w.Main.ID})
		for i, m := range now {
			if !seen[m.ID] && !(limit == 7 && late[m.ID]) {
				t.Errorf("limit %d: message %d (#%d of the log) never came", limit, m.ID, i)
			}
		}
		if len(late) == 0 {
			t.Fatal("no message was added while paging")
		}
		if limit == 250 && !slices.Equal(got, ids(now)) {
			t.Errorf("limit %d: the pages are not the log in order", limit)
		}
	}
	// The default page is 100 rows.
	var page web.MessageListJSON
	w.do(w.Mgr, "GET", "/api/v1/messages", nil).decode(t, http.StatusOK, &page)
	if len(page.Messages) != 100 || page.Next == nil {
		t.Errorf("default page: %d rows", len(page.Messages))
	}
}

func ids(ms []*aftercare.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// TestAPIMessagesFilters checks each filter of the log against the store,
// and the CSV export against the same filter: exactly the filtered rows,
// in order, with the columns of `aftercare log --csv`.
func TestAPIMessagesFilters(t *testing.T) {
	t.Parallel()
	w := bigWorld(t)
	la, _ := time.LoadLocation("America/Los_Angeles")
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, la).UTC() }
	pt := w.Ana.PatientID
	tests := []struct {
		name  string
		query string
		f     aftercare.MessageFilter
	}{
		{"All", "", aftercare.MessageFilter{}},
		{"Status", "status=sent", aftercare.MessageFilter{Statuses: []aftercare.Status{aftercare.StatusSent}}},
		{"StatusList", "status=failed,sent&status=skipped", aftercare.MessageFilter{Statuses: []aftercare.Status{aftercare.StatusFailed, aftercare.StatusSent, aftercare.StatusSkipped}}},
		{"Channel", "channel=email", aftercare.MessageFilter{Channel: aftercare.Email}},
		{"Protocol", "protocol=microneedling", aftercare.MessageFilter{ProtocolSlug: "microneedling"}},
		{"ProtocolNone", "protocol=microneedling-prep", aftercare.MessageFilter{ProtocolSlug: "microneedling-prep"}},
		{"Patient", "patient=" + strconv.FormatInt(pt, 10), aftercare.MessageFilter{PatientID: pt}},
		{"Enrollment", "enrollment=" + strconv.FormatInt(w.Ana.ID, 10), aftercare.MessageFilter{EnrollmentID: w.Ana.ID}},
		{"SinceUntilDays", "since=2026-11-24&until=2026-11-26", aftercare.MessageFilter{Since: day(2026, 11, 24), Until: day(2026, 11, 27)}},
		{"SameDay", "since=2026-11-25&until=2026-11-25", aftercare.MessageFilter{Since: day(2026, 11, 25), Until: day(2026, 11, 26)}},
		{"SinceRFC3339", "since=2026-12-01T00:00:00Z", aftercare.MessageFilter{Since: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}},
		{"Together", "channel=sms&status=pending&since=2026-11-25&patient=" + strconv.FormatInt(pt, 10),
			aftercare.MessageFilter{Channel: aftercare.SMS, Statuses: []aftercare.Status{aftercare.StatusPending}, Since: day(2026, 11, 25), PatientID: pt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f.ClinicID = w.Main.ID
			want := w.messages(t, tt.f)
			if tt.name == "All" && len(want) <= 1000 {
				t.Fatalf("%d messages: the export reads one batch only", len(want))
			}
			var page web.MessageListJSON
			w.do(w.Mgr, "GET", "/api/v1/messages?limit=1000&"+tt.query, nil).decode(t, http.StatusOK, &page)
			var got []int64
			for _, m := range page.Messages {
				got = append(got, m.MessageID)
			}
			if n := min(len(want), 1000); !slices.Equal(got, ids(want[:n])) {
				t.Errorf("JSON: %d rows, want %d", len(got), n)
			}
			for i, m := range page.Messages {
				if m != web.NewMessageJSON(want[i]) {
					t.Fatalf("row %d: %+v, want %+v", i, m, web.NewMessageJSON(want[i]))
				}
			}

			res := w.do(w.Mgr, "GET", "/api/v1/messages?"+tt.query, nil, "Accept", "text/csv")
			if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
				t.Fatalf("CSV: %d %s", res.Status, res.Header.Get("Content-Type"))
			}
			recs, err := csv.NewReader(strings.NewReader(res.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(recs[0], web.MessageCSVHeader) {
				t.Errorf("CSV header: %v", recs[0])
			}
			if len(recs)-1 != len(want) {
				t.Fatalf("CSV: %d rows, want %d", len(recs)-1, len(want))
			}
			for i, m := range want {
				pt, err := w.DB.FindPatient(context.Background(), w.Main.ID, m.PatientID)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(recs[i+1], web.MessageCSVRecord(m, pt)) {
					t.Fatalf("CSV row %d: %v", i, recs[i+1])
				}
			}
		})
	}
	// A provider's error code that looks like a formula is defused.
	res := w.do(w.Mgr, "GET", "/api/v1/messages?status=failed", nil, "Accept", "text/csv, application/json")
	if !strings.Contains(res.Body, ",'=550,") {
		t.Errorf("failed messages as CSV: %s", res.Body)
	}
	for accept, csv := range map[string]bool{
		"application/json, text/csv": false, "text/csv;q=0.5, application/json": false, "*/*": false, "": false,
		"text/csv;q=0": false, "application/json;q=0.2, text/csv;q=0.9": true, "text/*, text/csv": true,
	} {
		query := "?limit=1"
		if csv {
			query = ""
		}
		res := w.do(w.Mgr, "GET", "/api/v1/messages"+query, nil, "Accept", accept)
		if got := strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv"); got != csv || res.Status != 200 {
			t.Errorf("Accept %q: %d %s", accept, res.Status, res.Header.Get("Content-Type"))
		}
	}

	before := w.snapshot(t)
	for _, c := range []struct {
		name, query string
		header      []string
		field       string
	}{
		{"ErrStatus", "status=lost", nil, "status"},
		{"ErrStatusEmpty", "status=sent,", nil, "status"},
		{"ErrChannel", "channel=fax", nil, "channel"},
		{"ErrSince", "since=yesterday", nil, "since"},
		{"ErrUntil", "until=2026-13-01", nil, "until"},
		{"ErrRange", "since=2026-11-25&until=2026-11-24", nil, "until"},
		{"ErrLimitZero", "limit=0", nil, "limit"},
		{"ErrLimitHigh", "limit=1001", nil, "limit"},
		{"ErrLimitWord", "limit=all", nil, "limit"},
		{"ErrCursor", "cursor=garbage", nil, "cursor"},
		{"ErrCursorBase64", "cursor=" + url.QueryEscape("bTIwMjYsMQ"), nil, "cursor"},
		{"ErrPatient", "patient=abc", nil, "patient"},
		{"ErrPatientMissing", "patient=999999", nil, "patient"},
		{"ErrEnrollmentMissing", "enrollment=999999", nil, "enrollment"},
		{"ErrProtocolMissing", "protocol=botox", nil, "protocol"},
		{"ErrProtocolSlug", "protocol=Bad+Slug", nil, "protocol"},
		{"ErrUnknownParam", "state=sent", nil, "state"},
		{"ErrChannelTwice", "channel=sms&channel=email", nil, "channel"},
		{"ErrCSVLimit", "limit=10", []string{"Accept", "text/csv"}, "limit"},
		{"ErrCSVCursor", "cursor=x", []string{"Accept", "text/csv"}, "cursor"},
	} {
		res := w.do(w.Mgr, "GET", "/api/v1/messages?"+c.query, nil, c.header...)
		if e := res.apiErr(t); res.Status != 400 || e.Field != c.field {
			t.Errorf("%s: %d %+v", c.name, res.Status, e)
		} else if c.name == "ErrRange" && !strings.Contains(e.Message, "the same day twice for one day") {
			t.Errorf("%s: %q does not say what to fix", c.name, e.Message)
		}
	}
	w.unchanged(t, before, "reading the log")
}

func TestAPIMessageDetail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var failed, sent int64
	for _, m := range w.Ana.Messages {
		switch m.Status {
		case "failed":
			failed = m.MessageID
		case "sent":
			sent = m.MessageID
		}
	}
	if failed == 0 || sent == 0 {
		t.Fatalf("no failed or sent message: %+v", w.Ana.Messages)
	}
	var d web.MessageDetailJSON
	w.do(w.Mgr, "GET", fmt.Sprintf("/api/v1/enrollments/%d/messages/%d", w.Ana.ID, failed), nil).decode(t, http.StatusOK, &d)
	if d.Message.MessageID != failed || d.Message.Channel != "email" || d.Message.Subject == "" || len(d.Attempts) != 1 {
		t.Fatalf("detail: %+v", d)
	}
	if a := d.Attempts[0]; a.Number != 1 || a.Outcome != "failed" || a.ErrorCode != "=550" || a.Sender != "test" {
		t.Errorf("attempt: %+v", a)
	}
	w.do(w.Mgr, "GET", fmt.Sprintf("/api/v1/enrollments/%d/messages/%d", w.Ana.ID, sent), nil).decode(t, http.StatusOK, &d)
	if d.Message.ProviderID == "" || d.Attempts[0].Outcome != "sent" {
		t.Errorf("sent: %+v", d)
	}
	for _, path := range []string{
		fmt.Sprintf("/api/v1/enrollments/%d/messages/%d", w.Ana.ID+1, sent),
		fmt.Sprintf("/api/v1/enrollments/%d/messages/999999", w.Ana.ID),
		fmt.Sprintf("/api/v1/enrollments/%d/messages/x", w.Ana.ID),
	} {
		if res := w.do(w.Mgr, "GET", path, nil); res.Status != 404 {
			t.Errorf("%s: %d", path, res.Status)
		}
	}
}

func TestAPIStatsAndAttention(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var st web.StatsJSON
	w.do(w.Mgr, "GET", "/api/v1/stats?since=2026-11-23&until=2026-11-24", nil).decode(t, http.StatusOK, &st)
	counts := map[string]int{}
	for _, d := range st.Days {
		if d.Day != "2026-11-23" && d.Day != "2026-11-24" {
			t.Errorf("day %s out of range", d.Day)
		}
		counts[d.Status] += d.Count
	}
	// Ana's welcome, pause-actives and first-hours texts; her welcome email failed.
	if counts["sent"] != 3 || counts["failed"] != 1 {
		t.Errorf("stats: %+v", st)
	}
	if res := w.do(w.Mgr, "GET", "/api/v1/stats?since=bad", nil); res.Status != 400 {
		t.Errorf("bad since: %d", res.Status)
	}
	var att web.AttentionListJSON
	w.do(w.Mgr, "GET", "/api/v1/attention", nil).decode(t, http.StatusOK, &att)
	if len(att.Items) != 1 || att.Items[0].Message.Status != "failed" || att.Items[0].Patient.Name != "Ana Ruiz" || att.Next != nil {
		t.Errorf("attention: %+v", att)
	}
	w.do(w.Mgr, "GET", "/api/v1/attention?since=2026-11-24", nil).decode(t, http.StatusOK, &att)
	if len(att.Items) != 0 {
		t.Errorf("attention since tomorrow: %+v", att)
	}
}

func TestAPIEnrollmentList(t *testing.T) {
	t.Parallel()
	w := bigWorld(t)
	seen := map[int64]bool{}
	path := "/api/v1/enrollments?limit=15"
	pages := 0
	for {
		var page web.EnrollmentListJSON
		w.do(w.FD, "GET", path, nil).decode(t, http.StatusOK, &page)
		pages++
		for i, e := range page.Enrollments {
			if seen[e.ID] {
				t.Fatalf("enrollment %d comes twice", e.ID)
			}
			seen[e.ID] = true
			if i > 0 && e.ID > page.Enrollments[i-1].ID {
				t.Errorf("not newest first")
			}
			if e.PatientName == "" || e.Protocol != "microneedling" {
				t.Errorf("row: %+v", e)
			}
		}
		if page.Next == nil {
			break
		}
		path = "/api/v1/enrollments?limit=15&cursor=" + url.QueryEscape(*page.Next)
	}
	if len(seen) != 201 || pages != 14 {
		t.Errorf("%d enrollments in %d pages, want 201 in 14", len(seen), pages)
	}
	var page web.EnrollmentListJSON
	w.do(w.FD, "GET", fmt.Sprintf("/api/v1/enrollments?patient=%d", w.Ana.PatientID), nil).decode(t, http.StatusOK, &page)
	if len(page.Enrollments) != 1 || page.Enrollments[0].ID != w.Ana.ID || page.Enrollments[0].Done != 3 || page.Enrollments[0].Problems != 1 {
		t.Errorf("Ana's: %+v", page)
	}
	w.do(w.FD, "GET", "/api/v1/enrollments?since=2026-11-24", nil).decode(t, http.StatusOK, &page)
	if len(page.Enrollments) != 0 {
		t.Errorf("since tomorrow: %+v", page)
	}
	for _, q := range []string{"patient=999999", "cursor=abc", "limit=501", "since=x", "before=3"} {
		if res := w.do(w.FD, "GET", "/api/v1/enrollments?"+q, nil); res.Status != 400 {
			t.Errorf("%s: %d %s", q, res.Status, res.Body)
		}
	}
}
