package smtp_test

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
)

const link = "https://care.example.com/u/AAAAAAAAAAcAAAAAAAAAKgAAAABp.sig-nat_ure"

// unsubscribeURIs splits a List-Unsubscribe value into its <URI>s (RFC 2369).
func unsubscribeURIs(t *testing.T, v string) []string {
	t.Helper()
	var out []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if !strings.HasPrefix(part, "<") || !strings.HasSuffix(part, ">") {
			t.Fatalf("List-Unsubscribe %q: %q is not in angle brackets", v, part)
		}
		out = append(out, part[1:len(part)-1])
	}
	return out
}

// checkUnsubscribe checks a received message's unsubscribe headers against
// the link and the sender's address, and returns the mailto's fields.
func checkUnsubscribe(t *testing.T, h mail.Header, wantLink, sender string, oneClick bool) {
	t.Helper()
	raw := h["List-Unsubscribe"]
	if len(raw) != 1 {
		t.Fatalf("List-Unsubscribe appears %d times, want once", len(raw))
	}
	uris := unsubscribeURIs(t, raw[0])
	if len(uris) != 2 || uris[0] != wantLink {
		t.Fatalf("List-Unsubscribe URIs %q; want the https link first, then a mailto", uris)
	}
	mt, err := url.Parse(uris[1])
	if err != nil || mt.Scheme != "mailto" || mt.Opaque != sender {
		t.Fatalf("mailto %q (%v); want mailto:%s", uris[1], err, sender)
	}
	q := mt.Query()
	if q.Get("subject") != "unsubscribe" || q.Get("body") != wantLink {
		t.Errorf("mailto subject %q body %q; want unsubscribe and the link", q.Get("subject"), q.Get("body"))
	}
	if strings.Contains(mt.RawQuery, "/") {
		t.Errorf("mailto query %q has an unescaped '/' (RFC 6068)", mt.RawQuery)
	}
	post := h.Get("List-Unsubscribe-Post")
	switch {
	case oneClick && post != "List-Unsubscribe=One-Click":
		t.Errorf("List-Unsubscribe-Post %q; want List-Unsubscribe=One-Click (RFC 8058)", post)
	case !oneClick && post != "":
		t.Errorf("List-Unsubscribe-Post %q for a link that is not https", post)
	}
}

func TestSendListUnsubscribe(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.UnsubscribeURL = link
	_, p := sendOne(t, m)
	checkUnsubscribe(t, p.msg.Header, link, from, true)
	want := m.Body + "\n\nTo stop these emails: " + link
	if strings.TrimRight(p.text, "\n") != want {
		t.Errorf("text part:\n%s\nwant:\n%s", p.text, want)
	}
	if !strings.Contains(bare(p.html), `To stop these emails: <a href="`+link+`">`+link+`</a>`) {
		t.Errorf("the HTML footer lacks the link:\n%s", p.html)
	}
}

// TestSendListUnsubscribeClinicFrom: the mailto goes to the address the
// email comes from, the clinic's own when it has one.
func TestSendListUnsubscribeClinicFrom(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.From, m.UnsubscribeURL = "care@downtown-spa.example", link
	_, p := sendOne(t, m)
	checkUnsubscribe(t, p.msg.Header, link, m.From, true)
}

func TestSendListUnsubscribeSpanish(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.Lang, m.UnsubscribeURL = "es", link
	_, p := sendOne(t, m)
	if !strings.HasSuffix(strings.TrimRight(p.text, "\n"), "Para dejar de recibir estos correos: "+link) {
		t.Errorf("text part lacks the Spanish stop line:\n%s", p.text)
	}
	if !strings.Contains(p.html, "Para dejar de recibir estos correos:") {
		t.Errorf("HTML part lacks the Spanish stop line:\n%s", p.html)
	}
}

// TestSendListUnsubscribeHTTP: without https (no AFTERCARE_PUBLIC_URL) the
// link is offered but not as one-click, which RFC 8058 allows only over https.
func TestSendListUnsubscribeHTTP(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.UnsubscribeURL = "http://127.0.0.1:8080/u/tok.sig"
	_, p := sendOne(t, m)
	checkUnsubscribe(t, p.msg.Header, m.UnsubscribeURL, from, false)
}

func TestSendNoUnsubscribeWithoutLink(t *testing.T) {
	t.Parallel()
	_, p := sendOne(t, outgoing("ana@example.com"))
	if h := p.msg.Header; h.Get("List-Unsubscribe") != "" || h.Get("List-Unsubscribe-Post") != "" {
		t.Errorf("unsubscribe headers without a link: %q %q", h.Get("List-Unsubscribe"), h.Get("List-Unsubscribe-Post"))
	}
	if strings.Contains(p.text, "To stop these emails") {
		t.Errorf("a stop line without a link:\n%s", p.text)
	}
}

// TestSendBadUnsubscribeLink: a link that cannot go in a header (it would
// let text start a header of its own) fails the send permanently and
// nothing reaches the server.
func TestSendBadUnsubscribeLink(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv)
	for _, bad := range []string{"https://x.example/u/a>\r\nBcc: evil@example.com", "ftp://x.example/u/a", "/u/a", "https://x.example/u/a b"} {
		m := outgoing("ana@example.com")
		m.UnsubscribeURL = bad
		_, err := s.Send(context.Background(), m)
		if se := notifytest.SendError(t, err); se.Kind != aftercare.Permanent {
			t.Errorf("%q: %v, want a permanent failure", bad, err)
		}
	}
	if n := len(srv.messages()); n != 0 {
		t.Errorf("the server received %d messages", n)
	}
}

// mixedParts reads a multipart/mixed message: its multipart/alternative
// part's types, and its attachments by content type.
type attachment struct {
	ContentType string
	Params      map[string]string
	Disposition string
	Filename    string
	Data        []byte
}

func mixedParts(t *testing.T, data string) (alternative []string, atts []attachment) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	forParts(t, msg.Header.Get("Content-Type"), msg.Body, "multipart/mixed", func(part *multipart.Part, ct string, cp map[string]string) {
		if ct == "multipart/alternative" {
			forParts(t, part.Header.Get("Content-Type"), part, ct, func(_ *multipart.Part, at string, _ map[string]string) {
				alternative = append(alternative, at)
			})
			return
		}
		raw, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		if enc := part.Header.Get("Content-Transfer-Encoding"); !strings.EqualFold(enc, "base64") {
			t.Fatalf("attachment encoding %q, want base64", enc)
		}
		dec, err := base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
		if err != nil {
			t.Fatalf("attachment: %v", err)
		}
		disp, dp, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		atts = append(atts, attachment{ContentType: ct, Params: cp, Disposition: disp, Filename: dp["filename"], Data: dec})
	})
	return alternative, atts
}

func TestSendCalendarAttachment(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv)
	m := outgoing("ana@example.com")
	m.UnsubscribeURL = link
	m.Calendar = []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nSUMMARY:Mañana\\, sol\r\nEND:VCALENDAR\r\n")
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	data := srv.messages()[0].Data
	alt, atts := mixedParts(t, data)
	if strings.Join(alt, ",") != "text/plain,text/html" {
		t.Errorf("alternative parts %v; want text/plain, text/html", alt)
	}
	if len(atts) != 1 {
		t.Fatalf("%d attachments, want the calendar", len(atts))
	}
	a := atts[0]
	if a.ContentType != "text/calendar" || a.Params["method"] != "PUBLISH" || a.Params["name"] != "aftercare.ics" ||
		!strings.EqualFold(a.Params["charset"], "utf-8") {
		t.Errorf("calendar part type %s %v; want text/calendar; charset=utf-8; method=PUBLISH; name=aftercare.ics", a.ContentType, a.Params)
	}
	if a.Disposition != "attachment" || a.Filename != "aftercare.ics" {
		t.Errorf("disposition %s filename %q", a.Disposition, a.Filename)
	}
	if string(a.Data) != string(m.Calendar) {
		t.Errorf("calendar arrived as %q, want %q", a.Data, m.Calendar)
	}
	msg, _ := mail.ReadMessage(strings.NewReader(data))
	checkUnsubscribe(t, msg.Header, link, from, true)
}
