package smtp

import (
	"html"
	"strings"

	"github.com/aftercare/aftercare"
)

// renderHTML is the HTML alternative of m.Body: the same text, escaped,
// blank lines making paragraphs and single line breaks kept, then a footer
// with the clinic's name and phone. Nothing is loaded from elsewhere (no
// images, fonts or styles by URL): mail clients block remote content and
// it would tell a tracker when the patient read the message.
func renderHTML(m *aftercare.Outgoing) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
	b.WriteString("<title>")
	b.WriteString(html.EscapeString(oneLine(m.Subject)))
	b.WriteString("</title></head>\n")
	b.WriteString("<body style=\"font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #222; max-width: 40em; margin: 0 auto; padding: 1em;\">\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\r", "\n")
	for _, para := range strings.Split(body, "\n\n") {
		para = strings.Trim(para, "\n")
		if strings.TrimSpace(para) == "" {
			continue
		}
		lines := strings.Split(para, "\n")
		for i, l := range lines {
			lines[i] = html.EscapeString(l)
		}
		b.WriteString("<p>")
		b.WriteString(strings.Join(lines, "<br>\n"))
		b.WriteString("</p>\n")
	}
	if m.ClinicName != "" || m.ClinicPhone != "" {
		b.WriteString("<hr style=\"border: none; border-top: 1px solid #ddd; margin-top: 2em;\">\n")
		b.WriteString("<p style=\"font-size: 14px; color: #555;\">")
		b.WriteString(html.EscapeString(oneLine(m.ClinicName)))
		if m.ClinicPhone != "" {
			if m.ClinicName != "" {
				b.WriteString(" &middot; ")
			}
			phone := html.EscapeString(oneLine(m.ClinicPhone))
			b.WriteString("<a href=\"tel:")
			b.WriteString(phone)
			b.WriteString("\" style=\"color: #555;\">")
			b.WriteString(phone)
			b.WriteString("</a>")
		}
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>\n")
	return b.String()
}
