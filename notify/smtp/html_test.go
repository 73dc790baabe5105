package smtp_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/smtp"
)

func TestBodyHTML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
	}{
		// Paragraphs.
		{"OKParagraphLinesJoined", "Keep the area dry\nfor 24 hours.\n\nSee you soon.",
			"<p>Keep the area dry for 24 hours.</p>\n<p>See you soon.</p>\n"},
		{"OKSeveralBlankLinesOneBreak", "One.\n\n\n\nTwo.", "<p>One.</p>\n<p>Two.</p>\n"},
		{"OKBlankLineWithSpacesSeparates", "One.\n   \t\nTwo.", "<p>One.</p>\n<p>Two.</p>\n"},
		{"OKLeadingIndentDropped", "  Keep it\n    dry.", "<p>Keep it dry.</p>\n"},
		{"OKEmptyBody", "", ""},
		{"OKOnlyWhiteSpace", " \n\n\t\r\n", ""},

		// Headings.
		{"OKHeading", "Hi Maria,\n\nThe first day\n\nKeep it dry.",
			"<p>Hi Maria,</p>\n<h2>The first day</h2>\n<p>Keep it dry.</p>\n"},
		{"OKHeadingOf60Chars", strings.Repeat("a", 60) + "\n\nText.", "<h2>" + strings.Repeat("a", 60) + "</h2>\n<p>Text.</p>\n"},
		{"OKHeadingCountsCharactersNotBytes", strings.Repeat("é", 60) + "\n\nText.", "<h2>" + strings.Repeat("é", 60) + "</h2>\n<p>Text.</p>\n"},
		{"OKHeadingBeforeList", "What to avoid\n\n- sun", "<h2>What to avoid</h2>\n<ul>\n<li>sun</li>\n</ul>\n"},
		{"NotHeadingGreetingComma", "Hi Maria,\n\nKeep it dry.", "<p>Hi Maria,</p>\n<p>Keep it dry.</p>\n"},
		{"NotHeadingGreetingColon", "Hola, Maria:\n\nNo se moje.", "<p>Hola, Maria:</p>\n<p>No se moje.</p>\n"},
		{"NotHeadingLastLine", "Keep it dry.\n\nYour care team at Glow", "<p>Keep it dry.</p>\n<p>Your care team at Glow</p>\n"},
		{"NotHeadingLastLineBeforeBlankLines", "Keep it dry.\n\nYour care team\n\n  \n", "<p>Keep it dry.</p>\n<p>Your care team</p>\n"},
		{"NotHeadingSentence", "Keep it dry.\n\nText.", "<p>Keep it dry.</p>\n<p>Text.</p>\n"},
		{"NotHeadingSemicolon", "Keep it dry;\n\nText.", "<p>Keep it dry;</p>\n<p>Text.</p>\n"},
		{"NotHeadingExclamation", "See you soon!\n\nText.", "<p>See you soon!</p>\n<p>Text.</p>\n"},
		{"NotHeadingQuestion", "Questions?\n\nCall us.", "<p>Questions?</p>\n<p>Call us.</p>\n"},
		{"NotHeadingTwoLines", "The first\nday\n\nText.", "<p>The first day</p>\n<p>Text.</p>\n"},
		{"NotHeadingOf61Chars", strings.Repeat("a", 61) + "\n\nText.", "<p>" + strings.Repeat("a", 61) + "</p>\n<p>Text.</p>\n"},
		{"NotHeadingListItem", "- sun\n\nText.", "<ul>\n<li>sun</li>\n</ul>\n<p>Text.</p>\n"},

		// Lists.
		{"OKList", "- retinol;\n- acids.", "<ul>\n<li>retinol;</li>\n<li>acids.</li>\n</ul>\n"},
		{"OKListWithLeadIn", "As your provider told you, please stop these until your\nappointment:\n- retinol;\n- acids.",
			"<p>As your provider told you, please stop these until your appointment:</p>\n<ul>\n<li>retinol;</li>\n<li>acids.</li>\n</ul>\n"},
		{"OKListItemContinued", "- exfoliating acids (AHAs,\n  BHAs, glycolic acid);\n- other products.",
			"<ul>\n<li>exfoliating acids (AHAs, BHAs, glycolic acid);</li>\n<li>other products.</li>\n</ul>\n"},
		{"OKListItemContinuedByTab", "- one\n\ttwo", "<ul>\n<li>one two</li>\n</ul>\n"},
		{"OKListItemSpacesAfterDash", "-   sun", "<ul>\n<li>sun</li>\n</ul>\n"},
		{"OKTextAfterListIsParagraph", "- sun\n- heat\nThen call us.", "<ul>\n<li>sun</li>\n<li>heat</li>\n</ul>\n<p>Then call us.</p>\n"},
		{"OKOneSpaceIndentAfterListIsParagraph", "- sun\n then call us.", "<ul>\n<li>sun</li>\n</ul>\n<p>then call us.</p>\n"},
		{"OKIndentedLineWithoutListIsText", "Keep it\n  dry.", "<p>Keep it dry.</p>\n"},
		{"NotListDashWithoutSpace", "-5 degrees\n-- note", "<p>-5 degrees -- note</p>\n"},
		{"NotListLoneDash", "Text\n-\nmore", "<p>Text - more</p>\n"},
		{"NotListDashInsideLine", "Day 1 - rest.", "<p>Day 1 - rest.</p>\n"},

		// Escaping.
		{"OKEscapesScript", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"OKEscapesAmpersandAndQuotes", `Sun & heat, "no" 'spa'`, "<p>Sun &amp; heat, &#34;no&#34; &#39;spa&#39;</p>\n"},
		{"OKEscapesInHeadingAndList", "<b>Care</b>\n\n- a<i>\n- &amp;", "<h2>&lt;b&gt;Care&lt;/b&gt;</h2>\n<ul>\n<li>a&lt;i&gt;</li>\n<li>&amp;amp;</li>\n</ul>\n"},
		{"OKUTF8Kept", "¿Dudas? Llámenos, señora.", "<p>¿Dudas? Llámenos, señora.</p>\n"},

		// Line ends and white space.
		{"OKCRLF", "Hi Ana,\r\n\r\nKeep it\r\ndry.\r\n", "<p>Hi Ana,</p>\n<p>Keep it dry.</p>\n"},
		{"OKCR", "Keep it\rdry.\r\rBye.", "<p>Keep it dry.</p>\n<p>Bye.</p>\n"},
		{"OKTrailingSpaces", "Day one   \n\nKeep it  \ndry.\t\n- sun \n", "<h2>Day one</h2>\n<p>Keep it dry.</p>\n<ul>\n<li>sun</li>\n</ul>\n"},

		// Links.
		{"OKURL", "See https://example.com/care?a=1&b=2 today.",
			`<p>See <a href="https://example.com/care?a=1&amp;b=2">https://example.com/care?a=1&amp;b=2</a> today.</p>` + "\n"},
		{"OKURLSentenceEnd", "Read http://example.com/a.", `<p>Read <a href="http://example.com/a">http://example.com/a</a>.</p>` + "\n"},
		{"OKURLInParentheses", "(see https://example.com/a_(b))", `<p>(see <a href="https://example.com/a_(b)">https://example.com/a_(b)</a>)</p>` + "\n"},
		{"OKURLEndsAtQuote", `"https://example.com/"onclick=x`, `<p>&#34;<a href="https://example.com/">https://example.com/</a>&#34;onclick=x</p>` + "\n"},
		{"OKURLEndsAtAngle", "https://example.com/<script>", `<p><a href="https://example.com/">https://example.com/</a>&lt;script&gt;</p>` + "\n"},
		{"OKURLUpperCaseScheme", "HTTPS://EXAMPLE.COM", `<p><a href="HTTPS://EXAMPLE.COM">HTTPS://EXAMPLE.COM</a></p>` + "\n"},
		{"NotURLWithoutHost", "https:// and https://.", "<p>https:// and https://.</p>\n"},
		{"NotURLOtherScheme", "javascript:alert(1) ftp://x.example", "<p>javascript:alert(1) ftp://x.example</p>\n"},
		{"NotURLInsideWord", "xhttps://example.com", "<p>xhttps://example.com</p>\n"},
		{"OKPhoneDisplayForm", "Call us at +1 415-555-0199.", `<p>Call us at <a href="tel:+14155550199">+1 415-555-0199</a>.</p>` + "\n"},
		{"OKPhoneE164", "Call +14155550199", `<p>Call <a href="tel:+14155550199">+14155550199</a></p>` + "\n"},
		{"OKPhoneAreaCodeInParentheses", "(+1 (415) 555-0199)", `<p>(<a href="tel:+14155550199">+1 (415) 555-0199</a>)</p>` + "\n"},
		{"OKPhoneUK", "Ring +44 20 7946 0958 now", `<p>Ring <a href="tel:+442079460958">+44 20 7946 0958</a> now</p>` + "\n"},
		{"OKPhoneFollowingNumberLeftOut", "+1 415 555 0199 2 times", `<p><a href="tel:+14155550199">+1 415 555 0199</a> 2 times</p>` + "\n"},
		{"OKPhoneInListItem", "- call +14155550199", `<ul>` + "\n" + `<li>call <a href="tel:+14155550199">+14155550199</a></li>` + "\n</ul>\n"},
		{"NotPhoneTooShort", "Room +1 123", "<p>Room +1 123</p>\n"},
		{"NotPhoneInvalid", "+999 1234 5678", "<p>+999 1234 5678</p>\n"},
		{"NotPhoneAfterLetter", "x+14155550199", "<p>x+14155550199</p>\n"},
		{"NotPhoneBeforeLetter", "+14155550199x", "<p>+14155550199x</p>\n"},
		{"NotPhoneWithoutCountryCode", "415-555-0199", "<p>415-555-0199</p>\n"},
		{"NotPhoneInsideURL", "https://example.com/?p=+14155550199",
			`<p><a href="https://example.com/?p=+14155550199">https://example.com/?p=+14155550199</a></p>` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := smtp.BodyHTML(tt.body); got != tt.want {
				t.Errorf("BodyHTML(%q)\n got %q\nwant %q", tt.body, got, tt.want)
			}
		})
	}
}

// TestBodyHTMLProtocolEmail: a whole email as the built-in protocols
// write it.
func TestBodyHTMLProtocolEmail(t *testing.T) {
	t.Parallel()
	body := `Hi Ana,

Your microneedling appointment at Glow Skin Studio is on
Saturday, March 14 at 3:00 PM.

Before your appointment

As your provider told you, please stop these from today until your
appointment:
- retinol and other retinoids;
- exfoliating acids (AHAs, BHAs,
  glycolic acid);
- any other active products your provider named.

If you are not sure whether a product counts, call us at
+1 415-555-0100.

Your care team at Glow Skin Studio
`
	want := `<p>Hi Ana,</p>
<p>Your microneedling appointment at Glow Skin Studio is on Saturday, March 14 at 3:00 PM.</p>
<h2>Before your appointment</h2>
<p>As your provider told you, please stop these from today until your appointment:</p>
<ul>
<li>retinol and other retinoids;</li>
<li>exfoliating acids (AHAs, BHAs, glycolic acid);</li>
<li>any other active products your provider named.</li>
</ul>
<p>If you are not sure whether a product counts, call us at <a href="tel:+14155550100">+1 415-555-0100</a>.</p>
<p>Your care team at Glow Skin Studio</p>
`
	if got := smtp.BodyHTML(body); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// allowedTag is every element the converter writes, without styles.
var allowedTag = regexp.MustCompile(`</?(?:p|h2|ul|li)>|<a href="[^"<>]*">|</a>`)

func FuzzBodyHTML(f *testing.F) {
	for _, s := range []string{
		"", "Hi Ana,\n\nHeading\n\nText\nmore.\n- a\n  b\n- c\nend",
		"<script>alert(1)</script> & \"q\"", "a\r\n\r\nb\rc", "- \n-  \n  - x",
		"https://example.com/<a>?q=\"x\" (https://x.y/(z)).", "+1 415-555-0199) +14155550199x +1 (415",
		"\xff\xfe<\x00", strings.Repeat("+1 ", 50),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got := smtp.BodyHTML(body)
		if n, m := strings.Count(body, "<"), strings.Count(got, "&lt;"); n != m {
			t.Errorf("%d < in the body, %d &lt; in the HTML:\n%q\n%q", n, m, body, got)
		}
		if rest := allowedTag.ReplaceAllString(got, ""); strings.ContainsAny(rest, "<>") {
			t.Errorf("HTML has markup the converter does not write:\n%q\n%q", body, got)
		}
		if strings.Contains(got, "<br") {
			t.Errorf("HTML has <br>:\n%q", got)
		}
	})
}

// TestSendHTMLPart sends a protocol-style email through the SMTP server and
// reads its parts back: the plain text exactly as written, the HTML with
// paragraphs, a heading and a list, and no <br> from the hard wraps.
func TestSendHTMLPart(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.Lang = "es"
	m.Body = "Hola, Ana:\n\nSu cita de microneedling en Glow es el sábado 14 de marzo\na las 15:00.\n\n" +
		"Antes de la cita\n\nComo le indicó su especialista, deje de usar desde hoy y hasta la\ncita:\n" +
		"- el retinol y otros retinoides;\n- los ácidos exfoliantes (AHA, BHA,\n  ácido glicólico).\n\n" +
		"Más información en https://glow.example/cuidados.\n\nSu equipo de Glow\n"
	_, p := sendOne(t, m) // parse checks both parts are UTF-8
	if p.text != m.Body {
		t.Errorf("text part %q; want the body as written %q", p.text, m.Body)
	}
	h := bare(p.html)
	for _, want := range []string{
		`<html lang="es">`,
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		"<p>Hola, Ana:</p>",
		"<p>Su cita de microneedling en Glow es el sábado 14 de marzo a las 15:00.</p>",
		"<h2>Antes de la cita</h2>",
		"<p>Como le indicó su especialista, deje de usar desde hoy y hasta la cita:</p>\n<ul>\n",
		"<li>el retinol y otros retinoides;</li>",
		"<li>los ácidos exfoliantes (AHA, BHA, ácido glicólico).</li>",
		`<a href="https://glow.example/cuidados">https://glow.example/cuidados</a>.`,
		"<p>Su equipo de Glow</p>",
		`<a href="tel:+14155550123">+1 415-555-0123</a>`, // the footer shows the phone as the bodies do
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, p.html)
		}
	}
	if strings.Contains(p.html, "<br") {
		t.Errorf("HTML part has <br>:\n%s", p.html)
	}
	// Inline styles: mail clients drop <style>; the text stays readable on a phone.
	for _, want := range []string{"max-width:", "font-size: 16px", `<p style="`, `<h2 style="`, `<ul style="`} {
		if !strings.Contains(p.html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, p.html)
		}
	}
}

// TestSendHTMLLang: the lang attribute is the message's language when it
// is a language tag, and left out otherwise.
func TestSendHTMLLang(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, lang, want string }{
		{"OKLanguage", "en", `<html lang="en">`},
		{"OKRegion", "es-MX", `<html lang="es-MX">`},
		{"OKNone", "", "<html>"},
		{"NotATag", `en"><script>`, "<html>"},
	}
	srv := newMailServer(t)
	s := newSender(t, srv)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := outgoing("ana@example.com")
			m.Lang = tt.lang
			if _, err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := srv.messages()
			p := parse(t, msgs[len(msgs)-1].Data)
			if !strings.Contains(p.html, tt.want) {
				t.Errorf("HTML part lacks %q:\n%s", tt.want, p.html)
			}
			if strings.Contains(p.html, "<script") {
				t.Errorf("HTML part has <script:\n%s", p.html)
			}
		})
	}
}

var styleAttr = regexp.MustCompile(` style="[^"]*"`)

// bare is HTML without its style attributes, to compare elements.
func bare(html string) string { return styleAttr.ReplaceAllString(html, "") }

// TestFooterPhoneAsInTheBody: the footer shows the clinic's phone as the
// message bodies do (+1 415-555-0199), and dials the E.164 number.
func TestFooterPhoneAsInTheBody(t *testing.T) {
	t.Parallel()
	got := smtp.RenderHTML(&aftercare.Outgoing{Channel: aftercare.Email, Body: "Hi Ana,", ClinicName: "Glow Skin Studio", ClinicPhone: "+14155550199"})
	if !strings.Contains(got, `<a href="tel:+14155550199" style="color: #555;">+1 415-555-0199</a>`) {
		t.Errorf("footer:\n%s", got)
	}
}
