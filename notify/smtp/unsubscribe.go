package smtp

import (
	"fmt"
	"net/url"
	"strings"
)

// Unsubscribing (RFC 2369, RFC 8058). Every email whose Outgoing has an
// UnsubscribeURL carries:
//
//	List-Unsubscribe: <https://care.example.com/u/TOKEN>, <mailto:FROM?subject=unsubscribe&body=https...>
//	List-Unsubscribe-Post: List-Unsubscribe=One-Click
//
// and a line "To stop these emails: LINK" at the end of the plain text and
// in the HTML footer. Mail clients that offer an unsubscribe button POST to
// the https link and the patient is unsubscribed at once.
//
// The mailto goes to the email's own sender address (the clinic's
// EmailFrom, or SMTP_FROM). Aftercare does not read mail: a patient whose
// client sends that email reaches whoever reads the sender's mailbox, and
// the email's body is the link that unsubscribes them, for the clinic to
// open. The README says so.
//
// List-Unsubscribe-Post is sent only for an https link: RFC 8058 allows
// one-click only over https, so a server without AFTERCARE_PUBLIC_URL (an
// http link) offers the link to open, not the button.

// listUnsubscribe returns the List-Unsubscribe value for link and the
// sender from, and whether link allows one-click (https).
func listUnsubscribe(link, from string) (value string, oneClick bool, err error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		strings.ContainsAny(link, " <>,\"\t\r\n") {
		return "", false, fmt.Errorf("the unsubscribe link %q is not an http(s) URL that can go in a header", link)
	}
	mailto := "mailto:" + from + "?subject=unsubscribe&body=" + mailtoEscape(link)
	return "<" + link + ">, <" + mailto + ">", u.Scheme == "https", nil
}

// mailtoEscape percent-encodes a mailto header value (RFC 6068 hfvalue):
// everything but unreserved characters, ':' and '@'.
func mailtoEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~', c == ':', c == '@':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// stopLines is the footer line's lead-in, by language.
var stopLines = map[string]string{
	"en": "To stop these emails:",
	"es": "Para dejar de recibir estos correos:",
}

// stopLine returns the lead-in in lang ("es-MX" reads "es"), English for a
// language it does not have.
func stopLine(lang string) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	if s, ok := stopLines[base]; ok {
		return s
	}
	return stopLines["en"]
}

// withStopLine returns the plain-text body with the stop line after it.
func withStopLine(body, lang, link string) string {
	return strings.TrimRight(body, "\r\n") + "\n\n" + stopLine(lang) + " " + link + "\n"
}
