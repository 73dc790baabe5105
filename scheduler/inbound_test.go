package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/smtp"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/scheduler/schedtest"
)

type inboundFixture struct {
	*schedtest.SendFixture
	in  *scheduler.Inbound
	sid int
}

func newInboundFixture(t *testing.T) *inboundFixture {
	t.Helper()
	f := schedtest.NewSend(t)
	in := &scheduler.Inbound{Store: f.DB, Dispatcher: f.D, ServerFrom: schedtest.From, Now: f.Clock}
	return &inboundFixture{SendFixture: f, in: in}
}

// text receives a text from a number to a number, with a fresh SID.
func (f *inboundFixture) text(t *testing.T, from, to, body string) *aftercare.Reply {
	t.Helper()
	f.sid++
	r, dup, err := f.in.Receive(context.Background(), scheduler.InboundSMS{SID: fmt.Sprintf("SMin%030d", f.sid), From: from, To: to, Body: body})
	if err != nil || dup {
		t.Fatalf("Receive(%q): duplicate %v, %v", body, dup, err)
	}
	return r
}

// setClinic changes the default clinic's settings in the store.
func (f *inboundFixture) setClinic(t *testing.T, change func(c *aftercare.Clinic)) {
	t.Helper()
	c, err := f.DB.FindClinic(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	change(c)
	if err := f.DB.UpdateClinic(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	f.Clinic = c
}

// sentTo returns the bodies the fake Twilio took for a number.
func (f *inboundFixture) sentTo(number string) []string {
	var out []string
	for _, m := range f.Fake.Messages() {
		if m.To == number {
			out = append(out, m.Body)
		}
	}
	return out
}

const anaPhone = "+14155550100"

// TestStopRace: a STOP recorded after the dispatcher claimed a message and
// before it called Twilio: the message is not sent (skipped), and the only
// text Twilio gets is the opt-out confirmation.
func TestStopRace(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	f.Enroll(t, anaPhone, false)
	f.D.Failpoint = func(point string) {
		if point == "after-claim" {
			f.D.Failpoint = nil
			f.text(t, anaPhone, schedtest.From, "STOP")
		}
	}
	if n := f.Tick(t); n != 2 {
		t.Fatalf("tick handled %d, want the two claimed", n)
	}
	got := f.sentTo(anaPhone)
	if len(got) != 1 || !strings.Contains(got[0], "no more texts") {
		t.Fatalf("Twilio got %q, want only the opt-out confirmation", got)
	}
	for _, m := range f.Messages(t) {
		switch {
		case m.StepKey == aftercare.StepReplyStop:
			if m.Status != aftercare.StatusSent {
				t.Errorf("confirmation: %s", m.Status)
			}
		case m.Channel == aftercare.SMS && (m.Status == aftercare.StatusSent || m.Status == aftercare.StatusPending):
			t.Errorf("%s after STOP: %s (%s)", m.StepKey, m.Status, m.Note)
		case m.StepKey == "welcome" && (m.Status != aftercare.StatusSkipped || !strings.Contains(m.Error, "opted out")):
			t.Errorf("welcome: %s %q, want skipped: opted out", m.Status, m.Error)
		}
	}
}

func TestInboundStop(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, body   string
		twilioAnswer bool
		confirmed    bool
		source       string
	}{
		{"Keyword", "  Stop. ", false, true, "sms:STOP"},
		{"KeywordTwilioAnswers", "STOPALL", true, false, "sms:STOPALL"},
		{"PlainWordsTwilioAnswersNot", "please stop texting me", true, true, "sms:PLAIN"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newInboundFixture(t)
			if tt.twilioAnswer {
				f.setClinic(t, func(c *aftercare.Clinic) { c.TwilioOptOutReplies = true })
			}
			e := f.Enroll(t, anaPhone, false)
			r := f.text(t, anaPhone, schedtest.From, tt.body)
			if r.Kind != aftercare.ReplyStop || r.PatientID != e.Patient.ID {
				t.Fatalf("reply %+v", r)
			}
			p, _ := f.DB.FindPatient(context.Background(), f.Clinic.ID, e.Patient.ID)
			if p.SMSOptOutAt.IsZero() {
				t.Fatal("not opted out")
			}
			evs, _ := f.DB.ListConsentEvents(context.Background(), f.Clinic.ID, p.ID)
			if last := evs[len(evs)-1]; last.Source != tt.source || last.Note != tt.body {
				t.Errorf("consent event %+v", last)
			}
			if got := f.sentTo(anaPhone); (len(got) == 1) != tt.confirmed || len(got) > 1 {
				t.Errorf("sent %q; confirmation wanted: %v", got, tt.confirmed)
			}
			if n := f.Tick(t); n != 0 || len(f.sentTo(anaPhone)) > 1 {
				t.Errorf("after STOP the dispatcher sent %d", n)
			}
			// START: back in, confirmed.
			f.text(t, anaPhone, schedtest.From, "start")
			p, _ = f.DB.FindPatient(context.Background(), f.Clinic.ID, e.Patient.ID)
			if !p.CanReceive(aftercare.SMS) {
				t.Error("START did not opt back in")
			}
		})
	}
}

// TestInboundReplay: the same SID twice changes nothing the second time.
func TestInboundReplay(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	f.Enroll(t, anaPhone, false)
	sms := scheduler.InboundSMS{SID: "SMdup", From: anaPhone, To: schedtest.From, Body: "HELP"}
	if _, dup, err := f.in.Receive(context.Background(), sms); err != nil || dup {
		t.Fatal(dup, err)
	}
	if _, dup, err := f.in.Receive(context.Background(), sms); err != nil || !dup {
		t.Fatalf("replay: duplicate %v, %v", dup, err)
	}
	if got := f.sentTo(anaPhone); len(got) != 1 {
		t.Errorf("HELP answered %d times", len(got))
	}
}

func TestInboundHelp(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	f.Enroll(t, anaPhone, false)
	f.text(t, anaPhone, schedtest.From, "help")
	got := f.sentTo(anaPhone)
	if len(got) != 1 {
		t.Fatalf("sent %q", got)
	}
	for _, want := range []string{"Glow Skin Studio", "+1 415-555-0199", "Msg & data rates may apply", "STOP"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("HELP answer %q lacks %q", got[0], want)
		}
	}
	m := f.byStepAny(t, aftercare.StepReplyHelp)
	if m.Status != aftercare.StatusSent || m.ProviderID == "" {
		t.Errorf("the answer in the log: %+v", m)
	}
}

func (f *inboundFixture) byStepAny(t *testing.T, step string) *aftercare.Message {
	t.Helper()
	for _, m := range f.Messages(t) {
		if m.StepKey == step {
			return m
		}
	}
	t.Fatalf("no message of step %s", step)
	return nil
}

// TestInboundAutoAnswerOncePerDay: ordinary replies get one automatic answer
// per clinic-local day; they land in the inbox unread.
func TestInboundAutoAnswerOncePerDay(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	e := f.Enroll(t, anaPhone, false)
	f.Tick(t)
	before := len(f.sentTo(anaPhone))
	r := f.text(t, anaPhone, schedtest.From, "Thanks! Can I wear makeup tomorrow?")
	f.text(t, anaPhone, schedtest.From, "also, is sunscreen ok?")
	if got := f.sentTo(anaPhone)[before:]; len(got) != 1 || !strings.Contains(got[0], "we read replies during opening hours") {
		t.Fatalf("automatic answers %q, want one", got)
	}
	if r.StepKey != "" || r.MessageID == 0 || r.EnrollmentID != e.Enrollment.ID {
		t.Errorf("reply not matched to the SMS it answers: %+v", r)
	}
	stored, _ := f.DB.FindReply(context.Background(), f.Clinic.ID, r.ID)
	if stored.StepKey != "welcome" && stored.StepKey != "pause-actives" {
		t.Errorf("answered step %q", stored.StepKey)
	}
	f.Now = f.Now.Add(24 * time.Hour)
	f.text(t, anaPhone, schedtest.From, "one more question")
	if got := f.sentTo(anaPhone)[before:]; len(got) != 2 {
		t.Errorf("next day: %d automatic answers, want 2", len(got))
	}
	if n, _ := f.DB.CountUnread(context.Background(), f.Clinic.ID); n != 3 {
		t.Errorf("unread %d, want 3", n)
	}
}

// TestInboundTenantIsolation: two clinics with their own numbers; the same
// phone is a patient of both. A reply to B's number lands in B's inbox only.
func TestInboundTenantIsolation(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	ctx := context.Background()
	ownA := "+1 415 555 0111"
	a, err := f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{SMSFrom: &ownA})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.AddClinic(ctx, scheduler.ClinicDefaults{Slug: "b", Name: "Clinic B", Phone: "+1 415 555 0122", TZ: "America/Los_Angeles"}, false); err != nil {
		t.Fatal(err)
	}
	ownB := "+1 415 555 0133"
	b, err := f.Svc.UpdateClinic(ctx, "b", scheduler.ClinicChanges{SMSFrom: &ownB})
	if err != nil {
		t.Fatal(err)
	}
	f.Clinic = a
	f.Enroll(t, anaPhone, false)
	f.Clinic = b
	eb := f.Enroll(t, anaPhone, false)
	r := f.text(t, anaPhone, "+14155550133", "is this normal?")
	if r.ClinicID != b.ID || r.PatientID != eb.Patient.ID {
		t.Fatalf("reply went to clinic %d patient %d, want B's (%d, %d)", r.ClinicID, r.PatientID, b.ID, eb.Patient.ID)
	}
	if n, _ := f.DB.CountUnread(ctx, a.ID); n != 0 {
		t.Errorf("clinic A sees %d replies", n)
	}
	if rs, _ := f.DB.ListReplies(ctx, aftercare.ReplyFilter{ClinicID: b.ID}); len(rs) != 1 {
		t.Errorf("clinic B lists %d replies", len(rs))
	}
	// A STOP to A's number opts out of A only.
	f.text(t, anaPhone, "+14155550111", "STOP")
	if p, _ := f.DB.FindPatient(ctx, b.ID, eb.Patient.ID); !p.SMSOptOutAt.IsZero() {
		t.Error("a STOP to clinic A opted the patient out of clinic B")
	}
}

// TestInboundUnknownSender: a number no patient has is kept, never dropped,
// and HELP is still answered.
func TestInboundUnknownSender(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	stranger := "+14155550177"
	r := f.text(t, stranger, schedtest.From, "who is this?")
	if r.PatientID != 0 || r.ClinicID != f.Clinic.ID || r.AutoAnswered {
		t.Errorf("unknown sender: %+v", r)
	}
	f.text(t, stranger, schedtest.From, "INFO")
	if got := f.sentTo(stranger); len(got) != 1 || !strings.Contains(got[0], "Msg & data rates may apply") {
		t.Errorf("INFO from a stranger answered %q", got)
	}
	if n, _ := f.DB.CountUnread(context.Background(), f.Clinic.ID); n != 2 {
		t.Errorf("unread %d, want 2", n)
	}
}

// TestInboundRedFlagEndToEnd: a warning sign at night: the inbox shows it
// first, the alert email reaches a real SMTP server on loopback, and the
// patient is asked at once (quiet hours do not apply) to call the clinic.
func TestInboundRedFlagEndToEnd(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	ctx := context.Background()
	mail := newSMTPServer(t)
	sender, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: mail.port, From: "aftercare@glow.example", TLS: "none", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.D.Routes[aftercare.Email] = dispatch.Route{Name: "smtp", Sender: sender}
	alert := "nurse@glow.example"
	f.setClinic(t, func(c *aftercare.Clinic) { c.AlertEmail = alert })
	f.Enroll(t, anaPhone, false)
	f.Tick(t)
	f.text(t, anaPhone, schedtest.From, "thanks")
	f.Now = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC) // 23:30 in Los Angeles: quiet hours
	before := len(f.sentTo(anaPhone))
	r := f.text(t, anaPhone, schedtest.From, "Tengo pus y me duele mucho")
	if !r.RedFlag || r.Kind != aftercare.ReplyRedFlag || r.RedFlagWords != "pain, pus" && r.RedFlagWords != "pus, pain" {
		t.Errorf("reply %+v", r)
	}
	got := f.sentTo(anaPhone)[before:]
	if len(got) != 1 || !strings.Contains(got[0], "call the clinic now") {
		t.Fatalf("at night the patient got %q, want the call-now answer", got)
	}
	msgs := mail.messages()
	if len(msgs) != 1 || msgs[0].to != alert || !strings.Contains(msgs[0].data, "Tengo pus") || !strings.Contains(msgs[0].data, "warning sign") {
		t.Fatalf("alert emails: %+v", msgs)
	}
	rs, _ := f.DB.ListReplies(ctx, aftercare.ReplyFilter{ClinicID: f.Clinic.ID})
	if len(rs) != 2 || rs[0].ID != r.ID {
		t.Errorf("the red flag is not first in the inbox: %+v", rs)
	}
}

// TestStaffAnswer: inside the window it goes now; outside, it is queued to
// the window's opening; to an opted-out patient it is refused.
func TestStaffAnswer(t *testing.T) {
	t.Parallel()
	f := newInboundFixture(t)
	ctx := context.Background()
	e := f.Enroll(t, anaPhone, false)
	m, err := f.in.Answer(ctx, f.Clinic.ID, e.Patient.ID, 1, "Yes, makeup is fine after 24 hours as your sheet says.")
	if err != nil || m.StepKey != aftercare.StepReplyStaff {
		t.Fatal(m, err)
	}
	if got := f.sentTo(anaPhone); len(got) != 1 || !strings.HasPrefix(got[0], "Glow Skin Studio: Yes") {
		t.Errorf("sent %q", got)
	}
	f.Now = time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC) // 23:30 in Los Angeles
	m, err = f.in.Answer(ctx, f.Clinic.ID, e.Patient.ID, 1, "Call us tomorrow")
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != aftercare.StatusPending || m.SendAt.In(mustZone(t, "America/Los_Angeles")).Hour() != 8 || !strings.Contains(m.Note, "quiet hours") {
		t.Errorf("night answer: %s at %s (%s)", m.Status, m.SendAt, m.Note)
	}
	if len(f.sentTo(anaPhone)) != 1 {
		t.Error("sent during quiet hours")
	}
	f.text(t, anaPhone, schedtest.From, "STOP")
	if _, err := f.in.Answer(ctx, f.Clinic.ID, e.Patient.ID, 1, "hello?"); aftercare.ErrorCode(err) != aftercare.EUNPROCESSABLE {
		t.Errorf("answer after STOP: %v, want EUNPROCESSABLE", err)
	}
	if _, err := f.in.Answer(ctx, f.Clinic.ID, e.Patient.ID, 1, "  "); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Errorf("empty answer: %v, want EINVALID", err)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// A minimal SMTP server on loopback (github.com/emersion/go-smtp) that
// keeps what it receives.
type smtpServer struct {
	port int
	mu   sync.Mutex
	got  []mailMsg
}

type mailMsg struct{ from, to, data string }

func (s *smtpServer) messages() []mailMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMsg(nil), s.got...)
}

type smtpSession struct {
	srv      *smtpServer
	from, to string
}

func (x *smtpSession) Mail(from string, _ *gosmtp.MailOptions) error { x.from = from; return nil }
func (x *smtpSession) Rcpt(to string, _ *gosmtp.RcptOptions) error   { x.to = to; return nil }
func (x *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	x.srv.mu.Lock()
	x.srv.got = append(x.srv.got, mailMsg{x.from, x.to, string(b)})
	x.srv.mu.Unlock()
	return err
}
func (x *smtpSession) Reset()        {}
func (x *smtpSession) Logout() error { return nil }

func newSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	srv := &smtpServer{}
	srv.port = notifytest.ServeSMTP(t, func() gosmtp.Session { return &smtpSession{srv: srv} })
	return srv
}
