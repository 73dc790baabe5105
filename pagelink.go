package aftercare

import "strings"

// The line that gives a patient the link to their own page (/p/TOKEN),
// added to the first SMS of an enrollment and to every email when the
// clinic turns patient links on. The words avoid letters outside GSM-7
// (no "página"), so the line alone never makes a text UCS-2.
var pageLinkLabels = map[string]string{
	"en": "Your aftercare page:",
	"es": "Sus indicaciones:",
}

// PageLinkLabel is the words before the link in lang ("es-MX" reads "es"),
// English for a language it does not have.
func PageLinkLabel(lang string) string { return InLang(pageLinkLabels, lang) }

// PageLinkLine is the whole line: label, a space, the link.
func PageLinkLine(lang, url string) string { return PageLinkLabel(lang) + " " + url }

// WithPageLink returns an SMS body with the page link line added, and its
// segments: on a line of its own before the opt-out notice when the body
// ends with it (carriers look for the notice at the end), otherwise at the
// end. A body that already has the line is returned as it is.
func WithPageLink(body, lang, url string) (string, int) {
	line := PageLinkLine(lang, url)
	if !strings.Contains(body, line) {
		if n := OptOutNotice(lang); strings.HasSuffix(body, "\n"+n) {
			body = strings.TrimSuffix(body, n) + line + "\n" + n
		} else {
			body = body + "\n" + line
		}
	}
	segs, _ := Segments(body)
	return body, segs
}

// WithoutAdditions returns a message body as the protocol wrote it: without
// the opt-out notice and without a page link line that Aftercare added (the
// patient's page shows the texts, not what carriers need on them).
func WithoutAdditions(body, lang string) string {
	body = strings.TrimSuffix(body, "\n"+OptOutNotice(lang))
	label := PageLinkLabel(lang) + " "
	lines := strings.Split(body, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, label) || !strings.Contains(l, "/p/") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
