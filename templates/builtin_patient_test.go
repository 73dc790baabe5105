package templates

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// These tests read the built-in protocols as a patient gets them: how many
// texts and segments a month, whether a time-of-day word can arrive at the
// wrong time of day, when the red flags arrive, and whether the emails
// follow the plain-text format the HTML part is built from.

// The treatment hours the built-ins are checked against: early, late
// afternoon, evening and late enough that the first hours fall in quiet
// hours.
var treatmentHours = []aftercare.Clock{7*60 + 45, 17*60 + 30, 19*60 + 45, 21*60 + 30}

// budgetFields are a clinic with a 25-character name and a patient with a
// common first name; dates come from the plan.
func budgetFields() Fields {
	return Fields{
		FirstName:   "Alexandra",
		ClinicName:  "Bayview Dermatology Group", // 25 characters
		ClinicPhone: "+1 415-555-0199",
		StepDates:   map[string]time.Time{},
	}
}

func parseBuiltin(t *testing.T, slug string) (*aftercare.Protocol, *Renderer) {
	t.Helper()
	for _, b := range Builtins() {
		if b.Slug == slug {
			return mustCompileFile(t, b.Slug+".yaml", b.YAML)
		}
	}
	t.Fatalf("no builtin %q", slug)
	return nil, nil
}

// planned is one occurrence of a step in a simple model of the scheduler.
type planned struct {
	step    *aftercare.Step
	n       int
	planned time.Time // the step's own time
	at      time.Time // when it goes out, after the window and the cap
	skipped string    // why it does not go out
}

// simulate plans the SMS of p for a treatment ending at treated, with the
// documented rules: a time in quiet hours moves to the window's next
// opening; a message that cannot go out before planned+expires is skipped;
// the daily cap never moves a high-priority step, lower priorities move to
// the next day first; an occurrence of an every: step pushed to another day
// is dropped. The scheduler owns the real rules; this is enough to read the
// built-ins as a patient would.
func simulate(t *testing.T, p *aftercare.Protocol, treated time.Time, capPerDay int) []planned {
	t.Helper()
	w := aftercare.Window{Start: aftercare.DefaultWindowStart, End: aftercare.DefaultWindowEnd}
	open := func(day time.Time) time.Time {
		y, m, d := day.Date()
		return time.Date(y, m, d, w.Start.Hour(), w.Start.Minute(), 0, 0, day.Location())
	}
	intoWindow := func(at time.Time) time.Time {
		c := aftercare.Clock(at.Hour()*60 + at.Minute())
		switch {
		case w.Contains(c):
			return at
		case c < w.Start:
			return open(at)
		}
		return open(at.AddDate(0, 0, 1))
	}
	var all []*planned
	for i := range p.Steps {
		s := &p.Steps[i]
		if !s.HasChannel(aftercare.SMS) {
			continue
		}
		for n, at := range occurrences(t, s.Timing, treated) {
			all = append(all, &planned{step: s, n: n, planned: at, at: intoWindow(at)})
		}
	}
	slices.SortStableFunc(all, func(a, b *planned) int { return a.at.Compare(b.at) })
	expired := func(x *planned) bool {
		if x.at.After(x.planned.Add(x.step.Expires)) {
			x.skipped = "expired"
			return true
		}
		return false
	}
	// Days in order; each day keeps its high steps, then the others by
	// priority and time, and moves the rest to the next day.
	pending := all
	var out []planned
	for len(pending) > 0 {
		day := pending[0].at.Format(time.DateOnly)
		var today, later []*planned
		for _, x := range pending {
			if x.skipped == "" && expired(x) {
				out = append(out, *x)
				continue
			}
			if x.at.Format(time.DateOnly) == day {
				today = append(today, x)
			} else {
				later = append(later, x)
			}
		}
		slices.SortStableFunc(today, func(a, b *planned) int { return cmp.Compare(b.step.Priority, a.step.Priority) })
		used := 0
		for _, x := range today {
			switch {
			case x.step.Priority == aftercare.PriorityHigh || used < capPerDay:
				used++
				out = append(out, *x)
			case x.step.Timing.Kind == aftercare.TimingEvery:
				x.skipped = "cap: a recurrence is not moved"
				out = append(out, *x)
			default:
				x.at = open(x.at.AddDate(0, 0, 1))
				later = append(later, x)
			}
		}
		slices.SortStableFunc(later, func(a, b *planned) int { return a.at.Compare(b.at) })
		pending = later
	}
	slices.SortStableFunc(out, func(a, b planned) int { return a.at.Compare(b.at) })
	return out
}

// renderSMS renders the SMS of a planned occurrence with the plan's dates.
func renderSMS(t *testing.T, r *Renderer, x planned, lang string, f Fields) string {
	t.Helper()
	txt, err := r.Render(x.step.Key, lang, aftercare.SMS, f)
	if err != nil {
		t.Fatal(err)
	}
	return txt.Body
}

// stepDates are the local dates of each step's first occurrence.
func stepDates(t *testing.T, p *aftercare.Protocol, treated time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, s := range p.Steps {
		if occ := occurrences(t, s.Timing, treated); len(occ) > 0 {
			out[s.Key] = occ[0]
		}
	}
	return out
}

// TestBuiltinSMSBudget counts what one patient of the microneedling
// protocol receives by SMS over the month, whatever the weekday and hour of
// the treatment and whether the clinic names the treatment: at most 12
// texts, and at most 20 segments in English and 30 in Spanish, counting a
// 25-character clinic name, the phone +1 415-555-0199, the real dates and
// the opt-out notice Aftercare adds to the first text.
func TestBuiltinSMSBudget(t *testing.T) {
	t.Parallel()
	p, r := parseBuiltin(t, "microneedling")
	maxSegments := map[string]int{"en": 20, "es": 30}
	worstTexts, worstSegs := map[string]int{}, map[string]int{}
	for _, lang := range p.Languages {
		for d := 0; d < 7; d++ { // every weekday, in September (the longest month names)
			for _, h := range treatmentHours {
				for _, name := range []string{"", p.Treatment[lang]} {
					treated := time.Date(2026, 9, 1+d, h.Hour(), h.Minute(), 0, 0, newYork)
					f := budgetFields()
					f.Treatment, f.TreatmentName, f.StepDates = treated, name, stepDates(t, p, treated)
					texts, segs := 0, 0
					var plan []string
					for _, x := range simulate(t, p, treated, 1000) { // every text, none capped away
						if x.skipped != "" {
							continue
						}
						body := renderSMS(t, r, x, lang, f)
						if texts == 0 {
							body, _ = aftercare.WithOptOutNotice(body, lang)
						}
						n, _ := Segments(body)
						texts++
						segs += n
						plan = append(plan, fmt.Sprintf("%s %-16s %d  %s", x.at.Format("Mon 01-02 15:04"), x.step.Key, n, body))
					}
					k := lang
					if texts > worstTexts[k] {
						worstTexts[k] = texts
					}
					if segs > worstSegs[k] {
						worstSegs[k] = segs
						if d == 0 && testing.Verbose() {
							t.Logf("%s, treated %s:\n%s", lang, treated.Format("Mon Jan 2 15:04"), strings.Join(plan, "\n"))
						}
					}
				}
			}
		}
		t.Logf("%s: at most %d texts, %d segments a patient", lang, worstTexts[lang], worstSegs[lang])
		if worstTexts[lang] > 12 {
			t.Errorf("%s: a patient gets up to %d texts, want at most 12", lang, worstTexts[lang])
		}
		if worstSegs[lang] > maxSegments[lang] {
			t.Errorf("%s: a patient gets up to %d segments, want at most %d", lang, worstSegs[lang], maxSegments[lang])
		}
	}
}

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
		p, err := Parse(b.Slug+".yaml", b.YAML)
		if err != nil {
			t.Fatal(err)
		}
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

// TestBuiltinPlanByHour reads the microneedling plan for treatments ending
// early, late afternoon, evening and late, with a daily cap of 3 and of 2:
// the welcome always goes out, at most 3 hours late unless the treatment
// ended in quiet hours; the red flags arrive 18 to 30 hours after the
// treatment; nothing moved by the cap says a time of day; and every lost
// message is one allowed to be lost (first-hours and the sunscreen
// reminders, and morning-care when the cap is 2).
func TestBuiltinPlanByHour(t *testing.T) {
	t.Parallel()
	p, _ := parseBuiltin(t, "microneedling")
	for _, capPerDay := range []int{3, 2} {
		for _, h := range treatmentHours {
			treated := time.Date(2026, 3, 3, h.Hour(), h.Minute(), 0, 0, newYork) // a Tuesday
			plan := simulate(t, p, treated, capPerDay)
			var lines []string
			got := map[string]bool{}
			for _, x := range plan {
				lines = append(lines, fmt.Sprintf("%s %-16s %s", x.at.Format("Mon 01-02 15:04"), x.step.Key, x.skipped))
				if x.skipped != "" {
					mayLose := x.step.Key == "first-hours" || x.step.Key == "sunscreen" || x.step.Key == "morning-care" && (capPerDay < 3 || h > 21*60)
					if !mayLose {
						t.Errorf("cap %d, treated %s: %s is lost (%s)", capPerDay, h, x.step.Key, x.skipped)
					}
					continue
				}
				got[x.step.Key] = true
				if x.step.Key == "red-flags" {
					if d := x.at.Sub(treated); d < 18*time.Hour || d > 30*time.Hour {
						t.Errorf("cap %d, treated %s: red-flags arrives %s after the treatment, want 18-30h", capPerDay, h, d)
					}
				}
				if x.step.Key == "first-hours" && x.at.Sub(treated) > 3*time.Hour {
					t.Errorf("cap %d, treated %s: first-hours arrives %s after the treatment", capPerDay, h, x.at.Sub(treated))
				}
			}
			if !got["welcome"] || !got["red-flags"] {
				t.Errorf("cap %d, treated %s: welcome %v, red-flags %v", capPerDay, h, got["welcome"], got["red-flags"])
			}
			t.Logf("cap %d, treated %s:\n%s", capPerDay, h, strings.Join(lines, "\n"))
		}
	}
}

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
		p, err := Parse(b.Slug+".yaml", b.YAML)
		if err != nil {
			t.Fatal(err)
		}
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
