package scheduler_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/smtp"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/store/sqlite"
)

const manager = "manager@glow.example"

// summaryFixture is a clinic in Los Angeles whose manager gets the summary
// at 07:30, a real SMTP server on loopback and the job on the fixture's
// clock.
type summaryFixture struct {
	*schedtest.SendFixture
	mail *smtpServer
	sum  *scheduler.Summaries
}

// newSummaryFixture sets the summary up at the fixture's start (Sunday 22
// November 2026, 10:00 in Los Angeles) or at setUp if given.
func newSummaryFixture(t *testing.T, at string, setUp ...time.Time) *summaryFixture {
	t.Helper()
	f := &summaryFixture{SendFixture: schedtest.NewSend(t), mail: newSMTPServer(t)}
	f.sum = f.summaries(t, f.DB)
	if len(setUp) > 0 {
		f.Now = setUp[0]
	}
	if _, err := f.Svc.UpdateClinic(context.Background(), "", scheduler.ClinicChanges{SummaryAt: &at, SummaryTo: ptr(" Manager@Glow.example ")}); err != nil {
		t.Fatal(err)
	}
	return f
}

// summaries is a summary job on store (a serve of its own), mailing
// through the fixture's SMTP server.
func (f *summaryFixture) summaries(t *testing.T, store aftercare.Store) *scheduler.Summaries {
	t.Helper()
	sender, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: f.mail.port, From: "aftercare@glow.example", TLS: "none", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &scheduler.Summaries{Store: store, Mail: sender, PublicURL: "https://care.glowskin.example", Now: f.Clock}
}

// at sets the clock to a wall time in Los Angeles.
func (f *summaryFixture) at(s string) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	t, err := time.ParseInLocation("2006-01-02 15:04", s, la)
	if err != nil {
		panic(err)
	}
	f.Now = t.UTC()
}

// run runs the job once and returns how many summaries it claimed.
func (f *summaryFixture) run(t *testing.T, s *scheduler.Summaries) int {
	t.Helper()
	n, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *summaryFixture) ledger(t *testing.T) []*aftercare.SummaryRecord {
	t.Helper()
	rs, err := f.DB.ListSummaries(context.Background(), f.Clinic.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestSummaryCrossesLocalTime: the summary of Sunday (Los Angeles) goes
// at 07:30 Monday there, not at UTC midnight nor a minute early, once
// (Saturday's was due before the summary was set up: none),
// even after a restart; it counts Sunday's messages, opt-outs and replies
// and names no patient.
func TestSummaryCrossesLocalTime(t *testing.T) {
	t.Parallel()
	f := newSummaryFixture(t, "07:30")
	in := &scheduler.Inbound{Store: f.DB, Dispatcher: f.D, ServerFrom: schedtest.From, Now: f.Clock}
	f.Enroll(t, anaPhone, false) // Sunday 10:00 in Los Angeles
	f.Tick(t)
	for i, body := range []string{"Is makeup ok tomorrow?", "STOP"} {
		if _, _, err := in.Receive(context.Background(), scheduler.InboundSMS{SID: "SMsum0000000000000000000000000000" + string(rune('a'+i)),
			From: anaPhone, To: schedtest.From, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	for _, now := range []string{"2026-11-22 16:00", "2026-11-22 16:30" /* 00:30 UTC Monday */, "2026-11-23 07:29"} {
		f.at(now)
		if n := f.run(t, f.sum); n != 0 || len(f.mail.messages()) != 0 {
			t.Fatalf("at %s (Los Angeles): %d claimed, %d emails; want none before 07:30", now, n, len(f.mail.messages()))
		}
	}
	f.at("2026-11-23 07:30")
	if n := f.run(t, f.sum); n != 1 {
		t.Fatalf("at 07:30 claimed %d, want 1", n)
	}
	f.at("2026-11-23 07:31")
	f.run(t, f.sum)
	f.at("2026-11-23 23:59")
	f.run(t, f.summaries(t, f.DB)) // a restarted serve
	msgs := f.mail.messages()
	if len(msgs) != 1 || msgs[0].to != manager {
		t.Fatalf("emails: %+v, want one to %s", msgs, manager)
	}
	data := msgs[0].data
	for _, want := range []string{
		"Subject: Glow Skin Studio: aftercare summary for Sun 22 Nov 2026",
		"Sunday 22 November 2026",
		"- 5 messages in all", "- 4 sent, with no delivery report yet", "- 0 unknown", "- 1 cancelled",
		"- 1 opt-out of texts (STOP)", "- 2 texts from patients received", "- 2 replies waiting in the inbox",
		"https://care.glowskin.example/log?since=2026-11-22&until=2026-11-22",
		"text/html",
	} {
		if !strings.Contains(unfold(data), want) {
			t.Errorf("the email lacks %q:\n%s", want, data)
		}
	}
	for _, secret := range []string{"Ana", "Ruiz", "makeup", "0100"} {
		if strings.Contains(data[strings.Index(data, "\r\n\r\n"):], secret) {
			t.Errorf("the email shows %q (patient data)", secret)
		}
	}
	rs := f.ledger(t)
	if len(rs) != 1 || rs[0].Day != "2026-11-22" || rs[0].SentAt.IsZero() || rs[0].Error != "" {
		t.Fatalf("ledger %+v", rs[0])
	}
}

// unfold undoes quoted-printable soft line breaks, so that a phrase the
// encoder wrapped reads whole.
func unfold(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "=\r\n", ""), "=3D", "=")
}

// TestSummaryDSTDays: the day reported is the clinic's whole local day, 25
// hours on the day the clocks go back (a reply at 23:30 PST counts); and a
// summary time the clocks skip (02:30 on the day they go forward) sends at
// the first minute after the gap, 03:00 PDT.
func TestSummaryDSTDays(t *testing.T) {
	t.Parallel()
	t.Run("FallBack", func(t *testing.T) {
		t.Parallel()
		f := newSummaryFixture(t, "06:00", time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC))
		la, _ := time.LoadLocation("America/Los_Angeles")
		day := scheduler.LocalDay(la, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
		if got := day.Until.Sub(day.Since); got != 25*time.Hour {
			t.Fatalf("1 November 2026 in Los Angeles lasts %s, want 25h", got)
		}
		for i, at := range []time.Time{day.Since.Add(-time.Minute), day.Since, day.Until.Add(-30 * time.Minute), day.Until} {
			if _, err := f.DB.AddReply(context.Background(), &aftercare.Reply{ClinicID: f.Clinic.ID, From: anaPhone, To: schedtest.From,
				Body: "hi", ProviderID: "SMdst" + string(rune('a'+i)), ReceivedAt: at, Kind: aftercare.ReplyText}); err != nil {
				t.Fatal(err)
			}
		}
		f.at("2026-11-02 05:59")
		f.run(t, f.sum)
		f.at("2026-11-02 06:00")
		f.run(t, f.sum)
		msgs := f.mail.messages()
		if len(msgs) != 1 || !strings.Contains(unfold(msgs[0].data), "- 2 texts from patients received") {
			t.Fatalf("emails %+v, want one counting the 2 replies of the 25-hour day", msgs)
		}
	})
	t.Run("SpringForwardGap", func(t *testing.T) {
		t.Parallel()
		f := newSummaryFixture(t, "02:30", time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC))
		f.Now = time.Date(2026, 3, 8, 9, 59, 0, 0, time.UTC) // 01:59 PST
		f.run(t, f.sum)
		if n := len(f.mail.messages()); n != 0 {
			t.Fatalf("%d emails before the gap", n)
		}
		f.Now = time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC) // 03:00 PDT
		if n := f.run(t, f.sum); n != 1 || len(f.mail.messages()) != 1 {
			t.Fatalf("claimed %d, %d emails at 03:00 PDT, want the summary of 7 March", n, len(f.mail.messages()))
		}
		if rs := f.ledger(t); rs[0].Day != "2026-03-07" {
			t.Errorf("summary of %s", rs[0].Day)
		}
	})
}

// TestSummaryServesRace: two serves on one database file run the job at
// the same minute, again and again: one email.
func TestSummaryServesRace(t *testing.T) {
	t.Parallel()
	f := newSummaryFixture(t, "07:30")
	other, err := sqlite.Open(context.Background(), f.DB.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	other.Now = f.Clock
	f.at("2026-11-23 07:30")
	jobs := []*scheduler.Summaries{f.sum, f.summaries(t, other), f.summaries(t, f.DB), f.summaries(t, other)}
	var wg sync.WaitGroup
	claims := make(chan int, len(jobs)*3)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				n, err := j.Run(context.Background())
				if err != nil {
					t.Error(err)
				}
				claims <- n
			}
		}()
	}
	wg.Wait()
	close(claims)
	total := 0
	for n := range claims {
		total += n
	}
	if total != 1 || len(f.mail.messages()) != 1 {
		t.Fatalf("%d claims, %d emails; want 1 and 1", total, len(f.mail.messages()))
	}
}

// TestSummaryNoSMTP: without an SMTP server the summary is recorded as not
// sent, with the reason, once.
func TestSummaryNoSMTP(t *testing.T) {
	t.Parallel()
	f := newSummaryFixture(t, "07:30")
	f.sum.Mail = nil
	f.at("2026-11-23 08:00")
	f.run(t, f.sum)
	f.run(t, f.sum)
	rs := f.ledger(t)
	if len(rs) != 1 || !rs[0].SentAt.IsZero() || rs[0].Error != scheduler.NoMailReason {
		t.Fatalf("ledger %+v", rs)
	}
}

// TestSummaryNeverStale: serve was down from Saturday to Tuesday morning:
// Monday's summary (due Tuesday) goes; Saturday's and Sunday's, due on
// days that passed, are recorded as skipped and never sent; nothing is
// recorded for days before the summary was set up.
func TestSummaryNeverStale(t *testing.T) {
	t.Parallel()
	f := newSummaryFixture(t, "07:30") // set up Sunday 22 November, 10:00
	f.at("2026-11-25 09:00")           // Wednesday
	if n := f.run(t, f.sum); n != 1 {
		t.Fatalf("claimed %d", n)
	}
	msgs := f.mail.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].data, "Tue 24 Nov 2026") {
		t.Fatalf("emails %+v, want only Tuesday's", msgs)
	}
	rs := f.ledger(t)
	var days []string
	for _, r := range rs {
		days = append(days, r.Day+" "+strings.SplitN(r.Error, ":", 2)[0])
	}
	want := []string{"2026-11-24 ", "2026-11-23 skipped", "2026-11-22 skipped"}
	if strings.Join(days, "|") != strings.Join(want, "|") {
		t.Fatalf("ledger %q, want %q", days, want)
	}
}

// TestSummarySettingsErrors: bad settings are refused naming the field and
// saying what to write; nothing is saved.
func TestSummarySettingsErrors(t *testing.T) {
	t.Parallel()
	f := schedtest.New(t)
	for _, tt := range []struct {
		name     string
		ch       scheduler.ClinicChanges
		field    string
		contains string
	}{
		{"ErrHour25", scheduler.ClinicChanges{SummaryAt: ptr("25:00"), SummaryTo: ptr(manager)}, "summary_at", `"25:00" is not a time of day: write HH:MM`},
		{"ErrNotATime", scheduler.ClinicChanges{SummaryAt: ptr("7am")}, "summary_at", "e.g. 07:30, or off"},
		{"ErrBadEmail", scheduler.ClinicChanges{SummaryTo: ptr("manager@glow.example, bob@")}, "summary_to", `"bob@" is not an email address`},
		{"ErrTooMany", scheduler.ClinicChanges{SummaryTo: ptr("a@x.example b@x.example c@x.example d@x.example e@x.example f@x.example g@x.example h@x.example i@x.example j@x.example k@x.example")}, "summary_to", "at most 10"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Svc.UpdateClinic(context.Background(), "", tt.ch)
			var ae *aftercare.Error
			if !errors.As(err, &ae) || ae.Code != aftercare.EINVALID || ae.Field != tt.field || !strings.Contains(ae.Message, tt.contains) {
				t.Fatalf("error %v, want EINVALID on %s saying %q", err, tt.field, tt.contains)
			}
			c, _ := f.DB.FindClinic(context.Background(), "")
			if c.SummaryEnabled() {
				t.Errorf("saved %q", c.SummaryTo)
			}
		})
	}
	t.Run("OKAndOff", func(t *testing.T) {
		c, err := f.Svc.UpdateClinic(context.Background(), "", scheduler.ClinicChanges{SummaryTo: ptr("Manager@Glow.example; owner@glow.example")})
		if err != nil || c.SummaryTo != "manager@glow.example, owner@glow.example" || c.SummaryAt != aftercare.DefaultSummaryAt {
			t.Fatalf("%+v %v", c, err)
		}
		c, err = f.Svc.UpdateClinic(context.Background(), "", scheduler.ClinicChanges{SummaryAt: ptr("off")})
		if err != nil || c.SummaryEnabled() {
			t.Fatalf("off: %q %v", c.SummaryTo, err)
		}
	})
}

// TestSummaryRetriesTransient: the mail server is down at 07:30: nobody
// got the summary, so it is tried again ten minutes later (not before),
// by one serve, and sent.
func TestSummaryRetriesTransient(t *testing.T) {
	t.Parallel()
	f := newSummaryFixture(t, "07:30")
	good := f.sum.Mail
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close() // nothing listens there now: connection refused
	port, _ := strconv.Atoi(p)
	down, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: port, From: "aftercare@glow.example", TLS: "none", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.sum.Mail = down
	f.at("2026-11-23 07:30")
	f.run(t, f.sum)
	if rs := f.ledger(t); len(rs) != 1 || !strings.HasPrefix(rs[0].Error, aftercare.SummaryRetry) {
		t.Fatalf("after a refused connection: %+v", rs[0])
	}
	f.sum.Mail = good
	f.at("2026-11-23 07:39")
	if n := f.run(t, f.sum); n != 0 || len(f.mail.messages()) != 0 {
		t.Fatalf("retried after 9 minutes: %d", n)
	}
	f.at("2026-11-23 07:40")
	if n := f.run(t, f.sum) + f.run(t, f.summaries(t, f.DB)); n != 1 || len(f.mail.messages()) != 1 {
		t.Fatalf("after 10 minutes: %d claims, %d emails; want 1 and 1", n, len(f.mail.messages()))
	}
	if rs := f.ledger(t); rs[0].Error != "" || rs[0].SentAt.IsZero() {
		t.Errorf("ledger %+v", rs[0])
	}
}

// TestSummaryClaimedNotResent: a serve claimed the day and died before the
// mail server answered: the outcome is unknown, and no serve sends it
// again (it may have gone).
func TestSummaryClaimedNotResent(t *testing.T) {
	t.Parallel()
	f := newSummaryFixture(t, "07:30")
	f.at("2026-11-23 07:30")
	if ok, err := f.DB.ClaimSummary(context.Background(), f.Clinic.ID, "2026-11-22", f.Now); err != nil || !ok {
		t.Fatal(ok, err)
	}
	f.at("2026-11-23 09:00")
	if n := f.run(t, f.sum); n != 0 || len(f.mail.messages()) != 0 {
		t.Fatalf("resent a claimed summary: %d claims, %d emails", n, len(f.mail.messages()))
	}
}

// TestSummaryText: unknown messages say a person is needed; skipped and
// expired ones give their reasons in Aftercare's words, a note that is
// not one of Aftercare's counts as "other" and is not quoted; no link
// without a public URL.
func TestSummaryText(t *testing.T) {
	t.Parallel()
	la, _ := time.LoadLocation("America/Los_Angeles")
	c := &aftercare.Clinic{Name: "Glow Skin Studio", SummaryAt: aftercare.Clock(7 * 60), SummaryTo: manager}
	day := scheduler.LocalDay(la, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC))
	counts := &aftercare.DayCounts{
		Messages: map[aftercare.Status]int{aftercare.StatusUnknown: 2, aftercare.StatusSkipped: 4, aftercare.StatusExpired: 1},
		Reasons: []aftercare.ReasonCount{
			{Status: aftercare.StatusSkipped, Reason: "skipped: the patient opted out of sms", Count: 2},
			{Status: aftercare.StatusSkipped, Reason: "skipped: due Mon Nov 23 07:00, in quiet hours; the send window (08:00-21:00) opens at ...", Count: 1},
			{Status: aftercare.StatusSkipped, Reason: "Ana Ruiz asked us by phone", Count: 1},
			{Status: aftercare.StatusExpired, Reason: "expired before it could be sent", Count: 1},
		},
		OptOuts: map[aftercare.Channel]int{},
	}
	subject, body := scheduler.SummaryText(c, la, day, counts, 0, "")
	if subject != "Glow Skin Studio: aftercare summary for Sun 22 Nov 2026" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{
		"- 7 messages in all",
		"- 2 unknown: needs a person. Aftercare cannot tell whether they went and never resends them",
		"- 4 skipped: 2 opted out; 1 quiet hours until it was too late; 1 other",
		"- 1 expired: 1 went stale before it could be sent",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the summary lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Ana") || strings.Contains(body, "http") {
		t.Errorf("a patient's note or a link without a public URL:\n%s", body)
	}
}
