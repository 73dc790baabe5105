package scheduler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

// A protocol whose step fires four times a day for 120 days used to import
// and then fail every enrollment; import now refuses it with enrollment's
// words, and stores nothing.
func TestImportRefusesWhatEnrollmentWould(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	doc := `slug: four-a-day
name: Four a day
languages: [en]
steps:
  - key: drops
    channels: [sms]
    every: "0 8,12,16,20 * * *"
    from_day: 1
    to_day: 120
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, use your eye drops now."
`
	_, _, err := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "four-a-day.yaml", []byte(doc))
	if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(aftercare.ErrorMessage(err), templates.TooOften("drops", 1, 120)) {
		t.Fatalf("import: %v; want EINVALID saying %q", err, templates.TooOften("drops", 1, 120))
	}
	if _, err := f.DB.FindProtocol(ctx, f.Clinic.ID, "four-a-day", 0); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("a refused protocol was stored: %v", err)
	}
	// For thirty days it imports, and enrolls.
	doc = strings.Replace(doc, "to_day: 120", "to_day: 30", 1)
	if _, _, err := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "four-a-day.yaml", []byte(doc)); err != nil {
		t.Fatalf("import for 30 days: %v", err)
	}
	req := ana()
	req.Protocol, req.Lang = "four-a-day", "en"
	r, err := f.Svc.Enroll(ctx, f.Clinic, req)
	if err != nil {
		t.Fatalf("enroll: %v", err)
	}
	if n := len(r.Messages); n != 120 {
		t.Errorf("planned %d messages, want 4 a day for 30 days", n)
	}
}
