package templates

import (
	"bufio"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

func TestBuiltins(t *testing.T) {
	t.Parallel()
	bs := Builtins()
	var slugs []string
	for _, b := range bs {
		slugs = append(slugs, b.Slug)
	}
	if want := []string{"microneedling", "microneedling-prep"}; !reflect.DeepEqual(slugs, want) {
		t.Fatalf("Builtins() = %v, want %v", slugs, want)
	}
	bs[0].YAML[0] = 'X' // callers get copies
	if Builtins()[0].YAML[0] == 'X' {
		t.Error("Builtins shares its bytes with callers")
	}
	for _, b := range Builtins() {
		t.Run(b.Slug, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(b.Slug+".yaml", b.YAML)
			if err != nil {
				t.Fatal(err)
			}
			if p.Slug != b.Slug {
				t.Errorf("slug %q in file %s", p.Slug, b.Slug)
			}
			if !reflect.DeepEqual(p.Languages, []string{"en", "es"}) {
				t.Errorf("languages = %v", p.Languages)
			}
			r, err := Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range p.Steps {
				for _, lang := range p.Languages {
					if _, ok := s.Text[lang]; !ok {
						t.Errorf("step %s has no %s text", s.Key, lang)
					}
				}
			}
			checkSMSLengths(t, p, r)
		})
	}
}

// checkSMSLengths renders every SMS for treatments on every day of a year
// (so every weekday and month name appears in the dates) for a clinic with a
// realistic long name and a patient with a long first name: English must fit
// in 3 GSM-7 segments, Spanish (whose accents make a segment 67 characters)
// in 4, and every SMS names the clinic. What a patient receives in all is
// counted by TestBuiltinSMSBudget.
func checkSMSLengths(t *testing.T, p *aftercare.Protocol, r *Renderer) {
	t.Helper()
	maxSegments := map[string]int{"en": 3, "es": 4}
	f := sampleFields(p)
	f.FirstName = "Maximiliano"
	f.ClinicName = "Bayview Dermatology Clinic"
	f.ClinicPhone = "+1 (555) 010-2030"
	worst := map[string]Text{}
	for d := 0; d < 366; d++ {
		f.Treatment = time.Date(2026, 1, 1, 15, 0, 0, 0, newYork).AddDate(0, 0, d)
		for _, s := range p.Steps {
			f.StepDates[s.Key] = f.Treatment.AddDate(0, 0, s.Timing.Day+7) // stepDate shows other days too
		}
		for _, s := range p.Steps {
			if !s.HasChannel(aftercare.SMS) {
				continue
			}
			for _, lang := range p.Languages {
				txt, err := r.Render(s.Key, lang, aftercare.SMS, f)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(txt.Body, f.ClinicName) {
					t.Errorf("%s %s does not name the clinic: %q", s.Key, lang, txt.Body)
				}
				k := s.Key + " " + lang
				if w, ok := worst[k]; !ok || len(txt.Body) > len(w.Body) {
					worst[k] = txt
				}
			}
		}
	}
	for k, txt := range worst {
		lang := k[strings.LastIndexByte(k, ' ')+1:]
		n, enc := Segments(txt.Body)
		if n != txt.Segments {
			t.Errorf("%s: Render says %d segments, Segments %d", k, txt.Segments, n)
		}
		if n > maxSegments[lang] {
			t.Errorf("%s is %d %s segments (%d characters), want at most %d: %s", k, n, enc, len([]rune(txt.Body)), maxSegments[lang], txt.Body)
		}
		t.Logf("%-24s %d %s %3d  %s", k, n, enc, len([]rune(txt.Body)), txt.Body)
	}
}

// TestBuiltinDailyCap checks the plan of the microneedling protocol: for a
// treatment ending at 15:00, every SMS falls inside the default send window
// 08:00-21:00 and no local day has more than the default cap of 3 per
// channel, so the clinic's defaults never push a message to another day.
func TestBuiltinDailyCap(t *testing.T) {
	t.Parallel()
	p, err := Parse("microneedling.yaml", Builtins()[0].YAML)
	if err != nil {
		t.Fatal(err)
	}
	treated := time.Date(2026, 3, 7, 15, 0, 0, 0, newYork)
	perDay := map[aftercare.Channel]map[string][]string{aftercare.SMS: {}, aftercare.Email: {}}
	for _, s := range p.Steps {
		for _, at := range occurrences(t, s.Timing, treated) {
			w := aftercare.Window{Start: aftercare.DefaultWindowStart, End: aftercare.DefaultWindowEnd}
			if !w.Contains(aftercare.Clock(at.Hour()*60 + at.Minute())) {
				t.Errorf("%s at %s is outside the send window %s", s.Key, at.Format(time.DateTime), w)
			}
			for _, ch := range s.Channels {
				day := at.Format(time.DateOnly)
				perDay[ch][day] = append(perDay[ch][day], s.Key)
			}
		}
	}
	for ch, days := range perDay {
		for day, keys := range days {
			if len(keys) > aftercare.DefaultDailyCap {
				t.Errorf("%s on %s: %d messages %v, cap %d", ch, day, len(keys), keys, aftercare.DefaultDailyCap)
			}
		}
	}
}

// occurrences is a minimal expansion of a timing in local time, enough to
// check the built-in plan (the scheduler owns the real one).
func occurrences(t *testing.T, tm aftercare.Timing, treated time.Time) []time.Time {
	loc := treated.Location()
	y, m, d := treated.Date()
	switch tm.Kind {
	case aftercare.TimingAfter:
		return []time.Time{treated.Add(tm.Offset)}
	case aftercare.TimingBefore:
		return []time.Time{treated.Add(-tm.Offset)}
	case aftercare.TimingDayAt:
		return []time.Time{time.Date(y, m, d+tm.Day, tm.At.Hour(), tm.At.Minute(), 0, 0, loc)}
	case aftercare.TimingEvery:
		sched, err := cronParser.Parse(tm.Cron)
		if err != nil {
			t.Fatal(err)
		}
		var out []time.Time
		for day := tm.FromDay; day <= tm.ToDay; day++ {
			start := time.Date(y, m, d+day, 0, 0, 0, 0, loc)
			for next := sched.Next(start.Add(-time.Second)); next.Before(start.AddDate(0, 0, 1)); next = sched.Next(next) {
				out = append(out, next)
			}
		}
		return out
	}
	t.Fatalf("no timing %v", tm)
	return nil
}

// factSteps says which step of the built-in microneedling protocol carries
// each row of testdata/aftercare-facts.md (F1 is the first row), with a word
// the row must contain so that a reordered table fails here rather than
// silently mapping facts to the wrong steps.
var factSteps = []struct {
	word  string
	steps []string
}{
	{"redness", []string{"welcome"}},
	{"serum", []string{"first-hours"}},
	{"sun", []string{"first-hours", "welcome"}},
	{"lukewarm", []string{"first-hours"}},
	{"hyaluronic", []string{"morning-care"}},
	{"makeup", []string{"welcome", "makeup-ok"}},
	{"sweating", []string{"welcome"}},
	{"ibuprofen", []string{"welcome"}},
	{"cleanser", []string{"morning-care"}},
	{"sunscreen", []string{"morning-care", "sunscreen", "two-weeks"}},
	{"direct sun", []string{"morning-care"}},
	{"flaking", []string{"makeup-ok"}},
	{"call the clinic", []string{"red-flags"}},
	{"sweating", []string{"back-to-routine"}},
	{"retinol", []string{"pause-actives", "back-to-routine"}},
	{"vitamin C", []string{"pause-actives", "actives-back"}},
	{"acids", []string{"pause-actives", "actives-back"}},
	{"glow", []string{"actives-back"}},
	{"procedures", []string{"welcome", "pause-actives", "two-weeks"}},
	{"collagen", []string{"results-book"}},
	{"sessions", []string{"results-book"}},
}

// TestBuiltinCoversEveryFact checks that every row of the fact table is
// carried by the steps listed in factSteps, and that the comment above each
// of those steps names the fact ("# F7 (seeds 001, 002, 004): ...") with
// exactly the seeds the table gives for it.
func TestBuiltinCoversEveryFact(t *testing.T) {
	t.Parallel()
	rows := factRows(t, "testdata/aftercare-facts.md")
	if len(rows) != len(factSteps) {
		t.Fatalf("the fact table has %d rows, factSteps %d: map each new fact to a step", len(rows), len(factSteps))
	}
	comments := stepComments(string(Builtins()[0].YAML))
	p, err := Parse("microneedling.yaml", Builtins()[0].YAML)
	if err != nil {
		t.Fatal(err)
	}
	seedRE := regexp.MustCompile(`\b\d{3}\b`)
	for i, row := range rows {
		id := "F" + strconv.Itoa(i+1)
		fs := factSteps[i]
		if !strings.Contains(row.fact, fs.word) {
			t.Errorf("%s is %q, which does not mention %q: update factSteps", id, row.fact, fs.word)
		}
		wantSeeds := seedRE.FindAllString(row.seeds, -1)
		slices.Sort(wantSeeds)
		for _, key := range fs.steps {
			if p.Step(key) == nil {
				t.Errorf("%s: no step %q", id, key)
				continue
			}
			line, ok := comments[key][id]
			if !ok {
				t.Errorf("%s: the comment above step %q does not name it as \"# %s (seeds ...): ...\"", id, key, id)
				continue
			}
			gotSeeds := seedRE.FindAllString(line, -1)
			slices.Sort(gotSeeds)
			if !reflect.DeepEqual(gotSeeds, wantSeeds) {
				t.Errorf("%s above step %q names seeds %v, the table says %v", id, key, gotSeeds, wantSeeds)
			}
		}
	}
	// And no comment names a fact the table does not have.
	for key, facts := range comments {
		for id := range facts {
			if n, err := strconv.Atoi(id[1:]); err != nil || n < 1 || n > len(rows) {
				t.Errorf("step %q names %s, which is not in the table", key, id)
			}
		}
	}
}

type factRow struct{ when, fact, seeds string }

// factRows reads the rows of the markdown table in path.
func factRows(t *testing.T, path string) []factRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []factRow
	inTable := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "|---"):
			inTable = true
		case inTable && strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if len(cells) < 3 {
				t.Fatalf("bad row %q", line)
			}
			rows = append(rows, factRow{strings.TrimSpace(cells[0]), strings.TrimSpace(cells[1]), strings.TrimSpace(cells[2])})
		case inTable:
			inTable = false
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// stepComments returns, for each step key, the fact lines ("# Fn (seeds
// ...): ...") of the comment block just above its "- key:" line.
func stepComments(src string) map[string]map[string]string {
	factRE := regexp.MustCompile(`^\s*# (F\d+) \(seeds [^)]*\): `)
	keyRE := regexp.MustCompile(`^\s*- key: (\S+)`)
	out := map[string]map[string]string{}
	var block []string
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			block = append(block, line)
			continue
		}
		if m := keyRE.FindStringSubmatch(line); m != nil {
			facts := map[string]string{}
			for _, c := range block {
				if fm := factRE.FindStringSubmatch(c); fm != nil {
					facts[fm[1]] = c
				}
			}
			out[m[1]] = facts
		}
		block = nil
	}
	return out
}

// TestDocsExamplesParse checks that the complete protocols shown in
// docs/protocols.md are valid and have no warnings, so the docs cannot
// drift from the parser.
func TestDocsExamplesParse(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../docs/protocols.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, block := range strings.Split(string(src), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if !strings.Contains(block, "\nsteps:\n") {
			continue // a fragment
		}
		n++
		_, warns, err := ParseWithWarnings("docs-example-"+strconv.Itoa(i+1)+".yaml", []byte(block))
		if err != nil {
			t.Errorf("example %d does not parse:\n%v", i+1, err)
		}
		for _, w := range warns { // the docs show the standards they ask for
			t.Errorf("example %d: %s", i+1, w.Warning())
		}
	}
	if n < 3 {
		t.Errorf("found %d complete examples in the docs, want at least 3", n)
	}
}
