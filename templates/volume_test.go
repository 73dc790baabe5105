package templates_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

// volumeDoc is a protocol of n recurring steps on the given channels.
func volumeDoc(n int, channels, every string, from, to int) string {
	var b strings.Builder
	b.WriteString("slug: volume\nname: Volume\nlanguages: [en]\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - key: s%d\n    channels: [%s]\n    every: %q\n    from_day: %d\n    to_day: %d\n    text:\n      en:\n", i, channels, every, from, to)
		if strings.Contains(channels, "sms") {
			b.WriteString("        sms: \"{{.ClinicName}}: {{.FirstName}}, apply the cream.\"\n")
		}
		if strings.Contains(channels, "email") {
			b.WriteString("        email:\n          subject: \"Your care\"\n          body: \"{{.FirstName}}, apply the cream. {{.ClinicName}}\"\n")
		}
	}
	return b.String()
}

// Import refuses a protocol that plans more messages per patient than one
// enrollment may get, naming the count, and a step that fires more often
// than enrollment allows, with enrollment's own words.
func TestParseVolume(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		doc  string
		want string // "" for accepted
	}{
		{"OKFourStepsDaily", volumeDoc(4, "sms", "0 9 * * *", 1, 120), ""},
		{"OKFourTimesWeekly", volumeDoc(1, "sms, email", "0 8,12,16,20 * * 1", 1, 120), ""},
		{"OKFourTimesADayFor30Days", volumeDoc(1, "sms", "0 8,12,16,20 * * *", 1, 30), ""},
		{"ErrTooManyMessages", volumeDoc(200, "sms, email", "0 9 * * *", 1, 120),
			"this protocol plans up to 48,000 messages per patient; at most 500"},
		{"ErrJustOver", volumeDoc(5, "sms", "0 9 * * *", 1, 101), "plans up to 505 messages per patient"},
		{"ErrFourTimesADay", volumeDoc(1, "sms", "0 8,12,16,20 * * *", 1, 120),
			templates.TooOften("s0", 1, 120) + " (it can fire 480 times)"},
		{"ErrTwiceADayMonthStarts", volumeDoc(1, "sms", "0 9,21 1-31 * *", 0, 119), templates.TooOften("s0", 0, 119)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := templates.Parse("volume.yaml", []byte(c.doc))
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v\nwant EINVALID with %q", err, c.want)
			}
		})
	}
}
