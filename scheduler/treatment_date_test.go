package scheduler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestTreatmentDateWarning: a treatment more than a week ago or more than
// three months ahead is stored with a warning that says what will happen,
// or, asked to (AskDate), refused with the warning and nothing stored.
func TestTreatmentDateWarning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name, treated string
		says          []string // "" for no warning
	}{
		{"OKYesterday", "2026-11-21T15:00", nil},
		{"OKSevenDaysAgo", "2026-11-15T15:00", nil},
		{"OKThreeMonthsAhead", "2027-02-20T15:00", nil},
		{"WarnEightDaysAgo", "2026-11-13T15:00", []string{"Fri 13 Nov 2026", "9 days ago", "are already past and will be skipped", "Check the date"}},
		{"WarnMonthsAhead", "2027-03-01T15:00", []string{"Mon 1 Mar 2027", "99 days from today", "the first on Mon 1 Mar 2027", "Check the date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			req := ana()
			req.TreatedAt = tc.treated
			req.AskDate = true
			_, err := f.Svc.Enroll(ctx, f.Clinic, req)
			var ae *aftercare.Error
			if tc.says == nil {
				if err != nil {
					t.Fatalf("AskDate: %v", err)
				}
				return
			}
			if !errors.As(err, &ae) || ae.Code != aftercare.ECONFLICT || ae.Field != "confirm_date" {
				t.Fatalf("AskDate: %v, want ECONFLICT on confirm_date", err)
			}
			if n := len(f.Messages(t)); n != 0 {
				t.Fatalf("asked first, yet %d messages were stored", n)
			}
			req.AskDate = false
			res, err := f.Svc.Enroll(ctx, f.Clinic, req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 1 || res.Warnings[0] != ae.Message {
				t.Fatalf("warnings %q, want the one asked about: %q", res.Warnings, ae.Message)
			}
			for _, want := range tc.says {
				if !strings.Contains(res.Warnings[0], want) {
					t.Errorf("%q lacks %q", res.Warnings[0], want)
				}
			}
			if strings.Contains(tc.name, "Ago") {
				past := 0
				for _, m := range res.Messages {
					if m.Status == aftercare.StatusSkipped {
						past++
					}
				}
				if want := fmt.Sprintf(" %d of its %d messages", past, len(res.Messages)); past == 0 || !strings.Contains(res.Warnings[0], want) {
					t.Errorf("%q does not count the %d skipped of %d", res.Warnings[0], past, len(res.Messages))
				}
			}
		})
	}
}

// TestRescheduleAskingDate: a move to an unusual date is refused with the
// warning and nothing changed when asked to (RescheduleAskingDate), and
// stored with the same warning by Reschedule; a usual date moves at once.
func TestRescheduleAskingDate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name, treated string
		warns         bool
	}{
		{"OKTomorrow", "2026-11-23T15:00", false},
		{"WarnMonthsAhead", "2027-03-01T15:00", true},
		{"WarnWeeksAgo", "2026-11-10T15:00", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			r := f.enrollAna(t)
			id := r.Enrollment.ID
			stored := func() string {
				j, err := json.Marshal([]any{f.Enrollments(t), f.Messages(t)})
				if err != nil {
					t.Fatal(err)
				}
				return string(j)
			}
			before := stored()
			res, err := f.Svc.RescheduleAskingDate(ctx, f.Clinic, id, tc.treated)
			if !tc.warns {
				if err != nil || len(res.Warnings) != 0 || res.Enrollment.TreatedAt.Equal(r.Enrollment.TreatedAt) {
					t.Fatalf("a usual date: %v, warnings %q", err, res.Warnings)
				}
				return
			}
			var ae *aftercare.Error
			if !errors.As(err, &ae) || ae.Code != aftercare.ECONFLICT || ae.Field != "confirm_date" || !strings.Contains(ae.Message, "Check the date") {
				t.Fatalf("asking: %v, want ECONFLICT on confirm_date with the warning", err)
			}
			if after := stored(); after != before {
				t.Errorf("asked first, yet the enrollment changed:\nbefore %s\nafter  %s", before, after)
			}
			res, err = f.Svc.Reschedule(ctx, f.Clinic, id, tc.treated)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 1 || res.Warnings[0] != ae.Message {
				t.Errorf("warnings %q, want the one asked about: %q", res.Warnings, ae.Message)
			}
		})
	}
}
