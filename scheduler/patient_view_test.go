package scheduler_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// The built-in protocols as patients get them: treatments ending at four
// local hours, on an ordinary day and on the Saturdays before both DST
// changes in New York, in English and Spanish, under the default cap (3)
// and the README's example (2).
var (
	viewZone  = "America/New_York"
	viewTimes = []string{"07:45", "17:30", "19:45", "21:30"}
	viewDays  = []struct{ name, date string }{
		{"ordinary", "2026-06-10"},
		{"spring-forward", "2026-03-07"}, // clocks go forward on Sunday 8 March, 02:00
		{"fall-back", "2026-10-31"},      // clocks go back on Sunday 1 November, 02:00
	}
	viewLangs = []string{"en", "es"}
	viewCaps  = []int{3, 2}
)

type viewCase struct {
	protocol, lang, day, at string
	cap                     int
	treated                 time.Time
	msgs                    []*aftercare.Message
}

// builtin parses and compiles a built-in protocol.
func builtin(t *testing.T, slug string) (*aftercare.Protocol, *templates.Renderer) {
	t.Helper()
	for _, b := range templates.Builtins() {
		if b.Slug != slug {
			continue
		}
		p, err := templates.Parse(b.Slug+".yaml", b.YAML)
		if err != nil {
			t.Fatal(err)
		}
		r, err := templates.Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		return p, r
	}
	t.Fatalf("no built-in protocol %q", slug)
	return nil, nil
}

// viewClinic is a clinic of the views: a 16-character name, the default
// send window, the given cap.
func viewClinic(cap int) *aftercare.Clinic {
	return &aftercare.Clinic{ID: 1, Slug: "main", Name: "Glow Skin Studio", Phone: "+14155550199", Country: "US", TZ: viewZone,
		Window: aftercare.Window{Start: aftercare.DefaultWindowStart, End: aftercare.DefaultWindowEnd}, DailyCap: cap}
}

// viewPatient consented to both channels when treated.
func viewPatient(lang string, treated time.Time) *aftercare.Patient {
	consent := aftercare.Consent{At: treated, Source: "test"}
	return &aftercare.Patient{Name: "Alex Morgan", Phone: "+14155550100", Email: "alex@example.com", TZ: viewZone, Lang: lang,
		SMSConsent: consent, EmailConsent: consent}
}

// patientViews expands every built-in protocol for every case.
func patientViews(t *testing.T) []viewCase {
	t.Helper()
	loc, err := time.LoadLocation(viewZone)
	if err != nil {
		t.Fatal(err)
	}
	var out []viewCase
	for _, b := range templates.Builtins() {
		p, r := builtin(t, b.Slug)
		for _, lang := range viewLangs {
			for _, cap := range viewCaps {
				for _, d := range viewDays {
					for _, at := range viewTimes {
						treated, err := aftercare.ParseTreatmentTime(d.date+"T"+at, loc)
						if err != nil {
							t.Fatal(err)
						}
						msgs, err := scheduler.Expand(scheduler.Plan{Protocol: p, Renderer: r, Clinic: viewClinic(cap), Patient: viewPatient(lang, treated), TreatedAt: treated})
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, viewCase{b.Slug, lang, d.name, at, cap, treated, msgs})
					}
				}
			}
		}
	}
	return out
}

// TestPatientViewGolden: what each patient gets, when, and what was moved
// or dropped and why, in testdata/patient-view/. Read a diff of these files
// as the patient who gets each text at that hour on a lock screen.
func TestPatientViewGolden(t *testing.T) {
	t.Parallel()
	files := map[string]*strings.Builder{}
	var order []string
	for _, c := range patientViews(t) {
		name := fmt.Sprintf("%s.%s.cap%d.txt", c.protocol, c.lang, c.cap)
		b := files[name]
		if b == nil {
			b = &strings.Builder{}
			files[name] = b
			order = append(order, name)
		}
		writeView(b, c)
	}
	for _, name := range order {
		path := filepath.Join("testdata", "patient-view", name)
		got := files[name].String()
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run `go test ./scheduler -run PatientView -update` to create it)", err)
		}
		if string(want) != got {
			t.Errorf("%s differs from the output; if the change is intended, run `go test ./scheduler -run PatientView -update` and read the diff", path)
		}
	}
}

func writeView(b *strings.Builder, c viewCase) {
	loc, _ := time.LoadLocation(viewZone)
	sms, segs := 0, 0
	for _, m := range c.msgs {
		if m.Channel == aftercare.SMS && m.Status == aftercare.StatusPending {
			sms++
			segs += m.Segments
		}
	}
	fmt.Fprintf(b, "=== %s treatment ending %s %s (%s): %d SMS, %d segments\n", c.day, c.treated.In(loc).Format("Mon 2006-01-02"), c.at, viewZone, sms, segs)
	for _, m := range c.msgs {
		fmt.Fprintf(b, "%s  %-8s %-5s %-18s", m.SendAt.In(loc).Format("Mon 01-02 15:04 MST"), m.Status, m.Channel, m.StepKey+occ(m))
		if m.Channel == aftercare.SMS {
			fmt.Fprintf(b, " %d seg", m.Segments)
		}
		b.WriteString("\n")
		if m.Note != "" {
			fmt.Fprintf(b, "    note: %s\n", m.Note)
		}
		if m.Status != aftercare.StatusPending {
			continue
		}
		if m.Channel == aftercare.SMS {
			fmt.Fprintf(b, "    %s\n", strings.ReplaceAll(m.Body, "\n", "\n    "))
		} else {
			fmt.Fprintf(b, "    Subject: %s\n", m.Subject)
		}
	}
	b.WriteString("\n")
}

func occ(m *aftercare.Message) string {
	if m.Occurrence == 0 {
		return ""
	}
	return fmt.Sprintf("#%d", m.Occurrence)
}

// timeWords are words that say what time of day a message arrives, and the
// local hours [from, to) at which a message may say them.
var timeWords = []struct {
	re       *regexp.Regexp
	from, to int
}{
	{regexp.MustCompile(`(?i)\b(tonight|this evening|esta noche|buenas noches)\b`), 12, 24},
	{regexp.MustCompile(`(?i)\b(this afternoon|esta tarde|good afternoon|buenas tardes)\b`), 12, 19},
	{regexp.MustCompile(`(?i)(\bthis morning\b|\bgood morning\b|\besta mañana\b|\bbuenos días\b)`), 0, 12},
}

// TestTimeWordsMatchArrival: no message says "tonight" at breakfast or
// "good morning" at dinner, whatever the hour of the treatment, the cap or
// the DST weekend.
func TestTimeWordsMatchArrival(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation(viewZone)
	for _, c := range patientViews(t) {
		for _, m := range c.msgs {
			if m.Status != aftercare.StatusPending {
				continue
			}
			hour := m.SendAt.In(loc).Hour()
			for _, w := range timeWords {
				for _, text := range []string{m.Subject, m.Body} {
					if word := w.re.FindString(text); word != "" && (hour < w.from || hour >= w.to) {
						t.Errorf("%s %s cap %d, %s treatment at %s: %s %s says %q but arrives at %s",
							c.protocol, c.lang, c.cap, c.day, c.at, m.StepKey+occ(m), m.Channel, word, m.SendAt.In(loc).Format("15:04"))
					}
				}
			}
		}
	}
}

// TestTimeWordsCaught: the scan above finds the words it looks for.
func TestTimeWordsCaught(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"Tonight, leave it on", "Good morning Ana", "Esta noche deje", "Buenos días, Ana", "this evening"} {
		found := false
		for _, w := range timeWords {
			found = found || w.re.MatchString(s)
		}
		if !found {
			t.Errorf("%q is not caught", s)
		}
	}
}

// TestImportantStepsNeverMovedByCap: welcome and red flags go at their
// planned hour (or the window's opening) whatever the cap.
func TestImportantStepsNeverMovedByCap(t *testing.T) {
	t.Parallel()
	for _, c := range patientViews(t) {
		for _, m := range c.msgs {
			if strings.Contains(m.Note, "daily cap") && (strings.Contains(m.StepKey, "welcome") || strings.Contains(m.StepKey, "red-flags")) {
				t.Errorf("%s %s cap %d, %s at %s: %s moved by the cap: %s", c.protocol, c.lang, c.cap, c.day, c.at, m.Ident(), m.Note)
			}
		}
	}
}

// TestNoTextTwiceADay: a patient never gets the same step twice on one
// local day.
func TestNoTextTwiceADay(t *testing.T) {
	t.Parallel()
	loc, _ := time.LoadLocation(viewZone)
	for _, c := range patientViews(t) {
		seen := map[string]bool{}
		for _, m := range c.msgs {
			if m.Status != aftercare.StatusPending {
				continue
			}
			k := m.StepKey + "/" + string(m.Channel) + "/" + m.SendAt.In(loc).Format("2006-01-02")
			if seen[k] {
				t.Errorf("%s %s cap %d, %s at %s: %s twice on one day", c.protocol, c.lang, c.cap, c.day, c.at, k)
			}
			seen[k] = true
		}
	}
}

// TestBuiltinBudgetAsPlanned: as the scheduler plans them (the notice
// included), no patient gets more than 12 texts of the built-in aftercare,
// nor more than 20 segments in English or 30 in Spanish: for the views
// above, and for every weekday of a September (the longest month names)
// with no cap, the treatment named and a 25-character clinic name: the
// most text there can be.
func TestBuiltinBudgetAsPlanned(t *testing.T) {
	t.Parallel()
	maxSegs := map[string]int{"en": 20, "es": 30}
	cases := patientViews(t)
	loc, _ := time.LoadLocation(viewZone)
	p, r := builtin(t, "microneedling")
	for d := 0; d < 7; d++ {
		for _, at := range viewTimes {
			for _, lang := range viewLangs {
				treated, err := aftercare.ParseTreatmentTime(fmt.Sprintf("2026-09-%02dT%s", 1+d, at), loc)
				if err != nil {
					t.Fatal(err)
				}
				clinic := viewClinic(50)
				clinic.ShowTreatment, clinic.Name = true, "Bayview Dermatology Group" // 25 characters
				patient := viewPatient(lang, treated)
				patient.Name = "Alexandra Morgan"
				msgs, err := scheduler.Expand(scheduler.Plan{Protocol: p, Renderer: r, Clinic: clinic, Patient: patient, TreatedAt: treated})
				if err != nil {
					t.Fatal(err)
				}
				cases = append(cases, viewCase{"microneedling", lang, treated.Format("Mon Jan 2"), at, 50, treated, msgs})
			}
		}
	}
	for _, c := range cases {
		sms, segs := 0, 0
		for _, m := range c.msgs {
			if m.Channel == aftercare.SMS && m.Status == aftercare.StatusPending {
				sms++
				segs += m.Segments
			}
		}
		if sms > 12 || segs > maxSegs[c.lang] {
			t.Errorf("%s %s cap %d, %s at %s: %d texts, %d segments; at most 12 and %d", c.protocol, c.lang, c.cap, c.day, c.at, sms, segs, maxSegs[c.lang])
		}
	}
}

// TestBuiltinPlanByHour reads the microneedling plan as the scheduler makes
// it, for every view: the welcome and the red flags always go out, the red
// flags 18 to 30 hours after the treatment; the first hours' text, when it
// goes, within 3 hours; and a text is lost only if it is one that may be
// (the first hours' text, a sunscreen reminder).
func TestBuiltinPlanByHour(t *testing.T) {
	t.Parallel()
	for _, c := range patientViews(t) {
		if c.protocol != "microneedling" {
			continue
		}
		got := map[string]bool{}
		for _, m := range c.msgs {
			if m.Channel != aftercare.SMS {
				continue
			}
			if m.Status != aftercare.StatusPending {
				if m.StepKey != "first-hours" && m.StepKey != "sunscreen" {
					t.Errorf("%s cap %d, %s at %s: %s is lost: %s", c.lang, c.cap, c.day, c.at, m.StepKey, m.Note)
				}
				continue
			}
			got[m.StepKey] = true
			after := m.SendAt.Sub(c.treated)
			if m.StepKey == "red-flags" && (after < 18*time.Hour || after > 30*time.Hour) {
				t.Errorf("%s cap %d, %s at %s: red-flags arrives %s after the treatment, want 18-30h", c.lang, c.cap, c.day, c.at, after)
			}
			if m.StepKey == "first-hours" && after > 3*time.Hour {
				t.Errorf("%s cap %d, %s at %s: first-hours arrives %s after the treatment", c.lang, c.cap, c.day, c.at, after)
			}
		}
		if !got["welcome"] || !got["red-flags"] {
			t.Errorf("%s cap %d, %s at %s: welcome %v, red-flags %v", c.lang, c.cap, c.day, c.at, got["welcome"], got["red-flags"])
		}
	}
}
