package scheduler

import (
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/aftercare/aftercare"
)

// Reading patients' replies: the carrier keywords, plain-language opt-outs
// and the warning signs of the protocols (../shared/aftercare-facts.md:
// redness getting worse, swelling, pain, pus, pimples, rash, hives; fever
// and bleeding), in English and Spanish.

// Classification is what a reply says.
type Classification struct {
	Kind aftercare.ReplyKind
	// Keyword is the carrier keyword the reply was (STOP, START, HELP, ...),
	// "PLAIN" for an opt-out in plain words, "" for any other text.
	Keyword string
	// RedFlags are the warning words found, in the order of the list.
	RedFlags []string
}

// The carrier keywords. A reply is one when, lower-cased and stripped of
// punctuation, it is the word alone, as carriers and Twilio match them.
var keywords = map[string]aftercare.ReplyKind{
	"stop": aftercare.ReplyStop, "stopall": aftercare.ReplyStop, "unsubscribe": aftercare.ReplyStop,
	"cancel": aftercare.ReplyStop, "end": aftercare.ReplyStop, "quit": aftercare.ReplyStop,
	"revoke": aftercare.ReplyStop, "optout": aftercare.ReplyStop,
	"start": aftercare.ReplyStart, "yes": aftercare.ReplyStart, "unstop": aftercare.ReplyStart,
	"help": aftercare.ReplyHelp, "info": aftercare.ReplyHelp,
}

// plainOptOut matches opt-outs in plain words. Each pattern names the
// messages themselves ("stop texting", "no more messages"), so that "can I
// stop retinol?" or "how do I stop the bleeding?" (questions about the
// treatment) are not read as opt-outs; the table test lists both kinds.
var plainOptOut = regexp.MustCompile(`\b(` + strings.Join([]string{
	// English
	`stop (texting|messaging|sending|contacting|txting|emailing)`,
	`stop (the |these |your |all |all the |all these |this )?(texts?|text messages|messages|msgs|sms|reminders|notifications)\b`,
	`no more (texts?|text messages|messages|msgs|sms|reminders|notifications)`,
	`(dont|do not|don t|stop|never) (text|message|contact) me`,
	`unsubscribe`, `opt (me )?out`, `optout`,
	`(take|remove) me (off|from)`,
	`(dont|do not|don t) want (any more|anymore|these|the|your|more) (texts?|messages|reminders)`,
	`stop receiving`,
	// Spanish (accents removed before matching)
	`no me (escriban|escribas|escriba|manden|mandes|envien|envies|mande|envie) mas`,
	`no (quiero|deseo) (recibir )?(mas )?(mensajes|textos|sms|recordatorios)`,
	`ya no (quiero|deseo) (recibir )?(mas )?(mensajes|textos|sms|recordatorios)`,
	`no mas (mensajes|textos|sms|recordatorios)`,
	`(dar|darme|dame|denme|de|den) de baja`,
	`(deja|dejen|deje|dejar) de (escribirme|enviarme|mandarme|escribir|enviar|mandar)`,
	`(cancelar|cancela|cancelen|parar|para|paren) (los |estos |mis )?(mensajes|textos|sms|recordatorios)`,
	`^(ya )?basta( ya)?$`, `basta de (mensajes|textos|sms|recordatorios)`,
}, "|") + `)`)

// redFlagWords are the warning signs; each entry is a word or stem (matched
// at a word start) and the sign it stands for. Spanish words are written
// without accents: replies are matched with theirs removed.
var redFlagWords = []struct{ pattern, sign string }{
	{`worse|worsening|getting redder|more red|redder`, "worse redness"},
	{`swell|swollen|puffy`, "swelling"},
	{`pain\b|pains|painful|hurts?\b|hurting|aching|burning|burns`, "pain"},
	{`pus\b|oozing|infect`, "pus"},
	{`pimple|spots|breakout|broke out|broken out|bumps`, "pimples"},
	{`rash`, "rash"},
	{`hives|welts`, "hives"},
	{`fever|feverish|temperature`, "fever"},
	{`bleed|blood`, "bleeding"},
	{`peor|empeora|mas roj|enrojec|muy roj`, "worse redness"},
	{`hinchad|hinchazon|inflamad|inflamacion`, "swelling"},
	{`duele|dolor|ardor|arde|quema`, "pain"},
	{`supura|infeccion|infectad`, "pus"},
	{`granito|granos|espinilla`, "pimples"},
	{`sarpullido|erupcion|salpullido`, "rash"},
	{`ronchas|urticaria`, "hives"},
	{`fiebre|calentura`, "fever"},
	{`sangr`, "bleeding"},
}

var redFlagRE = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(redFlagWords))
	for i, w := range redFlagWords {
		// A negation just before the word ("no pain", "sin dolor") does not
		// raise the flag; anything else does, questions included.
		out[i] = regexp.MustCompile(`(^|[^a-z])(` + w.pattern + `)`)
	}
	return out
}()

// negations that, as the word before a warning word, mean its absence.
var negations = map[string]bool{"no": true, "not": true, "without": true, "sin": true, "nada": true, "zero": true, "never": true}

// ClassifyReply reads a reply's text.
func ClassifyReply(body string) Classification {
	text := normalize(body)
	if k, ok := keywords[text]; ok {
		return Classification{Kind: k, Keyword: strings.ToUpper(text)}
	}
	var c Classification
	seen := map[string]bool{}
	for i, re := range redFlagRE {
		for _, loc := range re.FindAllStringSubmatchIndex(text, -1) {
			if negated(text[:loc[4]]) || seen[redFlagWords[i].sign] {
				continue
			}
			seen[redFlagWords[i].sign] = true
			c.RedFlags = append(c.RedFlags, redFlagWords[i].sign)
		}
	}
	switch {
	case plainOptOut.MatchString(text):
		c.Kind, c.Keyword = aftercare.ReplyStop, "PLAIN"
	case len(c.RedFlags) > 0:
		c.Kind = aftercare.ReplyRedFlag
	default:
		c.Kind = aftercare.ReplyText
	}
	return c
}

// negated reports whether the text before a warning word ends in a negation.
func negated(before string) bool {
	f := strings.Fields(before)
	return len(f) > 0 && negations[f[len(f)-1]]
}

// stripMarks returns a new transformer that removes accents. A Transformer
// chain keeps state between calls, so each text gets its own: one shared
// by concurrent requests corrupts its buffers (and panicked in the tests).
func stripMarks() transform.Transformer {
	return transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
}

// normalize lower-cases text, removes accents, turns punctuation into
// spaces (apostrophes vanish: "don't" is "don t") and collapses spaces.
func normalize(s string) string {
	if t, _, err := transform.String(stripMarks(), s); err == nil {
		s = t
	}
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return ' '
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
