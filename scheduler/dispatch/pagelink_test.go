package dispatch_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/scheduler/schedtest"
	"github.com/aftercare/aftercare/templates"
)

// pageFixture is a send fixture whose emails go to an outbox file the test
// reads, with patient links on or off for the clinic.
func pageFixture(t *testing.T, on bool) (*schedtest.SendFixture, *dispatch.PageLinks, string) {
	t.Helper()
	f := schedtest.NewSend(t)
	f.Clinic.PatientLinks = on
	if err := f.DB.UpdateClinic(context.Background(), f.Clinic); err != nil {
		t.Fatal(err)
	}
	pages := schedtest.Pages(t, f.DB)
	f.D.Pages = pages
	path := filepath.Join(t.TempDir(), "mail.jsonl")
	box, err := outbox.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.D.Routes[aftercare.Email] = dispatch.Route{Name: "outbox", Sender: box}
	return f, pages, path
}

func outboxRecords(t *testing.T, path string) []outbox.Record {
	t.Helper()
	fh, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var out []outbox.Record
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r outbox.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestPageLinkSent: with PatientLinks on, the first text that reaches
// Twilio carries the page link before the opt-out notice, and only the
// first; every email carries it; the link opens this enrollment's page and
// expires a week after the last planned message. The stored text is the
// one sent, with its segments.
func TestPageLinkSent(t *testing.T) {
	t.Parallel()
	f, pages, mail := pageFixture(t, true)
	r := f.Enroll(t, "+1 415 555 0100", true)
	if n := f.Tick(t); n < 3 {
		t.Fatalf("first tick sent %d, want the welcome text and email and pause-actives", n)
	}
	sms := f.Fake.Messages()
	if len(sms) != 2 {
		t.Fatalf("Twilio got %d texts, want 2", len(sms))
	}
	prefix := "Your aftercare page: " + pages.PublicURL + "/p/"
	first, second := sms[0].Body, sms[1].Body
	if !strings.Contains(first, "\n"+prefix) ||
		!strings.HasSuffix(first, "\n"+aftercare.OptOutNotice("en")) {
		t.Fatalf("first text lacks the link before the notice:\n%s", first)
	}
	if strings.Contains(second, "/p/") {
		t.Errorf("the second text has the link too:\n%s", second)
	}
	link := first[strings.Index(first, prefix)+len(prefix)-len(pages.PublicURL+"/p/"):]
	link = link[:strings.IndexByte(link, '\n')]
	token := strings.TrimPrefix(link, pages.PublicURL+"/p/")
	clinicID, id, err := pages.Signer.Verify(aftercare.PurposePatientPage, token, f.Now)
	if err != nil || clinicID != f.Clinic.ID || id != r.Enrollment.ID {
		t.Fatalf("the link's token names clinic %d enrollment %d (%v), want %d %d", clinicID, id, err, f.Clinic.ID, r.Enrollment.ID)
	}
	last := r.Messages[len(r.Messages)-1].SendAt
	if _, _, err := pages.Signer.Verify(aftercare.PurposePatientPage, token, last.Add(dispatch.PageGrace-time.Minute)); err != nil {
		t.Errorf("the link is refused within the week after the last message: %v", err)
	}
	if _, _, err := pages.Signer.Verify(aftercare.PurposePatientPage, token, last.Add(dispatch.PageGrace+25*time.Hour)); err == nil {
		t.Errorf("the link still opens more than a day past its week's grace")
	}
	stored := f.ByStep(t, "welcome", aftercare.SMS)
	if segs, _ := templates.Segments(first); stored.Body != first || stored.Segments != segs {
		t.Errorf("stored text (%d segments) is not the one sent (%d segments):\n%s", stored.Segments, segs, stored.Body)
	}

	// Every email carries the same link, the first and a later one.
	for i := 0; i < 8*24; i++ {
		f.Now = f.Now.Add(time.Hour)
		f.Tick(t)
	}
	recs := outboxRecords(t, mail)
	if len(recs) < 2 {
		t.Fatalf("%d emails written, want at least 2", len(recs))
	}
	for _, rec := range recs {
		if rec.PageURL != link {
			t.Errorf("email %d carries page link %q, want %q", rec.MessageID, rec.PageURL, link)
		}
	}
}

// TestPageLinkOff: with PatientLinks off (the default), no text or email
// carries a link.
func TestPageLinkOff(t *testing.T) {
	t.Parallel()
	f, _, mail := pageFixture(t, false)
	f.Enroll(t, "+1 415 555 0100", true)
	f.Tick(t)
	for _, m := range f.Fake.Messages() {
		if strings.Contains(m.Body, "/p/") {
			t.Errorf("a text carries a page link with links off:\n%s", m.Body)
		}
	}
	recs := outboxRecords(t, mail)
	if len(recs) == 0 {
		t.Fatal("no email written")
	}
	for _, rec := range recs {
		if rec.PageURL != "" {
			t.Errorf("an email carries a page link with links off: %q", rec.PageURL)
		}
	}
}
