package templates

import (
	"bytes"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/aftercare/aftercare"
)

var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// sampleFields are a patient of a clinic with a realistic, longish name,
// treated on Saturday, March 7 2026 at 3 PM.
func sampleFields(p *aftercare.Protocol) Fields {
	f := Fields{
		FirstName:   "Alexandra",
		ClinicName:  "Bayview Dermatology Clinic",
		ClinicPhone: "(555) 010-2030",
		Treatment:   time.Date(2026, 3, 7, 15, 0, 0, 0, newYork),
		StepDates:   map[string]time.Time{},
	}
	for _, s := range p.Steps {
		f.StepDates[s.Key] = f.Treatment.AddDate(0, 0, s.Timing.Day)
	}
	return f
}

func mustCompile(t testing.TB, src string) (*aftercare.Protocol, *Renderer) {
	t.Helper()
	return mustCompileFile(t, "t.yaml", []byte(src))
}

// mustCompileFile parses and compiles the protocol file name holding src.
func mustCompileFile(t testing.TB, name string, src []byte) (*aftercare.Protocol, *Renderer) {
	t.Helper()
	p, err := Parse(name, src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

func TestRender(t *testing.T) {
	t.Parallel()
	p, r := mustCompile(t, validDoc)
	f := sampleFields(p)
	tests := []struct {
		name      string
		step      string
		lang      string
		ch        aftercare.Channel
		want      Text
		wantError string // code
	}{
		{"SMS", "welcome", "en", aftercare.SMS, Text{Body: "Bayview Dermatology Clinic: hi Alexandra, back on Wednesday, March 11", Segments: 1}, ""},
		{"SMSSpanishFolded", "welcome", "es", aftercare.SMS, Text{Body: "Bayview Dermatology Clinic: hola Alexandra, el miércoles 11 de marzo", Segments: 1}, ""},
		{"Email", "welcome", "en", aftercare.Email, Text{Subject: "Hello from Bayview Dermatology Clinic", Body: "Hi Alexandra,\ncall (555) 010-2030.\n"}, ""},
		{"TreatmentDateTime", "later", "en", aftercare.SMS, Text{Body: "Bayview Dermatology Clinic on Saturday, March 7 at 3:00 PM", Segments: 1}, ""},
		{"TreatmentDateTimeSpanish", "later", "es", aftercare.SMS, Text{Body: "Bayview Dermatology Clinic el sábado 7 de marzo a las 15:00", Segments: 1}, ""},
		{"ErrNoStep", "nope", "en", aftercare.SMS, Text{}, aftercare.ENOTFOUND},
		{"ErrNoLanguage", "welcome", "fr", aftercare.SMS, Text{}, aftercare.ENOTFOUND},
		{"ErrNotSentBySMS", "prep", "en", aftercare.SMS, Text{}, aftercare.EINVALID},
		{"ErrNotSentByEmail", "later", "en", aftercare.Email, Text{}, aftercare.EINVALID},
		{"ErrUnknownChannel", "later", "en", "fax", Text{}, aftercare.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Render(tt.step, tt.lang, tt.ch, f)
			if code := aftercare.ErrorCode(err); code != tt.wantError {
				t.Fatalf("error %v (code %q), want code %q", err, code, tt.wantError)
			}
			if got != tt.want {
				t.Errorf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestRenderMissingDates(t *testing.T) {
	t.Parallel()
	p, r := mustCompile(t, validDoc)
	f := sampleFields(p)
	f.StepDates = nil
	if _, err := r.Render("welcome", "en", aftercare.SMS, f); aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), `step "later"`) {
		t.Errorf("missing step date: %v", err)
	}
	f.Treatment = time.Time{}
	if _, err := r.Render("later", "en", aftercare.SMS, f); aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), "Fields.Treatment") {
		t.Errorf("missing treatment: %v", err)
	}
	// A step that shows no date needs none.
	if _, err := r.Render("daily", "en", aftercare.SMS, f); err != nil {
		t.Error(err)
	}
}

func TestRenderTrimsSMSAndKeepsSubjectOnOneLine(t *testing.T) {
	t.Parallel()
	_, r := mustCompile(t, doc("    channels: [sms, email]", "    after: 0s", "    text:", "      en:",
		`        sms: "  {{.ClinicName}}:  two  spaces \n"`,
		`        email: {subject: "{{.ClinicName}} news", body: "  body  \n"}`))
	f := Fields{ClinicName: "Bad\r\nName"}
	sms, err := r.Render("s1", "en", aftercare.SMS, f)
	if err != nil || sms.Body != "Bad\r\nName:  two  spaces" {
		t.Errorf("sms = %q, %v", sms.Body, err)
	}
	email, err := r.Render("s1", "en", aftercare.Email, f)
	if err != nil || email.Subject != "Bad  Name news" || email.Body != "  body  \n" {
		t.Errorf("email = %#v, %v", email, err)
	}
}

func TestCompileRejectsBadTemplate(t *testing.T) {
	t.Parallel()
	p := &aftercare.Protocol{Slug: "x", Languages: []string{"en"}, Steps: []aftercare.Step{{
		Key: "a", Channels: []aftercare.Channel{aftercare.SMS},
		Text: map[string]aftercare.StepText{"en": {SMS: "{{range .FirstName}}{{end}}"}},
	}}}
	_, err := Compile(p)
	if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), `step "a": text.en.sms: line 1: {{range}} is not allowed`) {
		t.Errorf("Compile = %v", err)
	}
}

// TestRenderMatchesTextTemplate checks that the compiled templates say
// exactly what text/template would, for every built-in message.
func TestRenderMatchesTextTemplate(t *testing.T) {
	t.Parallel()
	srcs := []string{validDoc}
	for _, b := range Builtins() {
		srcs = append(srcs, string(b.YAML))
	}
	for _, src := range srcs {
		p, r := mustCompile(t, src)
		f := sampleFields(p)
		for _, s := range p.Steps {
			for lang, st := range s.Text {
				data := map[string]string{
					"FirstName": f.FirstName, "ClinicName": f.ClinicName, "ClinicPhone": f.ClinicPhone,
					"TreatmentDate": FormatDate(f.Treatment, lang), "TreatmentTime": FormatTime(f.Treatment, lang),
					"Treatment": NeutralTreatment(lang),
				}
				funcs := template.FuncMap{"stepDate": func(k string) string { return FormatDate(f.StepDates[k], lang) }}
				exec := func(text string) string {
					var b bytes.Buffer
					if err := template.Must(template.New("").Funcs(funcs).Parse(text)).Execute(&b, data); err != nil {
						t.Fatal(err)
					}
					return b.String()
				}
				if s.HasChannel(aftercare.SMS) {
					got, err := r.Render(s.Key, lang, aftercare.SMS, f)
					if want := strings.TrimSpace(exec(st.SMS)); err != nil || got.Body != want {
						t.Errorf("%s %s sms:\n got %q (%v)\nwant %q", s.Key, lang, got.Body, err, want)
					}
				}
				if s.HasChannel(aftercare.Email) {
					got, err := r.Render(s.Key, lang, aftercare.Email, f)
					if want := exec(st.EmailBody); err != nil || got.Body != want {
						t.Errorf("%s %s email body:\n got %q (%v)\nwant %q", s.Key, lang, got.Body, err, want)
					}
					if want := strings.TrimSpace(exec(st.EmailSubject)); got.Subject != want {
						t.Errorf("%s %s subject: got %q, want %q", s.Key, lang, got.Subject, want)
					}
				}
			}
		}
	}
}

func TestFormatDateTime(t *testing.T) {
	t.Parallel()
	sat := time.Date(2026, 3, 7, 15, 0, 0, 0, newYork)
	tests := []struct {
		name string
		t    time.Time
		lang string
		date string
		time string
		wd   string
	}{
		{"English", sat, "en", "Saturday, March 7", "3:00 PM", "Saturday"},
		{"Spanish", sat, "es", "sábado 7 de marzo", "15:00", "sábado"},
		{"SpanishRegion", sat, "es-MX", "sábado 7 de marzo", "15:00", "sábado"},
		{"UnknownIsEnglish", sat, "fr", "Saturday, March 7", "3:00 PM", "Saturday"},
		{"Midnight", time.Date(2026, 12, 31, 0, 5, 0, 0, time.UTC), "en", "Thursday, December 31", "12:05 AM", "Thursday"},
		{"MidnightSpanish", time.Date(2026, 12, 31, 0, 5, 0, 0, time.UTC), "es", "jueves 31 de diciembre", "0:05", "jueves"},
		{"Noon", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), "en", "Thursday, January 1", "12:00 PM", "Thursday"},
		{"Morning", time.Date(2026, 9, 23, 9, 30, 0, 0, time.UTC), "es", "miércoles 23 de septiembre", "9:30", "miércoles"},
		// The date is the one in t's own zone, not UTC's.
		{"LocalDate", time.Date(2026, 3, 8, 2, 0, 0, 0, time.UTC).In(newYork), "en", "Saturday, March 7", "9:00 PM", "Saturday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatDate(tt.t, tt.lang); got != tt.date {
				t.Errorf("FormatDate = %q, want %q", got, tt.date)
			}
			if got := FormatTime(tt.t, tt.lang); got != tt.time {
				t.Errorf("FormatTime = %q, want %q", got, tt.time)
			}
			if got := Weekday(tt.t, tt.lang); got != tt.wd {
				t.Errorf("Weekday = %q, want %q", got, tt.wd)
			}
		})
	}
}

func TestPickLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		have []string
		want string
		out  string
	}{
		{[]string{"en", "es"}, "es", "es"},
		{[]string{"en", "es"}, "es-MX", "es"},
		{[]string{"en", "es-MX"}, "es", "es-MX"},
		{[]string{"en", "es-MX", "es"}, "es-AR", "es"},
		{[]string{"en", "es"}, "fr", "en"},
		{[]string{"en", "es"}, "", "en"},
		{nil, "en", ""},
	}
	for _, tt := range tests {
		if got := PickLanguage(tt.have, tt.want); got != tt.out {
			t.Errorf("PickLanguage(%v, %q) = %q, want %q", tt.have, tt.want, got, tt.out)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	p, r := mustCompile(b, string(Builtins()[0].YAML))
	f := sampleFields(p)
	b.Run("SMS", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Render("first-hours", "en", aftercare.SMS, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("SMSSpanish", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Render("pause-actives", "es", aftercare.SMS, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Email", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Render("welcome", "en", aftercare.Email, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Everything one enrollment sends, in both languages.
	b.Run("Enrollment", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, s := range p.Steps {
				for _, ch := range s.Channels {
					if _, err := r.Render(s.Key, "es", ch, f); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	p, err := Parse("m.yaml", Builtins()[0].YAML)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// A text that shows only the clinic's fields is kept from one Render to the
// next: it must still follow the clinic (its name, phone and whether it
// names the treatment), and texts with a patient's fields
// must still follow the patient. Every text of the built-in protocols,
// rendered for patients of two clinics in turn, is what a renderer that
// never rendered anything before gives.
func TestRenderKeepsClinicOnlyTexts(t *testing.T) {
	other := func(f Fields) Fields {
		f.FirstName, f.ClinicName, f.ClinicPhone = "Bo", "Glow Skin Studio", "(555) 010-9999"
		f.Treatment = f.Treatment.AddDate(0, 0, 3)
		f.TreatmentName = "microneedling" // this clinic names the treatment
		return f
	}
	kept := 0
	for _, b := range Builtins() {
		p := parseBuiltin(t, b)
		r, err := Compile(p)
		if err != nil {
			t.Fatal(err)
		}
		a := sampleFields(p)
		for round, f := range []Fields{a, other(a), a, a, other(a), other(a)} {
			for _, s := range p.Steps {
				for lang := range s.Text {
					for _, ch := range s.Channels {
						got, err := r.Render(s.Key, lang, ch, f)
						if err != nil {
							t.Fatal(err)
						}
						fresh, err := Compile(p)
						if err != nil {
							t.Fatal(err)
						}
						want, err := fresh.Render(s.Key, lang, ch, f)
						if err != nil {
							t.Fatal(err)
						}
						if got != want {
							t.Fatalf("%s %s %s %s, round %d: got %+v, want %+v", b.Slug, s.Key, lang, ch, round, got, want)
						}
						if c := r.texts[textKey{s.Key, lang}]; round == 0 && (ch == aftercare.SMS && c.smsClinicOnly || ch == aftercare.Email && c.emailClinicOnly) {
							kept++
						}
					}
				}
			}
		}
	}
	if kept == 0 {
		t.Fatal("no built-in text shows only the clinic's fields: the test checks nothing kept")
	}
}
