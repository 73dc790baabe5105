package scheduler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestRescheduleNotesSayRescheduled: a reschedule into the past skips the
// steps whose time had passed, and their notes say that it was the
// reschedule, not the enrollment, they were late for.
func TestRescheduleNotesSayRescheduled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := f.enrollAna(t).Enrollment.ID
	res, err := f.Svc.Reschedule(context.Background(), f.Clinic, id, "2026-11-20T15:00")
	if err != nil {
		t.Fatal(err)
	}
	skipped := 0
	for _, m := range res.Messages {
		if strings.Contains(m.Note, "enrolled") {
			t.Errorf("%s: note %q speaks of the enrollment after a reschedule", m.Ident(), m.Note)
		}
		if m.Status == aftercare.StatusSkipped && strings.Contains(m.Note, "when the enrollment was rescheduled") {
			skipped++
		}
	}
	if skipped == 0 {
		t.Error("no step skipped with a note naming the reschedule")
	}
}
