package smtp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/store/sqlite"
)

// TestDispatchEmailsUnsubscribeAndCalendar runs the real pieces together: a
// patient enrolled on a SQLite file, the dispatcher with signed links, this
// sender, and the SMTP server on loopback. Every email that arrives has
// the unsubscribe headers with a token for that patient, good for a year;
// the first has the whole timeline as aftercare.ics, the later ones not.
func TestDispatchEmailsUnsubscribeAndCalendar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 3, 7, 22, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aftercare.db"), sqlite.WithNow(clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := scheduler.NewService(db, clock)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Name: "Glow Skin Studio", Phone: "+1 415 555 0199", TZ: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	clinic, err := db.FindClinic(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := svc.Enroll(ctx, clinic, scheduler.EnrollRequest{Name: "Alex Kim", Phone: "+1 415 555 0100", Email: "alex@example.com",
		TZ: "America/New_York", Lang: "en", Protocol: "microneedling", TreatedAt: now.Format(time.RFC3339),
		SMSConsent: true, EmailConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	planned, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID, EnrollmentID: r.Enrollment.ID})
	if err != nil {
		t.Fatal(err)
	}
	// The events the calendar must have: one per step occurrence not
	// skipped, at its planned time.
	wantStarts := map[string]string{}
	var emailTimes []time.Time
	for _, m := range planned {
		if m.Status == aftercare.StatusSkipped || m.Status == aftercare.StatusCancelled {
			continue
		}
		k := fmt.Sprintf("%s-%d", m.StepKey, m.Occurrence)
		if s, ok := wantStarts[k]; !ok || m.SendAt.UTC().Format("20060102T150405Z") < s {
			wantStarts[k] = m.SendAt.UTC().Format("20060102T150405Z")
		}
		if m.Channel == aftercare.Email {
			emailTimes = append(emailTimes, m.SendAt)
		}
	}
	if len(emailTimes) < 3 {
		t.Fatalf("the protocol plans %d emails; the test needs several", len(emailTimes))
	}

	srv := newMailServer(t)
	sender := newSender(t, srv)
	sender.Now = clock
	box, err := outbox.New(filepath.Join(t.TempDir(), "outbox.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := aftercare.NewSigner(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: db, Now: clock, Owner: "test/1", Concurrency: 1,
		Routes: map[aftercare.Channel]dispatch.Route{aftercare.SMS: {Name: "outbox", Sender: box}, aftercare.Email: {Name: "smtp", Sender: sender}},
		Sleep:  func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
		Links:  dispatch.SignedLinks{Signer: signer, BaseURL: "https://care.example.com"}, Messages: db}
	slices.SortFunc(emailTimes, time.Time.Compare)
	var sentAt []time.Time
	for _, at := range emailTimes {
		if at.After(now) {
			now = at
		}
		before := len(srv.messages())
		if _, err := d.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for range len(srv.messages()) - before {
			sentAt = append(sentAt, now)
		}
	}
	got := srv.messages()
	if len(got) != len(emailTimes) {
		t.Fatalf("the server received %d emails, want %d", len(got), len(emailTimes))
	}
	for i, rcv := range got {
		msg, err := mail.ReadMessage(strings.NewReader(rcv.Data))
		if err != nil {
			t.Fatal(err)
		}
		uris := unsubscribeURIs(t, msg.Header.Get("List-Unsubscribe"))
		checkUnsubscribe(t, msg.Header, uris[0], from, true)
		u, err := url.Parse(uris[0])
		if err != nil || u.Host != "care.example.com" || !strings.HasPrefix(u.Path, "/u/") {
			t.Fatalf("email %d: unsubscribe link %q", i, uris[0])
		}
		tok := strings.TrimPrefix(u.Path, "/u/")
		c, p, err := signer.Verify(aftercare.PurposeUnsubscribe, tok, sentAt[i].Add(dispatch.UnsubscribeLifetime-time.Minute))
		if err != nil || c != clinic.ID || p != r.Patient.ID {
			t.Errorf("email %d: the token names clinic %d patient %d (%v) a year less a minute later; want %d, %d", i, c, p, err, clinic.ID, r.Patient.ID)
		}
		if _, _, err := signer.Verify(aftercare.PurposeUnsubscribe, tok, sentAt[i].Add(dispatch.UnsubscribeLifetime)); err == nil {
			t.Errorf("email %d: the token still works a year after sending", i)
		}
		ct := msg.Header.Get("Content-Type")
		if i > 0 {
			if !strings.HasPrefix(ct, "multipart/alternative") {
				t.Errorf("email %d is %s; only the first has the calendar", i, ct)
			}
			continue
		}
		alt, atts := mixedParts(t, rcv.Data)
		if strings.Join(alt, ",") != "text/plain,text/html" || len(atts) != 1 || atts[0].Filename != "aftercare.ics" {
			t.Fatalf("the first email has parts %v and attachments %+v; want the text, the HTML and aftercare.ics", alt, atts)
		}
		events := icsEvents(t, atts[0].Data)
		if len(events) != len(wantStarts) {
			t.Errorf("the calendar has %d events, want %d (one per planned step occurrence)", len(events), len(wantStarts))
		}
		for _, e := range events {
			if !strings.HasSuffix(e["DTSTART"], "Z") || e["SUMMARY"] == "" || e["DTSTAMP"] == "" {
				t.Errorf("event %v: want DTSTART in UTC, a SUMMARY and a DTSTAMP", e)
			}
			k := strings.TrimSuffix(strings.TrimPrefix(e["UID"], fmt.Sprintf("aftercare-%d-%d-", clinic.ID, r.Enrollment.ID)), "@care.example.com")
			if wantStarts[k] != e["DTSTART"] {
				t.Errorf("event %s starts %s, want %s", e["UID"], e["DTSTART"], wantStarts[k])
			}
			if strings.Contains(strings.ToLower(e["SUMMARY"]), "microneedling") {
				t.Errorf("event %s names the treatment, which the clinic does not allow: %q", e["UID"], e["SUMMARY"])
			}
		}
	}
}

// icsEvents is a minimal reader of a calendar's events: CRLF lines, at
// most 75 octets, unfolded; property parameters are not expected.
func icsEvents(t *testing.T, data []byte) []map[string]string {
	t.Helper()
	s := string(data)
	if !strings.HasPrefix(s, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(s, "END:VCALENDAR\r\n") {
		t.Fatalf("not a VCALENDAR with CRLF lines:\n%q", s)
	}
	for _, l := range strings.Split(s, "\r\n") {
		if len(l) > 75 || strings.Contains(l, "\n") {
			t.Errorf("bad line (over 75 octets or a bare LF): %q", l)
		}
	}
	s = strings.ReplaceAll(s, "\r\n ", "")
	var events []map[string]string
	var cur map[string]string
	for _, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		name, value, _ := strings.Cut(l, ":")
		switch {
		case l == "BEGIN:VEVENT":
			cur = map[string]string{}
		case l == "END:VEVENT":
			events = append(events, cur)
			cur = nil
		case cur != nil:
			cur[name] = value
		}
	}
	return events
}
