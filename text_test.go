package aftercare

import (
	"strings"
	"testing"
)

// TestNamesRefuseInvisibleCharacters: patient, clinic and user names with
// text-direction controls or zero-width characters are refused, naming the
// character; ordinary names from many scripts pass.
func TestNamesRefuseInvisibleCharacters(t *testing.T) {
	bad := []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
		0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0xFEFF, 0x2060}
	for _, r := range bad {
		name := "Ana" + string(r) + "Ruiz"
		_, err := ValidateName(name)
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "U+") {
			t.Errorf("ValidateName(%q): %v, want EINVALID naming the character", name, err)
		}
		c := &Clinic{Slug: "main", Name: "Glow" + string(r) + "Skin", TZ: "UTC", Window: Window{Start: DefaultWindowStart, End: DefaultWindowEnd}, DailyCap: 3}
		if err := c.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("Clinic.Validate with name %q: %v, want EINVALID", c.Name, err)
		}
	}
	for _, name := range []string{"Ana Ruiz", "José Ñúñez", "أحمد", "李小龙", "O'Brien-Smith", "Zoë"} {
		if _, err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
		if err := CheckNameChars("name", name); err != nil {
			t.Errorf("CheckNameChars(%q): %v", name, err)
		}
	}
}
