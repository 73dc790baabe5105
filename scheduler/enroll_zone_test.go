package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// TestEnrollDefaultZone: a request without a zone is read in the zone of
// the patient when the clinic knows them, else in the clinic's, and the
// result says which; a zone given is used as given, a bad one refused.
func TestEnrollDefaultZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		before   string // the zone Ana was enrolled in first ("" for a new patient)
		tz       string // the request's
		want     string // the zone used
		wantUTC  string // the treatment time, 2026-11-22T15:00 read in want
		errField string
	}{
		{"OKNewPatientClinicZone", "", "", "America/New_York", "2026-11-22T20:00:00Z", ""},
		{"OKNewPatientBlankIsClinicZone", "", "  ", "America/New_York", "2026-11-22T20:00:00Z", ""},
		{"OKReturningPatientKeepsZone", "Europe/London", "", "Europe/London", "2026-11-22T15:00:00Z", ""},
		{"OKGivenZoneWins", "Europe/London", "America/Denver", "America/Denver", "2026-11-22T22:00:00Z", ""},
		{"ErrZoneUnknown", "", "America/Atlantis", "", "", "tz"},
		{"ErrZoneLocal", "Europe/London", "Local", "", "", "tz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			// The clinic in another zone than Ana's, so that a request read
			// in the wrong one shows.
			clinic := *f.Clinic
			clinic.TZ = "America/New_York"
			if tc.before != "" {
				first := ana()
				first.TZ, first.TreatedAt = tc.before, "2026-11-21T10:00"
				if _, err := f.Svc.Enroll(ctx, &clinic, first); err != nil {
					t.Fatal(err)
				}
			}
			n := len(f.Messages(t))
			req := ana()
			req.TZ = tc.tz
			res, err := f.Svc.Enroll(ctx, &clinic, req)
			if tc.errField != "" {
				var ae *aftercare.Error
				if aftercare.ErrorCode(err) != aftercare.EINVALID || !asErr(err, &ae) || ae.Field != tc.errField {
					t.Fatalf("got %v, want EINVALID on field %s", err, tc.errField)
				}
				if got := len(f.Messages(t)); got != n {
					t.Errorf("a rejected enrollment wrote %d messages", got-n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !res.Created || res.Patient.TZ != tc.want {
				t.Errorf("created %v, patient's zone %q, want %q", res.Created, res.Patient.TZ, tc.want)
			}
			if got := res.Enrollment.TreatedAt.UTC().Format(time.RFC3339); got != tc.wantUTC {
				t.Errorf("treated at %s, want %s (15:00 in %s)", got, tc.wantUTC, tc.want)
			}
			stored, err := f.DB.FindPatient(ctx, f.Clinic.ID, res.Patient.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.TZ != tc.want {
				t.Errorf("stored zone %q, want %q", stored.TZ, tc.want)
			}
			// The same request again is the same enrollment: the default
			// is stable.
			again, err := f.Svc.Enroll(ctx, &clinic, req)
			if err != nil || again.Created || again.Enrollment.ID != res.Enrollment.ID {
				t.Errorf("enrolling again: %v, created %v", err, again != nil && again.Created)
			}
		})
	}
}
