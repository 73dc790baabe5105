package aftercare_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

func TestParseOffset(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	tests := []struct {
		in   string
		want time.Duration
		err  string // part of the message; "" for success
	}{
		{"0s", 0, ""},
		{"0w", 0, ""},
		{"45s", 45 * time.Second, ""},
		{"90m", 90 * time.Minute, ""},
		{"24h", 24 * time.Hour, ""},
		{"3d", 3 * day, ""},
		{"2w", 14 * day, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"12h1d", 36 * time.Hour, ""},
		{"1w2d3h4m5s", 9*day + 3*time.Hour + 4*time.Minute + 5*time.Second, ""},
		{"007m", 7 * time.Minute, ""},
		{"366d", aftercare.MaxOffset, ""},
		{"52w2d", aftercare.MaxOffset, ""},
		{"31622400s", aftercare.MaxOffset, ""},
		{"", 0, "empty"},
		{"90", 0, "missing unit after 90"},
		{"m", 0, "a number must come before each unit"},
		{"1.5h", 0, "unknown unit '.'"},
		{"-1h", 0, "a number must come before each unit"},
		{"+1h", 0, "a number must come before each unit"},
		{"1 h", 0, "unknown unit ' '"},
		{" 1h", 0, "a number must come before each unit"},
		{"1H", 0, "unknown unit 'H'"},
		{"1y", 0, "unknown unit 'y'"},
		{"1ms", 0, "a number must come before each unit"},
		{"1m2m", 0, "unit 'm' given twice"},
		{"1h2h", 0, "unit 'h' given twice"},
		{"367d", 0, "longer than a year"},
		{"366d1s", 0, "longer than a year"},
		{"53w", 0, "longer than a year"},
		{"31622401s", 0, "too large"},
		{"99999999999999999999s", 0, "too large"},
		{"9223372036854775807w", 0, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := aftercare.ParseOffset(tt.in)
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseOffset(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseOffset(%q) = %v, want an error about %q", tt.in, got, tt.err)
			}
			if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseOffset(%q) error = %v (code %s), want EINVALID about %q", tt.in, err, aftercare.ErrorCode(err), tt.err)
			}
			if !strings.Contains(err.Error(), "e.g. 90m, 24h, 3d, 2w") {
				t.Errorf("the message does not say what to write: %v", err)
			}
		})
	}
}

func TestFormatOffset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{90 * time.Minute, "1h30m"},
		{36 * time.Hour, "1d12h"},
		{14 * 24 * time.Hour, "2w"},
		{aftercare.MaxOffset, "52w2d"},
		{time.Second, "1s"},
	}
	for _, tt := range tests {
		if got := aftercare.FormatOffset(tt.in); got != tt.want {
			t.Errorf("FormatOffset(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParseOffset checks that ParseOffset never panics, that what it accepts
// is within 0..MaxOffset, and that FormatOffset writes it back in a form
// ParseOffset reads as the same duration.
func FuzzParseOffset(f *testing.F) {
	for _, s := range []string{"0s", "90m", "24h", "3d", "2w", "1d12h", "1w2d3h4m5s", "366d", "367d", "", "1h2h", "99999999999999999999s", "1.5h", "-1h", "0000000000000000000001s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := aftercare.ParseOffset(s)
		if err != nil {
			if aftercare.ErrorCode(err) != aftercare.EINVALID {
				t.Fatalf("ParseOffset(%q): error code %q", s, aftercare.ErrorCode(err))
			}
			return
		}
		if d < 0 || d > aftercare.MaxOffset || d%time.Second != 0 {
			t.Fatalf("ParseOffset(%q) = %v, outside 0..MaxOffset or not whole seconds", s, d)
		}
		out := aftercare.FormatOffset(d)
		back, err := aftercare.ParseOffset(out)
		if err != nil || back != d {
			t.Fatalf("ParseOffset(%q) = %v; FormatOffset gives %q, which parses as %v, %v", s, d, out, back, err)
		}
		if again := aftercare.FormatOffset(back); again != out {
			t.Fatalf("FormatOffset is not stable: %q then %q", out, again)
		}
	})
}
