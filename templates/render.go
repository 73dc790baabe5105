package templates

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aftercare/aftercare"
)

// Fields are the values a message template may show.
type Fields struct {
	FirstName   string
	ClinicName  string
	ClinicPhone string
	// Treatment is the end of the treatment in the patient's local time; it
	// is shown by {{.TreatmentDate}} and {{.TreatmentTime}}.
	Treatment time.Time
	// TreatmentName is what {{.Treatment}} shows: the protocol's name for
	// the treatment in the message's language when the clinic allows it
	// (Clinic.ShowTreatment), else "" for the neutral word ("treatment",
	// "tratamiento").
	TreatmentName string
	// StepDates holds, by step key, the local time of each step's first
	// occurrence; {{stepDate "key"}} shows its date.
	StepDates map[string]time.Time
}

// Text is a rendered message.
type Text struct {
	Subject  string // email only
	Body     string // the SMS text, or the plain-text email body
	Segments int    // SMS only: the parts the body is sent as (see Segments)
}

// Renderer holds the compiled templates of one protocol version. It is safe
// for concurrent use.
type Renderer struct {
	steps map[string]bool
	texts map[textKey]*compiled
}

type textKey struct{ step, lang string }

type compiled struct {
	sms, email           bool // the step's channels
	smsT, subject, bodyT tmpl
	// A text that shows no patient's field (only literal text, the
	// clinic's name and phone and {{.Treatment}}, which follows the
	// clinic's choice) comes out the same for every patient of a clinic:
	// the last one rendered is kept for the next (an import renders the same
	// daily reminder for every row). The treatment name is part of the key,
	// so that one clinic's choice never reaches another clinic's patients.
	smsClinicOnly, emailClinicOnly bool
	smsLast, emailLast             atomic.Pointer[rendered]
}

// rendered is a text as rendered for one clinic.
type rendered struct {
	clinicName, clinicPhone, treatmentName string
	text                                   Text
}

// last returns the text kept in p if it was rendered for f's clinic.
func last(p *atomic.Pointer[rendered], f *Fields) (Text, bool) {
	if r := p.Load(); r != nil && r.clinicName == f.ClinicName && r.clinicPhone == f.ClinicPhone && r.treatmentName == f.TreatmentName {
		return r.text, true
	}
	return Text{}, false
}

// clinicOnly reports whether t shows nothing but literal text and the
// clinic's fields (its name, phone and choice of treatment name).
func (t *tmpl) clinicOnly() bool {
	for _, p := range t.pieces {
		switch p.field {
		case fieldText, fieldClinicName, fieldClinicPhone, fieldTreatmentName:
		default:
			return false
		}
	}
	return true
}

// Compile checks and compiles the message templates of p, once per protocol
// version. A protocol from Parse always compiles; for any other protocol
// Compile returns an EINVALID error naming the first template at fault.
func Compile(p *aftercare.Protocol) (*Renderer, error) {
	r := &Renderer{
		steps: make(map[string]bool, len(p.Steps)),
		texts: make(map[textKey]*compiled, len(p.Steps)*len(p.Languages)),
	}
	for i := range p.Steps {
		r.steps[p.Steps[i].Key] = true
	}
	exists := func(key string) bool { return r.steps[key] }
	for i := range p.Steps {
		s := &p.Steps[i]
		for _, lang := range slices.Sorted(maps.Keys(s.Text)) { // the same first error every time
			st := s.Text[lang]
			c := &compiled{sms: s.HasChannel(aftercare.SMS), email: s.HasChannel(aftercare.Email)}
			for _, part := range []struct {
				name string
				src  string
				dst  *tmpl
				used bool
			}{
				{"sms", st.SMS, &c.smsT, c.sms},
				{"email.subject", st.EmailSubject, &c.subject, c.email},
				{"email.body", st.EmailBody, &c.bodyT, c.email},
			} {
				if !part.used {
					continue
				}
				t, errs := compileTemplate(part.src, exists)
				if len(errs) > 0 {
					return nil, aftercare.Errorf(aftercare.EINVALID, "protocol %q step %q: text.%s.%s: line %d: %s",
						p.Slug, s.Key, lang, part.name, errs[0].Line, errs[0].Msg)
				}
				*part.dst = t
			}
			c.smsClinicOnly = c.smsT.clinicOnly()
			c.emailClinicOnly = c.subject.clinicOnly() && c.bodyT.clinicOnly()
			r.texts[textKey{s.Key, lang}] = c
		}
	}
	return r, nil
}

// Render fills in the text of one step in one language for one channel.
// SMS bodies are trimmed of surrounding white space and counted in
// segments; email subjects are trimmed and kept on one line; email bodies
// are returned exactly as the template gives them (plain text: the sender
// makes the HTML).
//
// It returns ENOTFOUND when the protocol has no such step or no text in
// lang, and EINVALID when the step is not sent on ch or when f lacks a date
// the template shows (Treatment, or a step's entry in StepDates).
func (r *Renderer) Render(stepKey, lang string, ch aftercare.Channel, f Fields) (Text, error) {
	c := r.texts[textKey{stepKey, lang}]
	if c == nil {
		if !r.steps[stepKey] {
			return Text{}, aftercare.Errorf(aftercare.ENOTFOUND, "the protocol has no step %q", stepKey)
		}
		return Text{}, aftercare.Errorf(aftercare.ENOTFOUND, "step %q has no text in language %q", stepKey, lang)
	}
	var buf [512]byte
	switch ch {
	case aftercare.SMS:
		if !c.sms {
			return Text{}, aftercare.Errorf(aftercare.EINVALID, "step %q is not sent by sms", stepKey)
		}
		if c.smsClinicOnly {
			if t, ok := last(&c.smsLast, &f); ok {
				return t, nil
			}
		}
		b, err := c.smsT.appendTo(buf[:0], lang, &f)
		if err != nil {
			return Text{}, renderError(stepKey, err)
		}
		body := string(bytes.TrimSpace(b))
		n, _ := Segments(body)
		t := Text{Body: body, Segments: n}
		if c.smsClinicOnly {
			c.smsLast.Store(&rendered{f.ClinicName, f.ClinicPhone, f.TreatmentName, t})
		}
		return t, nil
	case aftercare.Email:
		if !c.email {
			return Text{}, aftercare.Errorf(aftercare.EINVALID, "step %q is not sent by email", stepKey)
		}
		if c.emailClinicOnly {
			if t, ok := last(&c.emailLast, &f); ok {
				return t, nil
			}
		}
		b, err := c.subject.appendTo(buf[:0], lang, &f)
		if err != nil {
			return Text{}, renderError(stepKey, err)
		}
		subject := oneLine(b)
		b, err = c.bodyT.appendTo(make([]byte, 0, c.bodyT.literal+128), lang, &f)
		if err != nil {
			return Text{}, renderError(stepKey, err)
		}
		t := Text{Subject: subject, Body: string(b)}
		if c.emailClinicOnly {
			c.emailLast.Store(&rendered{f.ClinicName, f.ClinicPhone, f.TreatmentName, t})
		}
		return t, nil
	}
	return Text{}, aftercare.Errorf(aftercare.EINVALID, "unknown channel %q: use sms or email", ch)
}

// PickLanguage chooses from the languages a protocol has the one to use
// for a patient who asked for want: want itself, else its base language
// ("es" for "es-MX"), else another variant of the same base ("es-MX" for
// "es"), else the first of have. It returns "" only when have is empty.
func PickLanguage(have []string, want string) string {
	if len(have) == 0 {
		return ""
	}
	base, _, _ := strings.Cut(want, "-")
	for _, l := range have {
		if l == want {
			return l
		}
	}
	for _, l := range have {
		if l == base {
			return l
		}
	}
	for _, l := range have {
		if b, _, _ := strings.Cut(l, "-"); b == base {
			return l
		}
	}
	return have[0]
}

// oneLine turns a rendered subject into one header-safe line: line breaks
// (which a field such as a clinic name could carry) become spaces.
func oneLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if bytes.ContainsAny(b, "\r\n") {
		b = bytes.Map(func(r rune) rune {
			if r == '\r' || r == '\n' {
				return ' '
			}
			return r
		}, b)
	}
	return string(b)
}

func renderError(stepKey string, err error) error {
	return aftercare.Errorf(aftercare.EINVALID, "step %q: %s", stepKey, err)
}
