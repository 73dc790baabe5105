package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// countKey is one group of DispatchStore.CountMessages.
type countKey struct {
	clinic  int64
	status  aftercare.Status
	channel aftercare.Channel
}

// counts calls CountMessages and keys its answer; a group given twice fails.
func counts(t *testing.T, s aftercare.Store, now time.Time) map[countKey][2]int {
	t.Helper()
	got, err := s.CountMessages(context.Background(), now)
	if err != nil {
		t.Fatalf("CountMessages: %v", err)
	}
	out := map[countKey][2]int{}
	for _, c := range got {
		k := countKey{c.ClinicID, c.Status, c.Channel}
		if _, dup := out[k]; dup {
			t.Fatalf("CountMessages gave %+v twice", k)
		}
		out[k] = [2]int{c.Count, c.Due}
	}
	return out
}

// testCountMessages: messages are counted per clinic, state and channel;
// only pending ones whose next attempt has come are due.
func testCountMessages(t *testing.T, s aftercare.Store) {
	if got := counts(t, s, t0); len(got) != 0 {
		t.Fatalf("an empty store counts %v, want nothing", got)
	}
	a, protoA := setup(t, s, "a")
	b, protoB := setup(t, s, "b")
	// Messages alternate SMS, email and go two at a time, 12 h apart from
	// t0+12h (Enrollment). Pending ones are at t0+12h: a store may keep
	// pending messages a day or more ahead out of the count.
	withStatuses(t, s, a.ID, protoA.ID, 1, aftercare.StatusSent, aftercare.StatusPending,
		aftercare.StatusDelivered, aftercare.StatusFailed)
	withStatuses(t, s, a.ID, protoA.ID, 2, aftercare.StatusPending)
	withStatuses(t, s, b.ID, protoB.ID, 3, aftercare.StatusPending, aftercare.StatusPending)
	withStatuses(t, s, b.ID, protoB.ID, 4, aftercare.StatusCancelled)

	sms, email := aftercare.SMS, aftercare.Email
	want := func(due int) map[countKey][2]int {
		return map[countKey][2]int{
			{a.ID, aftercare.StatusSent, sms}:      {1, 0},
			{a.ID, aftercare.StatusPending, email}: {1, due},
			{a.ID, aftercare.StatusPending, sms}:   {1, due},
			{a.ID, aftercare.StatusDelivered, sms}: {1, 0},
			{a.ID, aftercare.StatusFailed, email}:  {1, 0},
			{b.ID, aftercare.StatusPending, sms}:   {1, due},
			{b.ID, aftercare.StatusPending, email}: {1, due},
			{b.ID, aftercare.StatusCancelled, sms}: {1, 0},
		}
	}
	same(t, "counts a minute before the pending ones are due", counts(t, s, t0.Add(12*time.Hour-time.Minute)), want(0))
	same(t, "counts when they are due", counts(t, s, t0.Add(12*time.Hour)), want(1))
}
