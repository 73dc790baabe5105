package aftercare

import (
	"fmt"
	"unicode"
)

// invisibleRune says why r has no place in a name people read, or "" when
// it may stay. Text-direction controls can make a name display as another
// ("Ana\u202Eszil" shows as "Anazils"), and zero-width characters make two
// names that look the same differ (or one that looks empty).
func invisibleRune(r rune) string {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
		return "a text-direction control"
	case r >= 0x200B && r <= 0x200F, r == 0x2060, r == 0xFEFF:
		return "a zero-width character"
	case unicode.IsControl(r):
		return "a control character (a line break or tab?)"
	}
	return ""
}

// CheckNameChars refuses a name with control characters, text-direction
// controls (U+202A–U+202E, U+2066–U+2069) or zero-width characters
// (U+200B–U+200F, U+2060, U+FEFF): EINVALID naming field and the character.
func CheckNameChars(field, name string) error {
	for _, r := range name {
		if why := invisibleRune(r); why != "" {
			return FieldErrorf(field, "the name contains %s (%s): retype it rather than pasting it", why, fmt.Sprintf("U+%04X", r))
		}
	}
	return nil
}
