package smtp_test

import (
	"context"
	"strings"
	"testing"
)

// TestSendPageLink: an email with a PageURL carries the patient's page
// link in both parts, in the email's language; without one, neither part
// has a link (TestSend).
func TestSendPageLink(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv)
	for _, tc := range []struct{ lang, label string }{{"en", "Your aftercare page:"}, {"es", "Sus indicaciones:"}} {
		m := outgoing("ana@example.com")
		m.Lang = tc.lang
		m.PageURL = "https://care.example/p/abc.def"
		if _, err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("Send: %v", err)
		}
		got := srv.messages()
		p := parse(t, got[len(got)-1].Data)
		if want := m.Body + "\n\n" + tc.label + " " + m.PageURL; strings.TrimRight(p.text, "\n") != want {
			t.Errorf("%s text part %q; want %q", tc.lang, p.text, want)
		}
		if !strings.Contains(p.html, `<a href="https://care.example/p/abc.def"`) || !strings.Contains(p.html, tc.label) {
			t.Errorf("%s HTML part lacks the page link:\n%s", tc.lang, p.html)
		}
	}
}
