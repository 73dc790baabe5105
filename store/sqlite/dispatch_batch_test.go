package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// RecordOutcomes commits a group of outcomes at once, each as
// RecordOutcome would: one no longer the claimer's (ECONFLICT) or invalid
// is left out without taking the others down, and nothing of it is
// written.
func TestRecordOutcomesGroup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	for i := range 4 {
		if _, err := db.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, i, t0, 1)); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(13 * time.Hour)
	claimed, err := db.ClaimDue(ctx, now, "test/1", 4)
	if err != nil || len(claimed) != 4 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	out := func(i int, owner string, st aftercare.Status) *aftercare.Outcome {
		m := claimed[i].Message
		return &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: owner, Status: st, SentAt: now,
			ProviderID: "SM" + string(rune('a'+i)), Attempt: aftercare.Attempt{Number: 1, At: now, Channel: m.Channel, Outcome: st}}
	}
	errs := db.RecordOutcomes(ctx, []*aftercare.Outcome{
		out(0, "test/1", aftercare.StatusSent),
		out(1, "someone-else", aftercare.StatusSent), // not its claim
		out(2, "test/1", aftercare.StatusSending),    // not an outcome
		out(3, "test/1", aftercare.StatusSent),
	})
	want := []string{"", aftercare.ECONFLICT, aftercare.EINVALID, ""}
	for i, err := range errs {
		if aftercare.ErrorCode(err) != want[i] && !(want[i] == "" && err == nil) {
			t.Errorf("outcome %d: %v, want code %q", i, err, want[i])
		}
	}
	for i, st := range []aftercare.Status{aftercare.StatusSent, aftercare.StatusSending, aftercare.StatusSending, aftercare.StatusSent} {
		var got aftercare.Status
		if err := db.reader.GetContext(ctx, &got, `SELECT status FROM messages WHERE id = ?`, claimed[i].Message.ID); err != nil {
			t.Fatal(err)
		}
		if got != st {
			t.Errorf("message %d is %s, want %s", i, got, st)
		}
	}
	if n := count(t, db, "attempts"); n != 2 {
		t.Errorf("%d attempts stored, want the 2 recorded", n)
	}
	// The group retried later, by its owner, commits.
	if errs := db.RecordOutcomes(ctx, []*aftercare.Outcome{out(1, "test/1", aftercare.StatusFailed)}); errs[0] != nil {
		t.Errorf("recording the other claim's outcome by its owner: %v", errs[0])
	}
}
