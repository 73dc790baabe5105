package aftercare_test

import (
	"testing"

	"github.com/aftercare/aftercare"
)

func TestMaskContacts(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, in, want string }{
		{"E164", "to +14155550100", "to +1********00"},
		{"E164Spaced", "The 'To' number +1 415 555 0100 is not valid", "The 'To' number +1***********00 is not valid"},
		{"UKSpaced", "+44 7700 900123", "+4***********23"},
		{"NANPParens", "call (415) 555-0100 now", "call (4**********00 now"},
		{"NANPDashes", "415-555-0100", "41********00"},
		{"BareDigits", "phone=4155550100;", "phone=41******00;"},
		{"Email", "550 5.1.1 <ana.ruiz+care@mail.example.com>: no such user", "550 5.1.1 <a***@mail.example.com>: no such user"},
		{"Both", "ana@example.com or +14155550100", "a***@example.com or +1********00"},
		{"MaskedStaysMasked", "a***@example.com +1********00", "a***@example.com +1********00"},
		{"DateKept", "2026-11-22T18:00:00Z", "2026-11-22T18:00:00Z"},
		{"AddressKept", "127.0.0.1:8080", "127.0.0.1:8080"},
		{"SIDKept", "SM0123456789012345678901234567890a", "SM0123456789012345678901234567890a"},
		{"IDsKept", "message 123456 clinic 2 latency_ms 87", "message 123456 clinic 2 latency_ms 87"},
		// The shortest number phoneLike takes, and one digit fewer
		// (MaskContacts skips the regexp below 7 digits).
		{"SevenDigits", "to +1234567.", "to +1****67."},
		{"SixDigitsKept", "to +123456.", "to +123456."},
		{"SMTPCodeKept", "550 5.7.1 relay denied", "550 5.7.1 relay denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := aftercare.MaskContacts(tt.in); got != tt.want {
				t.Errorf("MaskContacts(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
