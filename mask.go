package aftercare

import "regexp"

// Patterns of what MaskContacts hides. Phone numbers are written in many
// ways; these catch the ways Aftercare and its providers write them
// (E.164, "+1 415 555 0100", "(415) 555-0100") and any bare run of 10 to 15
// digits. Dates, times, IP addresses, ids and Twilio SIDs do not match;
// a 10-digit Unix time would, which costs a log line a number, not a
// patient their privacy.
var (
	phoneLike = regexp.MustCompile(`\+\d(?:[ .\-()]{0,2}\d){6,14}|\(?\b\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}\b|\b\d{10,15}\b`)
	emailLike = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+`)
)

// MaskContacts returns s with everything that looks like a phone number or
// an email address masked (MaskPhone, MaskEmail). Logs pass every value
// through it as a safety net: code that logs a patient's number masks it
// itself, and this catches what slips through (a provider's error message
// that quotes the number back, an address inside an error).
func MaskContacts(s string) string {
	// Most log values need no regexp: an email has an @, and each of
	// phoneLike's forms has at least 7 digits (a number masked already,
	// "+1********00", has 3).
	at, digits := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '@':
			at = true
		case c >= '0' && c <= '9':
			digits++
		}
	}
	if at {
		s = emailLike.ReplaceAllStringFunc(s, MaskEmail)
	}
	if digits >= minPhoneDigits {
		s = phoneLike.ReplaceAllStringFunc(s, MaskPhone)
	}
	return s
}

// minPhoneDigits is the fewest digits phoneLike matches: "+" and 7.
const minPhoneDigits = 7
