package dispatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/templates"
)

// three texts an hour apart; the first lives 30 minutes.
const noticeProtocol = `slug: three
name: Three texts
languages: [en]
steps:
  - key: one
    channels: [sms]
    after: 0s
    expires: 30m
    text:
      en:
        sms: "{{.ClinicName}}: one. Call {{.ClinicPhone}}."
  - key: two
    channels: [sms]
    after: 1h
    text:
      en:
        sms: "{{.ClinicName}}: two. Call {{.ClinicPhone}}."
  - key: three
    channels: [sms]
    after: 2h
    text:
      en:
        sms: "{{.ClinicName}}: three. Call {{.ClinicPhone}}."
`

// TestDispatchOptOutNoticeOnFirstSMSSent: the notice is planned on the
// first text; when that one expires unsent, the first text that does reach
// Twilio carries it instead, the log keeps the text as sent, and no later
// text repeats it.
func TestDispatchOptOutNoticeOnFirstSMSSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := schedtest.NewSend(t)
	if _, _, err := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "three.yaml", []byte(noticeProtocol)); err != nil {
		t.Fatal(err)
	}
	req := scheduler.EnrollRequest{Name: "Ana Ruiz", Phone: "+1 415 555 0100", TZ: "UTC", Lang: "en", Protocol: "three",
		TreatedAt: f.Now.Format(time.RFC3339), SMSConsent: true, Source: "test"}
	if _, err := f.Svc.Enroll(ctx, f.Clinic, req); err != nil {
		t.Fatal(err)
	}
	notice := aftercare.OptOutNotice("en")
	if m := f.ByStep(t, "one", aftercare.SMS); !strings.HasSuffix(m.Body, notice) {
		t.Fatalf("the first planned text lacks the notice: %q", m.Body)
	}
	if m := f.ByStep(t, "two", aftercare.SMS); strings.Contains(m.Body, notice) {
		t.Fatalf("the second planned text has the notice: %q", m.Body)
	}
	// The dispatcher was down for the first text's 30 minutes.
	f.Now = f.Now.Add(time.Hour)
	if n := f.Tick(t); n != 1 {
		t.Fatalf("tick sent %d, want the second text only", n)
	}
	if m := f.ByStep(t, "one", aftercare.SMS); m.Status != aftercare.StatusExpired {
		t.Fatalf("first text %s, want expired", m.Status)
	}
	sent := f.Fake.Messages()
	if len(sent) != 1 || !strings.HasSuffix(sent[0].Body, notice) || !strings.Contains(sent[0].Body, "two.") {
		t.Fatalf("Twilio got %d texts, first %q: want the second text with the notice", len(sent), sent[0].Body)
	}
	two := f.ByStep(t, "two", aftercare.SMS)
	if two.Body != sent[0].Body {
		t.Errorf("the log shows %q, Twilio got %q", two.Body, sent[0].Body)
	}
	if n, _ := templates.Segments(two.Body); two.Segments != n {
		t.Errorf("the log counts %d segments for a text of %d", two.Segments, n)
	}
	f.Now = f.Now.Add(time.Hour)
	if n := f.Tick(t); n != 1 {
		t.Fatalf("tick sent %d, want the third text", n)
	}
	if sent := f.Fake.Messages(); strings.Contains(sent[1].Body, notice) {
		t.Errorf("the third text repeats the notice: %q", sent[1].Body)
	}
}
