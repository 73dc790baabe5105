package storetest

import (
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Texts of typical length: an SMS of two segments, an email of a few paragraphs.
var (
	smsBody = "Hi {{name}}, this is Downtown Skin Clinic. For the next 24 hours avoid heat, saunas and " +
		"strenuous exercise, and do not rub the treated area. Questions? Call us on +1 415 555 0100. Reply STOP to opt out."
	emailSubject = "Your aftercare: the first days after your treatment"
	emailBody    = strings.Repeat("Keep the treated area clean and dry, avoid make-up for 12 hours, "+
		"sleep on your back the first night and drink plenty of water. Mild redness is normal "+
		"and fades within a day or two; call us if it does not. ", 4)
)

// Clinic returns valid settings for a new clinic with that slug.
func Clinic(slug string) *aftercare.Clinic {
	return &aftercare.Clinic{
		Slug:     slug,
		Name:     "Clinic " + slug,
		Phone:    "+14155550100",
		Country:  "US",
		TZ:       "America/New_York",
		Window:   aftercare.Window{Start: aftercare.DefaultWindowStart, End: aftercare.DefaultWindowEnd},
		DailyCap: aftercare.DefaultDailyCap,
	}
}

// Protocol returns a protocol to save for the clinic. Stores keep its YAML,
// not its steps, so it has none.
func Protocol(clinicID int64, slug string) *aftercare.Protocol {
	yaml := "slug: " + slug + "\nname: " + slug + " aftercare\nsteps: []\n"
	return &aftercare.Protocol{
		ClinicID:  clinicID,
		Slug:      slug,
		Name:      slug + " aftercare",
		Source:    aftercare.SourceClinic,
		Languages: []string{"en", "es"},
		YAML:      yaml,
		SHA256:    fmt.Sprintf("%064x", len(yaml)),
	}
}

// Enrollment returns a realistic NewEnrollment for tests and benchmarks:
// patient number i of the clinic (a name, phone and email unique to i, and
// consent to both channels), on the protocol, treated at treatedAt, with a
// key unique to (i, treatedAt), and n pending messages alternating SMS and
// email at 12-hour steps, with texts of typical length.
func Enrollment(clinicID, protocolID int64, i int, treatedAt time.Time, n int) *aftercare.NewEnrollment {
	consent := treatedAt.Add(-time.Hour)
	ne := &aftercare.NewEnrollment{
		Patient: &aftercare.Patient{
			ClinicID:     clinicID,
			Name:         fmt.Sprintf("Patient %d Example", i),
			Phone:        fmt.Sprintf("+1415%07d", i%10_000_000),
			Email:        fmt.Sprintf("patient%d@example.com", i),
			TZ:           "America/New_York",
			Lang:         "en",
			SMSConsent:   aftercare.Consent{At: consent, Source: "import:patients.csv"},
			EmailConsent: aftercare.Consent{At: consent, Source: "import:patients.csv"},
		},
		Enrollment: &aftercare.Enrollment{
			ClinicID:   clinicID,
			ProtocolID: protocolID,
			TreatedAt:  treatedAt,
			Key:        fmt.Sprintf("p%d/%d@%s", i, protocolID, treatedAt.UTC().Format(time.RFC3339)),
			Source:     "import:patients.csv",
		},
	}
	for k := range n {
		m := &aftercare.Message{
			StepKey: fmt.Sprintf("step-%02d", k/2),
			Channel: aftercare.SMS,
			Lang:    "en",
			Status:  aftercare.StatusPending,
			SendAt:  treatedAt.Add(time.Duration(k/2+1) * 12 * time.Hour),
			Body:    smsBody,
		}
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
		m.Segments = 2
		if k%2 == 1 {
			m.Channel, m.Subject, m.Body, m.Segments = aftercare.Email, emailSubject, emailBody, 0
		}
		ne.Messages = append(ne.Messages, m)
	}
	return ne
}
