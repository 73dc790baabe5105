package templates

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// head is a protocol up to its first step's key; the step's other lines
// start on line 6, indented 4 spaces.
const head = "slug: test\nname: Test aftercare\nlanguages: [en]\nsteps:\n  - key: s1\n"

// smsText is a valid text block for an sms-only step.
const smsText = "    text:\n      en:\n        sms: \"{{.ClinicName}}: hi\"\n"

func doc(lines ...string) string { return head + strings.Join(lines, "\n") + "\n" }

const validDoc = `slug: micro
name: Micro aftercare
languages: [en, es]
steps:
  - key: welcome
    channels: [sms, email]
    after: 0s
    expires: 2h
    text:
      en:
        sms: "{{.ClinicName}}: hi {{.FirstName}}, back on {{stepDate \"later\"}}"
        email:
          subject: "Hello from {{.ClinicName}}"
          body: |
            Hi {{.FirstName}},
            call {{.ClinicPhone}}.
      es:
        sms: >-
          {{.ClinicName}}: hola {{.FirstName}},
          el {{stepDate "later"}}
        email:
          subject: "Hola de {{.ClinicName}}"
          body: "Hola {{.FirstName}}"
  - key: later
    channels: [sms]
    day: 4
    at: "09:30"
    text:
      en: {sms: "{{.ClinicName}} on {{.TreatmentDate}} at {{.TreatmentTime}}"}
      es: {sms: "{{.ClinicName}} el {{.TreatmentDate}} a las {{.TreatmentTime}}"}
  - key: prep
    channels: [email]
    before: 1d12h
    text:
      en: {email: {subject: s, body: b}}
      es: {email: {subject: s, body: b}}
  - key: daily
    channels: [sms]
    every: "0 9 * * *"
    from_day: -3
    to_day: 14
    text:
      en: {sms: "{{.ClinicName}}: sunscreen"}
      es: {sms: "{{.ClinicName}}: protector"}
`

func TestParseOK(t *testing.T) {
	t.Parallel()
	p, err := Parse("micro.yaml", []byte(validDoc))
	if err != nil {
		t.Fatal(err)
	}
	if p.Slug != "micro" || p.Name != "Micro aftercare" || !reflect.DeepEqual(p.Languages, []string{"en", "es"}) {
		t.Errorf("header = %q %q %v", p.Slug, p.Name, p.Languages)
	}
	if p.YAML != validDoc || len(p.SHA256) != 64 || p.Source != "" {
		t.Errorf("YAML/SHA256/Source not as documented: %d %q %q", len(p.YAML), p.SHA256, p.Source)
	}
	want := []aftercare.Step{
		{
			Key: "welcome", Channels: []aftercare.Channel{aftercare.SMS, aftercare.Email},
			Timing: aftercare.Timing{Kind: aftercare.TimingAfter}, Expires: 2 * time.Hour,
			Text: map[string]aftercare.StepText{
				"en": {SMS: `{{.ClinicName}}: hi {{.FirstName}}, back on {{stepDate "later"}}`, EmailSubject: "Hello from {{.ClinicName}}", EmailBody: "Hi {{.FirstName}},\ncall {{.ClinicPhone}}.\n"},
				"es": {SMS: `{{.ClinicName}}: hola {{.FirstName}}, el {{stepDate "later"}}`, EmailSubject: "Hola de {{.ClinicName}}", EmailBody: "Hola {{.FirstName}}"},
			},
		},
		{
			Key: "later", Channels: []aftercare.Channel{aftercare.SMS},
			Timing: aftercare.Timing{Kind: aftercare.TimingDayAt, Day: 4, At: 9*60 + 30}, Expires: aftercare.DefaultExpires,
			Text: map[string]aftercare.StepText{
				"en": {SMS: "{{.ClinicName}} on {{.TreatmentDate}} at {{.TreatmentTime}}"},
				"es": {SMS: "{{.ClinicName}} el {{.TreatmentDate}} a las {{.TreatmentTime}}"},
			},
		},
		{
			Key: "prep", Channels: []aftercare.Channel{aftercare.Email},
			Timing: aftercare.Timing{Kind: aftercare.TimingBefore, Offset: 36 * time.Hour}, Expires: aftercare.DefaultExpires,
			Text: map[string]aftercare.StepText{"en": {EmailSubject: "s", EmailBody: "b"}, "es": {EmailSubject: "s", EmailBody: "b"}},
		},
		{
			Key: "daily", Channels: []aftercare.Channel{aftercare.SMS},
			Timing: aftercare.Timing{Kind: aftercare.TimingEvery, Cron: "0 9 * * *", FromDay: -3, ToDay: 14}, Expires: aftercare.DefaultExpires,
			Text: map[string]aftercare.StepText{"en": {SMS: "{{.ClinicName}}: sunscreen"}, "es": {SMS: "{{.ClinicName}}: protector"}},
		},
	}
	if !reflect.DeepEqual(p.Steps, want) {
		for i := range want {
			if i < len(p.Steps) && !reflect.DeepEqual(p.Steps[i], want[i]) {
				t.Errorf("step %d:\n got %+v\nwant %+v", i, p.Steps[i], want[i])
			}
		}
		if len(p.Steps) != len(want) {
			t.Errorf("got %d steps, want %d", len(p.Steps), len(want))
		}
	}
}

// TestParseErrors checks each problem Parse reports: where it points
// ("line:col") and what it says (a part of the message).
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // "line:col: part of the message", in order
	}{
		{"ErrNotYAML", "slug: [a\nname: b\n", []string{"1:1: not valid YAML: did not find expected ',' or ']'"}},
		{"ErrQuoteNeverClosed", "slug: \"a\n", []string{`1:7: not valid YAML: found unexpected end of stream: this quoted text is never closed: end it with " (or write it with >- on the lines below)`}},
		{"ErrUnquotedTemplate", "slug: p\nname: {{.ClinicName}}: hi\n", []string{`2:7: not valid YAML: mapping values are not allowed in this context: a value that starts with {{ must be quoted: write "{{.ClinicName}}: hi" (or use >- and the text on the lines below)`}},
		{"ErrColonInPlainText", "slug: p\nname: Glow: aftercare\n", []string{"2:11: not valid YAML: mapping values are not allowed in this context: a colon followed by a space inside plain text reads as a new key: quote the whole text, or use >- and the text on the lines below"}},
		{"ErrTabIndent", "slug: a\n\tname: b\n", []string{"2:1: not valid YAML: found a tab character that violates indentation"}},
		{"ErrTabNoLine", "\tslug: a\n", []string{"1:1: not valid YAML: a tab in the indentation: indent with spaces only"}},
		{"ErrEmpty", "", []string{"1:1: the document is empty: a protocol needs slug, name, languages, steps"}},
		{"ErrOnlyComments", "# nothing\n", []string{"1:1: the document is empty"}},
		{"ErrNotMapping", "- a\n- b\n", []string{"1:1: a protocol must be a mapping of slug, name, languages, steps, not a list"}},
		{"ErrScalarDocument", "hello\n", []string{"1:1: a protocol must be a mapping of slug, name, languages, steps, not a single value"}},
		{"ErrTwoDocuments", validDoc + "---\nslug: b\n", []string{"45:1: a file holds one protocol: remove the second document"}},
		{"ErrTooLarge", "slug: a\n#" + strings.Repeat("x", MaxSize) + "\n", []string{"1:1: the document is 257 KiB; a protocol may be at most 256 KiB"}},
		{"ErrMissingKeys", "slug: a\n", []string{
			`1:1: missing key "name": give the protocol a name staff will recognise`,
			`1:1: missing key "languages": list the languages`,
			`1:1: missing key "steps": list the messages to send`,
		}},
		{"ErrUnknownTopKey", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "name:", "nmae:", 1), []string{
			`1:1: missing key "name"`,
			`2:1: unknown key "nmae" (allowed: slug, name, languages, treatment, steps)`,
		}},
		{"ErrDuplicateYAMLKey", "slug: a\nslug: b\n" + doc("    channels: [sms]", "    after: 0s", smsText)[11:], []string{
			`2:1: key "slug" is given twice (first on line 1): keep one`,
		}},
		{"ErrBadSlug", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "slug: test", "slug: Test Protocol", 1), []string{
			`1:7: slug: "Test Protocol" is not a valid slug: use lower-case letters, digits and dashes`,
		}},
		{"ErrEmptyName", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "name: Test aftercare", `name: ""`, 1), []string{
			`2:7: name is empty`,
		}},
		{"ErrLanguagesNotList", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "[en]", "en", 1), []string{
			`3:12: languages must be a list of language codes, e.g. languages: [en, es]`,
		}},
		{"ErrLanguagesEmpty", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "[en]", "[]", 1), []string{
			`3:12: languages is empty`,
		}},
		{"ErrBadLanguage", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "[en]", "[en, English]", 1), []string{
			`3:17: language "English" is not a language code: use two lower-case letters, optionally with a region, e.g. en, es or es-MX`,
		}},
		{"ErrDuplicateLanguage", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "[en]", "[en, en]", 1), []string{
			`3:17: language "en" is listed twice (first on line 3)`,
		}},
		{"ErrStepsEmpty", "slug: a\nname: b\nlanguages: [en]\nsteps: []\n", []string{"4:8: steps is empty"}},
		{"ErrStepsNotList", "slug: a\nname: b\nlanguages: [en]\nsteps: {a: b}\n", []string{"4:8: steps must be a list"}},
		{"ErrTooManySteps", "slug: a\nname: b\nlanguages: [en]\nsteps:\n" + strings.Repeat("  - {}\n", MaxSteps+1), []string{
			fmt.Sprintf("%d:5: too many steps (%d): a protocol may have at most %d", MaxSteps+5, MaxSteps+1, MaxSteps),
		}},
		{"ErrStepNotMapping", "slug: a\nname: b\nlanguages: [en]\nsteps:\n  - hello\n", []string{"5:5: step 1: a step must be a mapping of key, channels"}},
		{"ErrUnknownStepKey", doc("    chanels: [sms]", "    after: 0s", smsText), []string{
			`5:5: step "s1": missing key "channels": say how the step is sent, e.g. channels: [sms] or channels: [sms, email]`,
			`6:5: step "s1": unknown key "chanels" (allowed: key, channels, after, before, day, at, every, from_day, to_day, expires, priority, text)`,
		}},
		{"ErrMissingStepKey", "slug: a\nname: b\nlanguages: [en]\nsteps:\n  - channels: [sms]\n    after: 0s\n" + smsText, []string{
			`5:5: step 1: missing key "key": give each step a unique name`,
		}},
		{"ErrBadStepKey", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "key: s1", "key: Spf Now", 1), []string{
			`5:10: step 1: key "Spf Now" is not valid: use lower-case letters, digits and dashes, e.g. spf-now`,
		}},
		{"ErrDuplicateStepKey", doc("    channels: [sms]", "    after: 0s", smsText, "  - key: s1", "    channels: [sms]", "    after: 1h", smsText), []string{
			`12:10: step 2: step key "s1" is already used by the step on line 5: step keys must be unique`,
		}},
		{"ErrDuplicateKeyInStep", doc("    channels: [sms]", "    after: 0s", "    after: 1h", smsText), []string{
			`8:5: step "s1": key "after" is given twice (first on line 7): keep one`,
		}},
		{"ErrBadPriority", doc("    channels: [sms]", "    after: 0s", "    priority: urgent", smsText), []string{
			`8:15: step "s1": priority must be low, normal or high, got "urgent"`,
		}},
		{"ErrEmptyPriority", doc("    channels: [sms]", "    after: 0s", "    priority:", smsText), []string{
			`8:14: step "s1": priority must be low, normal or high, got ""`,
		}},
		{"ErrPriorityNotScalar", doc("    channels: [sms]", "    after: 0s", "    priority: [high]", smsText), []string{
			`8:15: step "s1": priority must be a single value, not a list`,
		}},
		{"ErrTreatmentNotMapping", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "steps:", "treatment: microneedling\nsteps:", 1), []string{
			`4:12: treatment must be a mapping of language to the treatment's name`,
		}},
		{"ErrTreatmentMissingLanguage", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "steps:", "treatment: {}\nsteps:", 1), []string{
			`4:1: treatment has no "en": give the treatment's name in every language of languages`,
		}},
		{"ErrTreatmentExtraLanguage", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "steps:", "treatment: {en: peel, fr: peeling}\nsteps:", 1), []string{
			`4:23: treatment: language "fr" is not in languages (en): add it there or remove this name`,
		}},
		{"ErrTreatmentEmpty", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "steps:", "treatment: {en: \"\"}\nsteps:", 1), []string{
			`4:17: treatment.en is empty`,
		}},
		{"ErrTreatmentTemplate", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "steps:", "treatment: {en: \"{{.FirstName}}\"}\nsteps:", 1), []string{
			`4:17: treatment.en is shown as it is: write the name without {{ }}`,
		}},
		{"ErrMissingChannels", doc("    after: 0s", smsText), []string{`5:5: step "s1": missing key "channels"`}},
		{"ErrChannelsEmpty", doc("    channels: []", "    after: 0s", smsText), []string{`6:15: step "s1": channels is empty`}},
		{"ErrChannelsNotList", doc("    channels: sms", "    after: 0s", smsText), []string{`6:15: step "s1": channels must be a list, e.g. [sms] or [sms, email]`}},
		{"ErrUnknownChannel", doc("    channels: [sms, fax]", "    after: 0s", smsText), []string{`6:21: step "s1": unknown channel "fax": use sms or email`}},
		{"ErrDuplicateChannel", doc("    channels: [sms, sms]", "    after: 0s", smsText), []string{`6:21: step "s1": channel sms is listed twice (first on line 6)`}},
		{"ErrNoTiming", doc("    channels: [sms]", smsText), []string{
			`5:5: step "s1": no timing: give one of after: 90m, before: 3d, day: 4 with at: "09:00", or every: "0 9 * * *" with from_day and to_day`,
		}},
		{"ErrTwoTimings", doc("    channels: [sms]", "    after: 0s", "    day: 1", `    at: "09:00"`, smsText), []string{
			`8:5: step "s1": give exactly one timing: after (line 7) and day are both set; keep one`,
		}},
		{"ErrBadOffset", doc("    channels: [sms]", "    after: 90 min", smsText), []string{
			`7:12: step "s1": after: "90 min" is not an offset (unknown unit ' '): write a number and a unit s, m, h, d or w`,
		}},
		{"ErrBeforeZero", doc("    channels: [sms]", "    before: 0s", smsText), []string{
			`7:13: step "s1": before: 0s is the end of the treatment itself: write after: 0s`,
		}},
		{"ErrBadClock", doc("    channels: [sms]", "    day: 1", `    at: "9am"`, smsText), []string{
			`8:9: step "s1": at: "9am" is not a time of day: write HH:MM on a 24-hour clock`,
		}},
		{"ErrDayWithoutAt", doc("    channels: [sms]", "    day: 1", smsText), []string{
			`7:5: step "s1": day needs at, the local time to send on that day, e.g. at: "09:00"`,
		}},
		{"ErrAtWithoutDay", doc("    channels: [sms]", "    after: 1h", `    at: "09:00"`, smsText), []string{
			`8:5: step "s1": at is only used with day`,
		}},
		{"ErrDayNotNumber", doc("    channels: [sms]", "    day: one", `    at: "09:00"`, smsText), []string{
			`7:10: step "s1": day must be a whole number of days after the treatment`,
		}},
		{"ErrDayOutOfRange", doc("    channels: [sms]", "    day: 401", `    at: "09:00"`, smsText), []string{
			`7:10: step "s1": day must be between -60 and 400, got 401`,
		}},
		{"ErrEveryTZ", doc("    channels: [sms]", `    every: "TZ=Europe/Paris 0 9 * * *"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every: remove "TZ=Europe/Paris": the spec is read in each patient's own time zone, which is applied automatically`,
		}},
		{"ErrEveryCronTZ", doc("    channels: [sms]", `    every: "CRON_TZ=UTC 0 9 * * *"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every: remove "CRON_TZ=UTC"`,
		}},
		{"ErrEveryDescriptor", doc("    channels: [sms]", `    every: "@daily"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every: "@daily" is not supported: write five fields`,
		}},
		{"ErrEverySixFields", doc("    channels: [sms]", `    every: "0 0 9 * * *"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every has 6 fields: write five (minute hour day-of-month month day-of-week)`,
		}},
		{"ErrEveryBadField", doc("    channels: [sms]", `    every: "0 25 * * *"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every: "0 25 * * *" is not a valid cron spec (`,
		}},
		{"ErrEveryTooOften", doc("    channels: [sms]", `    every: "*/10 9 * * *"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every: "*/10 9 * * *" fires 6 times a day: a recurring step may fire at most 4 times a day`,
		}},
		{"ErrEveryNever", doc("    channels: [sms]", `    every: "0 9 31 2 *"`, "    from_day: 1", "    to_day: 3", smsText), []string{
			`7:12: step "s1": every: "0 9 31 2 *" never fires`,
		}},
		{"ErrEveryMissingWindow", doc("    channels: [sms]", `    every: "0 9 * * *"`, smsText), []string{
			`7:5: step "s1": every needs from_day`,
			`7:5: step "s1": every needs to_day`,
		}},
		{"ErrEveryBackwards", doc("    channels: [sms]", `    every: "0 9 * * *"`, "    from_day: 5", "    to_day: 3", smsText), []string{
			`9:13: step "s1": to_day (3) is before from_day (5)`,
		}},
		{"ErrEveryTooLong", doc("    channels: [sms]", `    every: "0 9 * * *"`, "    from_day: 0", "    to_day: 120", smsText), []string{
			`9:13: step "s1": from_day 0 to to_day 120 is 121 days: a recurring step may cover at most 120 days`,
		}},
		{"ErrFromDayWithoutEvery", doc("    channels: [sms]", "    after: 0s", "    from_day: 1", smsText), []string{
			`8:5: step "s1": from_day is only used with every`,
		}},
		{"ErrExpiresZero", doc("    channels: [sms]", "    after: 0s", "    expires: 0s", smsText), []string{
			`8:14: step "s1": expires must be more than 0s and at most 7d`,
		}},
		{"ErrExpiresTooLong", doc("    channels: [sms]", "    after: 0s", "    expires: 8d", smsText), []string{
			`8:14: step "s1": expires must be more than 0s and at most 7d`,
		}},
		{"ErrMissingText", doc("    channels: [sms]", "    after: 0s"), []string{`5:5: step "s1": missing key "text"`}},
		{"ErrTextLanguageMissing", strings.Replace(doc("    channels: [sms]", "    after: 0s", smsText), "[en]", "[en, es]", 1), []string{
			`8:5: step "s1": text has no "es": every language in languages needs text in each step`,
		}},
		{"ErrTextLanguageNotListed", doc("    channels: [sms]", "    after: 0s", smsText+"      fr:\n        sms: \"{{.ClinicName}}: salut\""), []string{
			`11:7: step "s1": text: language "fr" is not in languages (en): add it there or remove this text`,
		}},
		{"ErrUnknownTextKey", doc("    channels: [sms]", "    after: 0s", smsText+"        mms: x"), []string{
			`11:9: step "s1": text.en: unknown key "mms" (allowed: sms, email)`,
		}},
		{"ErrSMSMissing", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", "        email: {subject: a, body: b}"), []string{
			`9:7: step "s1": text.en: missing sms: the step is sent by sms, so it needs the text message in en`,
			`10:9: step "s1": text.en.email is given but the step is not sent by email: add email to channels or remove the text`,
		}},
		{"ErrSMSEmpty", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: " "`), []string{
			`10:14: step "s1": text.en.sms is empty: write the message`,
		}},
		{"ErrEmailMissing", doc("    channels: [sms, email]", "    after: 0s", smsText), []string{
			`9:7: step "s1": text.en: missing email: the step is sent by email, so it needs an email (subject and body) in en`,
		}},
		{"ErrEmailSubjectMissing", doc("    channels: [email]", "    after: 0s", "    text:", "      en:", "        email:", "          body: hi"), []string{
			`10:9: step "s1": text.en.email: missing subject: an email needs a subject and a body`,
		}},
		{"ErrEmailSubjectTwoLines", doc("    channels: [email]", "    after: 0s", "    text:", "      en:", "        email:", "          subject: \"a\\nb\"", "          body: hi"), []string{
			`11:20: step "s1": text.en.email.subject must be one line`,
		}},
		{"ErrTemplateSyntax", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{.ClinicName}: hi"`), []string{
			`10:15: step "s1": text.en.sms: template syntax error: bad character U+007D '}': check that every {{ has a matching }}`,
		}},
		{"ErrUnknownField", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{.ClinicName}}: hi {{.Name}}"`), []string{
			`10:35: step "s1": text.en.sms: unknown field .Name (allowed: .FirstName, .ClinicName, .ClinicPhone, .TreatmentDate, .TreatmentTime, .Treatment)`,
		}},
		{"ErrNestedField", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{.Clinic.Name}}"`), []string{
			`10:15: step "s1": text.en.sms: unknown field .Clinic.Name: fields cannot be nested`,
		}},
		{"ErrUnknownFunction", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: '{{printf "%s" .FirstName}}'`), []string{
			`10:15: step "s1": text.en.sms: unknown function "printf" in {{printf "%s" .FirstName}} (the only function is stepDate`,
		}},
		{"ErrPipeline", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{.FirstName | html}}"`), []string{
			`10:15: step "s1": text.en.sms: pipelines (|) are not allowed`,
		}},
		{"ErrRange", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "hi {{range .FirstName}}x{{end}}"`), []string{
			`10:18: step "s1": text.en.sms: {{range}} is not allowed: a message may only hold text, the fields`,
		}},
		{"ErrIf", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{if .FirstName}}hi{{end}}"`), []string{
			`10:15: step "s1": text.en.sms: {{if}} is not allowed`,
		}},
		{"ErrDot", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "hi {{.}}"`), []string{
			`10:18: step "s1": text.en.sms: {{.}} is not allowed`,
		}},
		{"ErrVariable", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{$x := .FirstName}}"`), []string{
			`10:15: step "s1": text.en.sms: variables are not allowed`,
		}},
		{"ErrDefine", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: '{{define "x"}}hi{{end}}'`), []string{
			`10:15: step "s1": text.en.sms: {{define}} and {{block}} are not allowed`,
		}},
		{"ErrStepDateUnknownStep", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: 'back on {{stepDate "nope"}}'`), []string{
			`10:23: step "s1": text.en.sms: {{stepDate "nope"}}: there is no step with key "nope"`,
		}},
		{"ErrStepDateNoArgument", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "back on {{stepDate}}"`), []string{
			`10:23: step "s1": text.en.sms: {{stepDate}}: stepDate takes one step key in double quotes`,
		}},
		{"ErrStepDateNotString", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "back on {{stepDate .FirstName}}"`), []string{
			`10:23: step "s1": text.en.sms: {{stepDate .FirstName}}: stepDate takes one step key in double quotes`,
		}},
		{"ErrTemplateInLiteralBlock", doc("    channels: [email]", "    after: 0s", "    text:", "      en:", "        email:", "          subject: hi", "          body: |", "            Hello,", "            call {{.Phone}} now."), []string{
			`14:18: step "s1": text.en.email.body: unknown field .Phone`,
		}},
		{"ErrTemplateInFoldedBlock", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", "        sms: >-", "          Hello there,", "", "          call {{.Phone}} now."), []string{
			`13:16: step "s1": text.en.sms: unknown field .Phone`,
		}},
		{"ErrTemplatePlain", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", "        sms: hi {{.Phone}}"), []string{
			`10:17: step "s1": text.en.sms: unknown field .Phone`,
		}},
		{"ErrSMSTooLong", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{.ClinicName}}: `+strings.Repeat("a", 460)+`"`), []string{
			`10:14: step "s1": text.en.sms is 4 SMS segments (GSM-7) even with every field empty: shorten it to at most 3 segments, about 459 characters`,
		}},
		{"ErrSMSTooLongUCS2", doc("    channels: [sms]", "    after: 0s", "    text:", "      en:", `        sms: "{{.ClinicName}}: `+strings.Repeat("á", 200)+`"`), []string{
			`10:14: step "s1": text.en.sms is 4 SMS segments (UCS-2) even with every field empty: shorten it to at most 3 segments, about 201 characters (characters such as á`,
		}},
		{"ErrAlias", doc("    channels: &c [sms]", "    after: 0s", smsText, "  - key: s2", "    channels: *c", "    after: 1h", smsText), []string{
			`13:15: aliases (*c) are not supported: write the value out in full`,
		}},
		{"ErrManyProblemsSorted", doc("    channels: [sms, fax]", "    before: 0s", "    expires: 9d", "    text:", "      en:", `        sms: "{{.Nope}}"`), []string{
			`6:21: step "s1": unknown channel "fax"`,
			`7:13: step "s1": before: 0s is the end of the treatment itself`,
			`8:14: step "s1": expires must be more than 0s and at most 7d`,
			`11:15: step "s1": text.en.sms: unknown field .Nope`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("test.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%d steps); want %q", len(p.Steps), tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError", err)
			}
			if code := aftercare.ErrorCode(err); code != aftercare.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, aftercare.EINVALID)
			}
			var got []string
			for _, pr := range pe.Problems {
				if pr.File != "test.yaml" {
					t.Errorf("problem file = %q", pr.File)
				}
				got = append(got, fmt.Sprintf("%d:%d: %s", pr.Line, pr.Col, pr.Msg))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseErrorFormat(t *testing.T) {
	t.Parallel()
	_, err := Parse("microneedling.yaml", []byte(doc("    chanels: [sms]", "    after: 0s", smsText)))
	want := `microneedling.yaml:5:5: step "s1": missing key "channels": say how the step is sent, e.g. channels: [sms] or channels: [sms, email]
microneedling.yaml:6:5: step "s1": unknown key "chanels" (allowed: key, channels, after, before, day, at, every, from_day, to_day, expires, priority, text)`
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}
	if msg := aftercare.ErrorMessage(err); msg != want {
		t.Errorf("ErrorMessage = %q", msg)
	}
}

// TestParseUnknownKeyNamesStep checks the message a clinic admin sees for a
// typo in a step whose key comes first, as in the docs.
func TestParseUnknownKeyNamesStep(t *testing.T) {
	t.Parallel()
	src := doc("    channels: [sms]", "    after: 0s", "    expire: 2h", smsText)
	_, err := Parse("p.yaml", []byte(src))
	want := `p.yaml:8:5: step "s1": unknown key "expire" (allowed: key, channels, after, before, day, at, every, from_day, to_day, expires, priority, text)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestParseNoFileName(t *testing.T) {
	t.Parallel()
	_, err := Parse("", []byte("- a\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "1:1: a protocol must be a mapping") {
		t.Errorf("got %v", err)
	}
}

// FuzzParse checks that Parse never panics and either returns a protocol
// that parses the same again, compiles and renders, or a *ParseError whose
// problems are sorted and point inside the file.
func FuzzParse(f *testing.F) {
	// The built-ins are left out: at 10-17 KiB they make the fuzzer slow to
	// minimise what it finds; TestBuiltins covers them.
	f.Add([]byte(validDoc))
	for _, s := range []string{
		"", "- a", "slug: a\nslug: b\n", "a: &x 1\nb: *x\n", "{{", doc("    channels: [sms]", "    after: 0s", smsText),
		doc("    channels: [sms]", `    every: "0 9 * * *"`, "    from_day: 1", "    to_day: 3", smsText),
		doc("    channels: [sms]", "    day: -1", `    at: "23:59"`, "    text:", "      en:", "        sms: >-", "          a {{stepDate \"s1\"}}", "", "          b"),
	} {
		f.Add([]byte(s))
	}
	fields := func(p *aftercare.Protocol) Fields {
		loc := time.FixedZone("X", -5*3600)
		f := Fields{FirstName: "Ana", ClinicName: "Clinic", ClinicPhone: "+15550100", Treatment: time.Date(2026, 3, 7, 15, 0, 0, 0, loc), StepDates: map[string]time.Time{}}
		for _, s := range p.Steps {
			f.StepDates[s.Key] = f.Treatment.AddDate(0, 0, 1)
		}
		return f
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("f.yaml", src)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || len(pe.Problems) == 0 {
				t.Fatalf("error %v (%T) is not a *ParseError with problems", err, err)
			}
			lines := lineCount(src)
			for i, pr := range pe.Problems {
				if pr.Line < 1 || pr.Col < 1 || pr.Line > lines || pr.Msg == "" {
					t.Fatalf("problem %d out of the file (%d lines): %+v", i, lines, pr)
				}
				if i > 0 && pr.Line < pe.Problems[i-1].Line {
					t.Fatalf("problems not sorted: %v", pe.Problems)
				}
			}
			if aftercare.ErrorCode(err) != aftercare.EINVALID {
				t.Fatalf("code %q", aftercare.ErrorCode(err))
			}
			return
		}
		again, err := Parse("f.yaml", []byte(p.YAML))
		if err != nil {
			t.Fatalf("a parsed protocol does not parse again: %v", err)
		}
		if !reflect.DeepEqual(p, again) {
			t.Fatalf("parsing again gave a different protocol")
		}
		r, err := Compile(p)
		if err != nil {
			t.Fatalf("a parsed protocol does not compile: %v", err)
		}
		fl := fields(p)
		for _, s := range p.Steps {
			for _, lang := range p.Languages {
				for _, ch := range s.Channels {
					txt, err := r.Render(s.Key, lang, ch, fl)
					if err != nil {
						t.Fatalf("Render(%s, %s, %s): %v", s.Key, lang, ch, err)
					}
					if ch == aftercare.SMS && txt.Body != "" && txt.Segments < 1 {
						t.Fatalf("SMS with %d segments", txt.Segments)
					}
				}
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	src := Builtins()[0].YAML
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("microneedling.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}
