package aftercare

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"
)

// Consent records that a patient agreed to messages on one channel: when and
// how (e.g. "cli", "import:patients.csv:12", "web:user@clinic"). A zero At
// means no consent, and the channel gets no messages.
type Consent struct {
	At     time.Time
	Source string
}

// Given reports whether consent was recorded.
func (c Consent) Given() bool { return !c.At.IsZero() }

// Patient is a person a clinic sends aftercare to.
type Patient struct {
	ID       int64
	ClinicID int64
	Name     string
	Phone    string // E.164, "" when none
	Email    string // lower-cased address, "" when none
	TZ       string // IANA zone
	Lang     string // language code of the texts, e.g. "en", "es"

	SMSConsent   Consent
	EmailConsent Consent
	SMSOptOutAt  time.Time // zero unless the patient opted out (STOP, Twilio 21610)
	EmailOptOut  time.Time

	CreatedAt time.Time
	UpdatedAt time.Time
}

// FirstName is the first word of the name, used to greet the patient.
func (p *Patient) FirstName() string {
	f := strings.Fields(p.Name)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// CanReceive reports whether the patient consented to, and has not opted out
// of, channel c and has an address for it.
func (p *Patient) CanReceive(c Channel) bool {
	switch c {
	case SMS:
		return p.Phone != "" && p.SMSConsent.Given() && p.SMSOptOutAt.IsZero()
	case Email:
		return p.Email != "" && p.EmailConsent.Given() && p.EmailOptOut.IsZero()
	}
	return false
}

// MatchKey identifies a patient within a clinic for idempotent enrollment:
// the same name, phone and email is the same person. (A shared family phone
// with another name is another patient.)
func (p *Patient) MatchKey() string {
	name := strings.ToLower(strings.Join(strings.Fields(p.Name), " "))
	return name + "|" + p.Phone + "|" + p.Email
}

// ValidateName checks a patient's name: present, not absurdly long, and free
// of control characters (it ends up in email headers and SMS bodies) and of
// invisible ones (CheckNameChars).
func ValidateName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "", FieldErrorf("name", "the patient's name is required")
	}
	if len([]rune(name)) > 120 {
		return "", FieldErrorf("name", "the name is longer than 120 characters")
	}
	if err := CheckNameChars("name", name); err != nil {
		return "", err
	}
	return name, nil
}

// NormalizePhone parses a phone number as written by a person and returns it
// in E.164 form. A number without a country code is read in region (ISO
// 3166, e.g. "US"). The empty string stays empty.
func NormalizePhone(raw, region string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	num, err := phonenumbers.Parse(raw, region)
	if errors.Is(err, phonenumbers.ErrInvalidCountryCode) && strings.HasPrefix(raw, "+") {
		return "", FieldErrorf("phone", "%q is not a valid phone number: it starts with no country's code; check the digits", raw)
	}
	if err != nil {
		return "", FieldErrorf("phone", "%q is not a phone number; write the digits, with the country code for a number from elsewhere%s", raw, exampleFor(region))
	}
	if !phonenumbers.IsValidNumber(num) {
		if strings.HasPrefix(raw, "+") {
			// A number with its country code is judged by that country,
			// whatever the clinic's.
			r := phonenumbers.GetRegionCodeForCountryCode(int(num.GetCountryCode()))
			if r == "" || r == "ZZ" {
				return "", FieldErrorf("phone", "%q is not a valid phone number: it starts with no country's code; check the digits", raw)
			}
			return "", FieldErrorf("phone", "%q is not a valid phone number for %s (+%d); check the digits", raw, r, num.GetCountryCode())
		}
		return "", FieldErrorf("phone", "%q is not a valid phone number for %s; check the digits, or write it with its country code if it is from elsewhere%s",
			raw, region, exampleFor(region))
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// exampleFor is a hint of how numbers of region are written with their
// country code (" (e.g. +1 201-555-0123)"), or "".
func exampleFor(region string) string {
	ex := phonenumbers.GetExampleNumber(region)
	if ex == nil {
		return ""
	}
	return " (e.g. " + phonenumbers.Format(ex, phonenumbers.INTERNATIONAL) + ")"
}

// RegionOfPhone returns the ISO region of an E.164 number, or "".
func RegionOfPhone(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	r := phonenumbers.GetRegionCodeForNumber(num)
	if r == "ZZ" {
		return ""
	}
	return r
}

// DisplayPhone writes an E.164 number the way people read it
// (+1 415-555-0100); anything unparsable is returned as it is.
func DisplayPhone(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// NormalizeEmail checks an address and returns it lower-cased. A display
// name ("Ana <ana@example.com>") is refused: give the bare address.
func NormalizeEmail(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(raw)
	if err != nil || a.Name != "" || a.Address != raw || !strings.Contains(a.Address[strings.LastIndexByte(a.Address, '@')+1:], ".") {
		return "", FieldErrorf("email", "%q is not an email address; write it as name@example.com", raw)
	}
	return strings.ToLower(a.Address), nil
}

// MaskPhone hides all but the last two digits, for logs.
func MaskPhone(p string) string {
	if len(p) <= 4 {
		return "***"
	}
	return p[:2] + strings.Repeat("*", len(p)-4) + p[len(p)-2:]
}

// MaskEmail hides the local part but its first letter, for logs.
func MaskEmail(e string) string {
	at := strings.LastIndexByte(e, '@')
	if at <= 0 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}

// PatientStore finds and changes a clinic's patients. Patients are written
// by Enroll (EnrollmentStore) and their consent by SetConsent
// (ConsentStore); here they are looked up and edited.
type PatientStore interface {
	// FindPatient returns a patient. ENOTFOUND.
	FindPatient(ctx context.Context, clinicID, id int64) (*Patient, error)
	// FindPatientByMatchKey returns the patient with that MatchKey. ENOTFOUND.
	FindPatientByMatchKey(ctx context.Context, clinicID int64, key string) (*Patient, error)
	// FindPatientsByMatchKey returns the patients whose MatchKey is one of
	// keys, by MatchKey; keys of no patient are absent from the map.
	FindPatientsByMatchKey(ctx context.Context, clinicID int64, keys []string) (map[string]*Patient, error)
	// SearchPatients finds the clinic's patients whose name contains q
	// (case-insensitive), whose phone contains q's digits (at least 3), or
	// whose email contains q; most recently updated first, at most limit.
	SearchPatients(ctx context.Context, clinicID int64, q string, limit int) ([]*Patient, error)
	// UpdatePatient saves p's Name, Phone, Email, TZ, Lang, consents and
	// opt-outs (by ClinicID and ID), recomputes its match key and sets
	// UpdatedAt. The consent events given (the changes of consent it
	// makes) are recorded in the same transaction, with p's clinic and id
	// and At defaulting to now. ENOTFOUND; ECONFLICT when another patient
	// of the clinic has the same name, phone and email.
	UpdatePatient(ctx context.Context, p *Patient, events ...*ConsentEvent) error
}
