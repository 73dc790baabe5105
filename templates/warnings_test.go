package templates

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// warnDoc is a valid protocol whose texts earn every kind of warning; the
// comments give each line's number.
const warnDoc = `slug: microneedling-touchup
name: Touch-up aftercare
languages: [en, es]
treatment: {en: micro-needling, es: micropunción}
steps:
  - key: welcome
    channels: [sms, email]
    after: 0s
    priority: high
    text:
      en:
        sms: "Hi from {{.ClinicName}}, your Micro-needling is done."
        email:
          subject: "Your microneedling aftercare - {{.ClinicName}}"
          body: "The microneedling went well. Call {{.ClinicPhone}}."
      es:
        sms: "{{.ClinicName}}: su {{.Treatment}} terminó. Llame al {{.ClinicPhone}}."
        email:
          subject: "Tras la MICROPUNCIÓN - {{.ClinicName}}"
          body: "b"
  - key: sun
    channels: [sms]
    every: "0 9 * * 1,4"
    from_day: 2
    to_day: 14
    priority: low
    text:
      en: {sms: "{{.ClinicName}}: sunscreen after your {{.Treatment}}, {{.ClinicPhone}}"}
      es: {sms: "{{.ClinicName}}: protector, {{.ClinicPhone}}. {{.FirstName}}"}
`

func TestParseWithWarnings(t *testing.T) {
	t.Parallel()
	p, warns, err := ParseWithWarnings("w.yaml", []byte(warnDoc))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"en": "micro-needling", "es": "micropunción"}; !reflect.DeepEqual(p.Treatment, want) {
		t.Errorf("Treatment = %v, want %v", p.Treatment, want)
	}
	if p.Steps[0].Priority != aftercare.PriorityHigh || p.Steps[1].Priority != aftercare.PriorityLow {
		t.Errorf("priorities = %v, %v", p.Steps[0].Priority, p.Steps[1].Priority)
	}
	want := []string{
		`w.yaml:12:14: warning: step "welcome": text.en.sms does not give the clinic's phone: add {{.ClinicPhone}}`,
		`w.yaml:12:14: warning: step "welcome": text.en.sms does not start with {{.ClinicName}}`,
		// "microneedling" is the slug's first word; the matched text is shown as written.
		`w.yaml:12:45: warning: step "welcome": text.en.sms names the treatment ("Micro-needling")`,
		`w.yaml:14:26: warning: step "welcome": text.en.email.subject names the treatment ("microneedling")`,
		`w.yaml:19:29: warning: step "welcome": text.es.email.subject names the treatment ("MICROPUNCIÓN")`,
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.Warning())
	}
	if len(got) != len(want) {
		t.Fatalf("got %d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
	// Parse gives the same protocol and keeps the warnings to itself.
	p2, err := Parse("w.yaml", []byte(warnDoc))
	if err != nil || !reflect.DeepEqual(p, p2) {
		t.Errorf("Parse = %+v, %v; want the protocol of ParseWithWarnings", p2, err)
	}
}

func TestParseWithWarningsNone(t *testing.T) {
	t.Parallel()
	src := strings.NewReplacer(
		`"Hi from {{.ClinicName}}, your Micro-needling is done."`, `"{{.ClinicName}}: your {{.Treatment}} is done. {{.ClinicPhone}}"`,
		`"Your microneedling aftercare - {{.ClinicName}}"`, `"Your aftercare - {{.ClinicName}}"`,
		`"Tras la MICROPUNCIÓN - {{.ClinicName}}"`, `"Sus cuidados - {{.ClinicName}}"`,
	).Replace(warnDoc)
	_, warns, err := ParseWithWarnings("w.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	// An email body may name the treatment: it is read after opening.
	if len(warns) != 0 {
		t.Errorf("got warnings %v", warns)
	}
}

func TestParseWithWarningsInvalid(t *testing.T) {
	t.Parallel()
	p, warns, err := ParseWithWarnings("w.yaml", []byte(strings.Replace(warnDoc, "priority: high", "priority: top", 1)))
	if err == nil || p != nil || warns != nil {
		t.Fatalf("got %v, %v, %v; want only an error", p, warns, err)
	}
	if !strings.Contains(err.Error(), `w.yaml:9:15: step "welcome": priority must be low, normal or high, got "top"`) {
		t.Errorf("error = %v", err)
	}
}

// TestRenderTreatment checks {{.Treatment}}: the name the scheduler passes,
// or the neutral word in the message's language, and that the text kept
// for a clinic never shows another clinic's choice.
func TestRenderTreatment(t *testing.T) {
	t.Parallel()
	p, r := mustCompile(t, warnDoc)
	f := sampleFields(p)
	for i, tc := range []struct {
		lang, name, want string
	}{
		{"en", "", "Bayview Dermatology Clinic: sunscreen after your treatment, (555) 010-2030"},
		{"en", "micro-needling", "Bayview Dermatology Clinic: sunscreen after your micro-needling, (555) 010-2030"},
		{"en", "", "Bayview Dermatology Clinic: sunscreen after your treatment, (555) 010-2030"},
		{"es", "", "Bayview Dermatology Clinic: su tratamiento terminó. Llame al (555) 010-2030."},
		{"es", "micropunción", "Bayview Dermatology Clinic: su micropunción terminó. Llame al (555) 010-2030."},
		{"es", "", "Bayview Dermatology Clinic: su tratamiento terminó. Llame al (555) 010-2030."},
	} {
		key := "sun"
		if tc.lang == "es" {
			key = "welcome"
		}
		f.TreatmentName = tc.name
		got, err := r.Render(key, tc.lang, aftercare.SMS, f)
		if err != nil || got.Body != tc.want {
			t.Errorf("%d: %s %s with %q = %q, %v; want %q", i, key, tc.lang, tc.name, got.Body, err, tc.want)
		}
	}
	if c := r.texts[textKey{"sun", "en"}]; !c.smsClinicOnly {
		t.Error("a text with only the clinic's fields and {{.Treatment}} is not kept for the clinic")
	}
	if NeutralTreatment("es-MX") != "tratamiento" || NeutralTreatment("fr") != "treatment" {
		t.Errorf("NeutralTreatment = %q, %q", NeutralTreatment("es-MX"), NeutralTreatment("fr"))
	}
}

func ExampleProblem_Warning() {
	fmt.Println(Problem{File: "p.yaml", Line: 3, Col: 9, Msg: "text.en.sms does not give the clinic's phone"}.Warning())
	// Output: p.yaml:3:9: warning: text.en.sms does not give the clinic's phone
}
