package aftercare

import (
	"strings"
)

// The opt-out notice US carriers expect on the first text a number gets
// from a sender (CTIA's Messaging Principles and Best Practices). Aftercare
// adds it to the first SMS it sends on an enrollment, whatever the
// protocol says, so that no clinic has to write it into each protocol.
// The keywords stay in English in every language: carriers act on STOP
// and HELP, not on their translations.
var optOutNotices = map[string]string{
	"en": "Reply STOP to opt out, HELP for help. Msg & data rates may apply.",
	"es": "Responda STOP para no recibir más, HELP para ayuda. Pueden aplicarse tarifas de mensajes y datos.",
}

// OptOutNotice returns the opt-out notice in lang ("es-MX" reads "es"),
// English for a language it does not have.
func OptOutNotice(lang string) string { return InLang(optOutNotices, lang) }

// InLang returns the entry of byLang for lang's base language ("es-MX"
// reads "es"), or the English one ("en") for a language it does not have:
// the lookup of every fixed wording Aftercare adds to messages and pages.
func InLang[T any](byLang map[string]T, lang string) T {
	base, _, _ := strings.Cut(lang, "-")
	if v, ok := byLang[base]; ok {
		return v
	}
	return byLang["en"]
}

// WithOptOutNotice returns an SMS body with the notice of lang added on a
// line of its own, and its segments; a body that already ends with the
// notice is returned as it is.
func WithOptOutNotice(body, lang string) (string, int) {
	n := OptOutNotice(lang)
	if !strings.HasSuffix(body, n) {
		body = body + "\n" + n
	}
	segs, _ := Segments(body)
	return body, segs
}

// HasOptOutNotice reports whether an SMS body carries the notice of lang.
func HasOptOutNotice(body, lang string) bool {
	return strings.HasSuffix(body, OptOutNotice(lang))
}
