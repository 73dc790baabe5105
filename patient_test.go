package aftercare

import (
	"strings"
	"testing"
)

// TestNormalizePhone: a number with its country code is judged by that
// country, whatever the clinic's; one without it by the clinic's, and the
// hint shows how the clinic's country writes a number in full.
func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, raw, region, want, errHas, errNot string
	}{
		{name: "OKNational", raw: "(415) 555-0100", region: "US", want: "+14155550100"},
		{name: "OKForeignWithCode", raw: "+44 7911 123456", region: "US", want: "+447911123456"},
		{name: "OKEmpty", raw: "  ", region: "US"},
		{name: "ErrForeignJudgedByItsCountry", raw: "+44 7700 900123", region: "US", errHas: "for GB (+44)", errNot: "US"},
		{name: "ErrNoSuchCountryCode", raw: "+999 1234 5678", region: "US", errHas: "no country's code"},
		{name: "ErrNationalHintUsesClinicCountry", raw: "07911 123456", region: "US", errHas: "for US; check the digits, or write it with its country code if it is from elsewhere (e.g. +1 "},
		{name: "ErrNationalGB", raw: "555-01", region: "GB", errHas: "(e.g. +44 "},
		{name: "ErrNotANumber", raw: "call me", region: "US", errHas: "is not a phone number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			if tt.errHas == "" {
				if err != nil || got != tt.want {
					t.Fatalf("got %q %v, want %q", got, err, tt.want)
				}
				return
			}
			msg := ErrorMessage(err)
			if ErrorCode(err) != EINVALID || !strings.Contains(msg, tt.errHas) || (tt.errNot != "" && strings.Contains(msg, tt.errNot)) {
				t.Fatalf("got %q (%v), want an error with %q", got, err, tt.errHas)
			}
		})
	}
}
