package smtp

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
)

// The HTML part of an email is made from its plain-text body, which is
// written to this convention (docs/protocols.md):
//
//   - Paragraphs are separated by blank lines. The lines of a paragraph are
//     joined with single spaces into one <p>: the plain text's hard wraps
//     suit plain-text readers, while HTML wraps to the reader's screen.
//   - A heading is a paragraph of exactly one line, at most 60 characters,
//     not ending in . , ; : ! or ?, and followed by another paragraph. It
//     becomes <h2>. So "Hi Maria," is not a heading, nor is the signature
//     on the last line.
//   - A line starting with "- " is a list item; the items of a paragraph
//     make one <ul>. Lines before the first item are a lead-in <p>; a line
//     indented by two or more spaces (or a tab) continues the item above;
//     any other line after a list starts a new <p>.
//   - All text is escaped. http:// and https:// URLs become links, and a
//     valid phone number written with its country code (+14155550199,
//     +1 415-555-0199) becomes a tel: link.
//
// Trailing white space is ignored and CRLF or CR line ends read as LF.

// maxHeading is the longest heading, in characters: a longer single line
// is a sentence that happens to stand alone.
const maxHeading = 60

// Inline styles, because many mail clients drop a <style> element.
const (
	styleBody = "margin: 0; padding: 0;"
	styleWrap = "font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; font-size: 16px; line-height: 1.5; color: #222; max-width: 36em; margin: 0 auto; padding: 16px;"
)

// emailStyles is the style attribute of each element the converter writes.
var emailStyles = map[string]string{
	"p":  "margin: 0 0 1em;",
	"h2": "font-size: 20px; line-height: 1.3; margin: 1.5em 0 0.5em;",
	"ul": "margin: 0 0 1em; padding-left: 1.5em;",
	"li": "margin: 0 0 0.25em;",
	"a":  "color: #0b57d0;",
}

// renderHTML is the HTML alternative of m.Body (see the convention above),
// then a footer with the clinic's name and phone and the unsubscribe
// link (unsubscribe.go). Nothing is loaded from
// elsewhere (no images, fonts or styles by URL): mail clients block remote
// content and it would tell a tracker when the patient read the message.
func renderHTML(m *aftercare.Outgoing) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html")
	if langTag.MatchString(m.Lang) {
		b.WriteString(` lang="` + m.Lang + `"`)
	}
	b.WriteString("><head><meta charset=\"utf-8\">")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
	b.WriteString("<title>")
	b.WriteString(html.EscapeString(oneLine(m.Subject)))
	b.WriteString("</title></head>\n")
	b.WriteString(`<body style="` + styleBody + `">` + "\n")
	b.WriteString(`<div style="` + styleWrap + `">` + "\n")
	writeBody(&b, plainBody(m), emailStyles)
	if m.ClinicName != "" || m.ClinicPhone != "" || m.UnsubscribeURL != "" {
		b.WriteString("<hr style=\"border: none; border-top: 1px solid #ddd; margin-top: 2em;\">\n")
	}
	if m.ClinicName != "" || m.ClinicPhone != "" {
		b.WriteString("<p style=\"font-size: 14px; color: #555;\">")
		b.WriteString(html.EscapeString(oneLine(m.ClinicName)))
		if m.ClinicPhone != "" {
			if m.ClinicName != "" {
				b.WriteString(" &middot; ")
			}
			// The link dials the E.164 number; the text shows it as the
			// message bodies do (+1 415-555-0199), not as stored.
			phone := oneLine(m.ClinicPhone)
			b.WriteString("<a href=\"tel:")
			b.WriteString(html.EscapeString(phone))
			b.WriteString("\" style=\"color: #555;\">")
			b.WriteString(html.EscapeString(aftercare.DisplayPhone(phone)))
			b.WriteString("</a>")
		}
		b.WriteString("</p>\n")
	}
	if m.UnsubscribeURL != "" {
		b.WriteString("<p style=\"font-size: 14px; color: #555;\">")
		b.WriteString(html.EscapeString(stopLine(m.Lang)) + " ")
		writeLink(&b, m.UnsubscribeURL, m.UnsubscribeURL, "color: #555;")
		b.WriteString("</p>\n")
	}
	b.WriteString("</div>\n</body></html>\n")
	return b.String()
}

// langTag is a BCP 47 language tag ("en", "es-MX"); anything else is left
// out of the lang attribute rather than escaped into it.
var langTag = regexp.MustCompile(`^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$`)

type blockKind int

const (
	blockPara blockKind = iota
	blockHeading
	blockList
)

// block is one HTML block element of a body.
type block struct {
	kind  blockKind
	text  string   // blockPara, blockHeading
	items []string // blockList
}

// writeBody writes the HTML of a plain-text body: the blocks only, no
// document around them. styles maps an element name to its style
// attribute; nil writes bare elements.
func writeBody(b *strings.Builder, body string, styles map[string]string) {
	open := func(tag string) {
		b.WriteString("<" + tag)
		if s := styles[tag]; s != "" {
			b.WriteString(` style="` + s + `"`)
		}
		b.WriteString(">")
	}
	for _, bl := range parseBody(body) {
		switch bl.kind {
		case blockHeading:
			open("h2")
			writeInline(b, bl.text, styles["a"])
			b.WriteString("</h2>\n")
		case blockPara:
			open("p")
			writeInline(b, bl.text, styles["a"])
			b.WriteString("</p>\n")
		case blockList:
			open("ul")
			b.WriteString("\n")
			for _, it := range bl.items {
				open("li")
				writeInline(b, it, styles["a"])
				b.WriteString("</li>\n")
			}
			b.WriteString("</ul>\n")
		}
	}
}

// parseBody splits a plain-text body into blocks.
func parseBody(body string) []block {
	paras := paragraphs(body)
	var out []block
	for i, lines := range paras {
		if i < len(paras)-1 && isHeading(lines) {
			out = append(out, block{kind: blockHeading, text: strings.TrimSpace(lines[0])})
			continue
		}
		out = append(out, paragraphBlocks(lines)...)
	}
	return out
}

// paragraphs returns the non-blank lines of body, trailing white space
// removed, grouped by the blank lines between them.
func paragraphs(body string) [][]string {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	var paras [][]string
	var cur []string
	for _, l := range strings.Split(body, "\n") {
		l = strings.TrimRightFunc(l, unicode.IsSpace)
		if l == "" {
			if cur != nil {
				paras = append(paras, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, l)
	}
	if cur != nil {
		paras = append(paras, cur)
	}
	return paras
}

// isHeading reports whether a paragraph (not the last) is a heading.
func isHeading(lines []string) bool {
	if len(lines) != 1 || isItem(lines[0]) {
		return false
	}
	t := strings.TrimSpace(lines[0])
	if t == "" || utf8.RuneCountInString(t) > maxHeading {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(t)
	return !strings.ContainsRune(".,;:!?", last)
}

func isItem(l string) bool { return strings.HasPrefix(l, "- ") }

// isContinuation reports whether l is indented by two or more spaces or a
// tab, which continues the list item above it.
func isContinuation(l string) bool {
	return strings.HasPrefix(l, "  ") || strings.HasPrefix(l, "\t") || strings.HasPrefix(l, " \t")
}

// paragraphBlocks turns one paragraph into a <p>, a <ul>, or a lead-in
// <p> and a <ul> (and so on, when text follows a list).
func paragraphBlocks(lines []string) []block {
	var out []block
	var text, items []string
	flushText := func() {
		if len(text) > 0 {
			out = append(out, block{kind: blockPara, text: strings.Join(text, " ")})
			text = nil
		}
	}
	flushList := func() {
		if len(items) > 0 {
			out = append(out, block{kind: blockList, items: items})
			items = nil
		}
	}
	for _, l := range lines {
		switch {
		case isItem(l):
			flushText()
			items = append(items, strings.TrimSpace(l[2:]))
		case len(items) > 0 && isContinuation(l):
			items[len(items)-1] += " " + strings.TrimSpace(l)
		default:
			flushList()
			text = append(text, strings.TrimSpace(l))
		}
	}
	flushText()
	flushList()
	return out
}

// urlPattern finds http(s) URLs; the characters that end one are those
// that cannot be in it unescaped, and quotes that commonly surround it.
var urlPattern = regexp.MustCompile(`(?i)\bhttps?://[^\s<>"'«»“”‘’]+`)

// writeInline writes s escaped, with its URLs and phone numbers as links
// whose style attribute is aStyle.
func writeInline(b *strings.Builder, s, aStyle string) {
	prev := 0
	for _, loc := range urlPattern.FindAllStringIndex(s, -1) {
		start, end := loc[0], trimURL(s, loc[0], loc[1])
		if end <= start {
			continue
		}
		writePhones(b, s[prev:start], aStyle)
		writeLink(b, s[start:end], s[start:end], aStyle)
		prev = end
	}
	writePhones(b, s[prev:], aStyle)
}

// trimURL returns where the URL s[start:end] really ends: punctuation that
// ends the sentence and an unmatched closing parenthesis are not part of
// it. It returns start when no host is left.
func trimURL(s string, start, end int) int {
	unmatched := strings.Count(s[start:end], ")") - strings.Count(s[start:end], "(")
	for end > start {
		c := s[end-1]
		switch {
		case strings.IndexByte(".,;:!?", c) >= 0:
			end--
		case c == ')' && unmatched > 0:
			end--
			unmatched--
		default:
			u := s[start:end]
			rest := u[strings.Index(u, "://")+3:]
			if rest == "" || !isAlnum(rest[0]) {
				return start
			}
			return end
		}
	}
	return start
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

func writeLink(b *strings.Builder, href, text, aStyle string) {
	b.WriteString(`<a href="` + html.EscapeString(href) + `"`)
	if aStyle != "" {
		b.WriteString(` style="` + aStyle + `"`)
	}
	b.WriteString(">" + html.EscapeString(text) + "</a>")
}

// phonePattern finds what may be a phone number with its country code:
// digits after a +, in groups separated by one space, dot or hyphen, the
// area code perhaps in parentheses. Only candidates that parse as a valid
// number with the same digits become links.
var phonePattern = regexp.MustCompile(`\+\d+(?:[ .\-]?\(?\d+\)?)*`)

// writePhones writes s escaped, with its phone numbers as tel: links.
func writePhones(b *strings.Builder, s, aStyle string) {
	prev := 0
	for _, loc := range phonePattern.FindAllStringIndex(s, -1) {
		start, end := loc[0], loc[1]
		if r, _ := utf8.DecodeLastRuneInString(s[:start]); start > 0 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '+') {
			continue
		}
		if r, _ := utf8.DecodeRuneInString(s[end:]); end < len(s) && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			continue
		}
		e164, n := phoneAt(s[start:end])
		if n == 0 {
			continue
		}
		b.WriteString(html.EscapeString(s[prev:start]))
		writeLink(b, "tel:"+e164, s[start:start+n], aStyle)
		prev = start + n
	}
	b.WriteString(html.EscapeString(s[prev:]))
}

// phoneAt returns the E.164 form and length of the phone number at the
// start of c, dropping trailing groups that are not part of it ("+1
// 415-555-0199 2 times"); n is 0 when there is none.
func phoneAt(c string) (e164 string, n int) {
	for range 4 {
		c = strings.TrimRight(c, " .-(")
		if strings.HasSuffix(c, ")") && strings.Count(c, "(") < strings.Count(c, ")") {
			c = c[:len(c)-1]
		}
		if d := digits(c); len(d) >= 7 && len(d) <= 15 {
			if p, err := aftercare.NormalizePhone(c, ""); err == nil && p == "+"+d {
				return p, len(c)
			}
		}
		i := strings.LastIndexAny(c, " .-(")
		if i <= 0 {
			break
		}
		c = c[:i]
	}
	return "", 0
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}
