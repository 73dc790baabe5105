package templates

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// These tests read the built-in protocols as a patient gets them: how many
// texts and segments a month, whether a time-of-day word can arrive at the
// wrong time of day, when the red flags arrive, and whether the emails
// follow the plain-text format the HTML part is built from.

// timeWords are words that name a time of day, with the local hours (from,
// to) at which a message may say them. A step timed with after: or before:
// may not use any: quiet hours can carry it into the next morning.
var timeWords = []struct {
	re       *regexp.Regexp
	from, to int
}{
	{regexp.MustCompile(`(?i)\b(good morning|this morning|buenos días|esta mañana)\b`), 5, 12},
	{regexp.MustCompile(`(?i)\b(tonight|this evening|good evening|good night|esta noche|buenas noches|buenas tardes)\b`), 17, 24},
	{regexp.MustCompile(`(?i)\b(this afternoon|esta tarde)\b`), 12, 20},
	{regexp.MustCompile(`(?i)\b(today|tomorrow|hoy)\b|\bmañana\b`), 0, 24},
}

// TestBuiltinTimeWords checks that a time-of-day word is only used where
// the local hour of arrival is fixed and matches it. "cada mañana" (every
// morning) is a habit, not a time, and is allowed anywhere.
func TestBuiltinTimeWords(t *testing.T) {
	t.Parallel()
	for _, b := range Builtins() {
		p := parseBuiltin(t, b)
		for _, s := range p.Steps {
			for lang, st := range s.Text {
				for part, text := range map[string]string{"sms": st.SMS, "subject": st.EmailSubject, "body": st.EmailBody} {
					text = strings.ReplaceAll(strings.ReplaceAll(text, "cada mañana", ""), "every morning", "")
					for _, w := range timeWords {
						m := w.re.FindString(text)
						if m == "" {
							continue
						}
						var hour int
						switch s.Timing.Kind {
						case aftercare.TimingDayAt:
							hour = s.Timing.At.Hour()
						case aftercare.TimingEvery:
							sched, err := cronParser.Parse(s.Timing.Cron)
							if err != nil {
								t.Fatal(err)
							}
							hour = sched.Next(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)).Hour()
						default:
							t.Errorf("%s %s %s.%s says %q, but a step timed with %s can arrive at any hour: say it without a time of day", b.Slug, s.Key, lang, part, m, s.Timing.Kind)
							continue
						}
						if hour < w.from || hour >= w.to {
							t.Errorf("%s %s %s.%s says %q but arrives at %02d:00", b.Slug, s.Key, lang, part, m, hour)
						}
					}
				}
			}
		}
	}
}

// The budget of texts and segments and the plan by treatment hour are
// checked on the scheduler's real plans: scheduler/patient_view_test.go
// (TestBuiltinBudgetAsPlanned, TestBuiltinPlanByHour).

// TestBuiltinsHaveNoWarnings checks the standards the warnings stand for:
// every SMS starts with the clinic's name and gives its phone, and no SMS
// or subject names the treatment.
func TestBuiltinsHaveNoWarnings(t *testing.T) {
	t.Parallel()
	for _, b := range Builtins() {
		p, warns, err := ParseWithWarnings(b.Slug+".yaml", b.YAML)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range warns {
			t.Error(w.Warning())
		}
		if p.Treatment["en"] == "" || p.Treatment["es"] == "" {
			t.Errorf("%s: treatment = %v, want a name in en and es", b.Slug, p.Treatment)
		}
	}
}

// TestBuiltinEmailFormat checks the emails against the plain-text format
// the HTML part is made from (docs/protocols.md): paragraphs between blank
// lines; a heading is a paragraph of one short line without end
// punctuation, followed by another paragraph; "- " starts a list item and
// two spaces continue it. A heading line run into the text below it (no
// blank line) would become part of a sentence in HTML.
func TestBuiltinEmailFormat(t *testing.T) {
	t.Parallel()
	for _, b := range Builtins() {
		p := parseBuiltin(t, b)
		for _, s := range p.Steps {
			for lang, st := range s.Text {
				if st.EmailBody == "" {
					continue
				}
				where := b.Slug + " " + s.Key + " " + lang
				paras := strings.Split(strings.TrimSpace(st.EmailBody), "\n\n")
				if len(paras) < 3 {
					t.Errorf("%s: %d paragraphs, want a greeting, the text and a signature", where, len(paras))
				}
				for i, para := range paras {
					lines := strings.Split(para, "\n")
					for j, l := range lines {
						if strings.TrimSpace(l) == "" || strings.HasSuffix(l, " ") {
							t.Errorf("%s: paragraph %d line %d is blank or ends with a space: %q", where, i+1, j+1, l)
						}
						if strings.HasPrefix(l, "  ") && (j == 0 || !strings.HasPrefix(lines[j-1], "- ") && !strings.HasPrefix(lines[j-1], "  ")) {
							t.Errorf("%s: %q is indented but continues no list item", where, l)
						}
					}
					first := lines[0]
					heading := len(lines) == 1 && len([]rune(first)) <= 60 && !strings.ContainsAny(first[len(first)-1:], ".,;:!?")
					if heading && i == len(paras)-1 && !strings.Contains(first, "{{.ClinicName}}") {
						t.Errorf("%s: the last paragraph %q reads as a heading with nothing under it", where, first)
					}
					// A short first line without end punctuation followed by
					// prose in the same paragraph is a heading that lost its
					// blank line.
					if len(lines) > 1 && len([]rune(first)) <= 60 && !strings.ContainsAny(first[len(first)-1:], ".,;:!?") &&
						!strings.HasPrefix(first, "- ") && !strings.HasPrefix(lines[1], "- ") && !strings.HasPrefix(lines[1], "  ") &&
						len([]rune(first))+len([]rune(strings.Fields(lines[1])[0])) < 60 {
						t.Errorf("%s: %q looks like a heading run into its paragraph: put a blank line after it", where, first)
					}
				}
			}
		}
	}
}

// parseBuiltin parses a built-in protocol, failing the test if it does not
// parse.
func parseBuiltin(t *testing.T, b Builtin) *aftercare.Protocol {
	t.Helper()
	p, err := Parse(b.Slug+".yaml", b.YAML)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
