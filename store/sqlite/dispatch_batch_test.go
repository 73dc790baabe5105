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

// OptedOutMany answers as OptedOut does, patient by patient and channel
// by channel, and refuses a patient of another clinic.
func TestOptedOutMany(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	var ids []int64
	for i := range 2 {
		ne := storetest.Enrollment(c.ID, p.ID, i, t0, 1)
		if _, err := db.Enroll(ctx, ne); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := db.reader.GetContext(ctx, &id, `SELECT id FROM patients WHERE phone = ?`, ne.Patient.Phone); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := db.writer.ExecContext(ctx, `UPDATE patients SET sms_opt_out_at = ? WHERE id = ?`, ts(t0), ids[1]); err != nil {
		t.Fatal(err)
	}
	got, err := db.OptedOutMany(ctx, []int64{c.ID, c.ID, c.ID}, []int64{ids[0], ids[1], ids[1]},
		[]aftercare.Channel{aftercare.SMS, aftercare.SMS, aftercare.Email})
	if err != nil || len(got) != 3 || got[0] || !got[1] || got[2] {
		t.Errorf("OptedOutMany = %v, %v; want [false true false]", got, err)
	}
	for i, ch := range []aftercare.Channel{aftercare.SMS, aftercare.SMS, aftercare.Email} {
		one, err := db.OptedOut(ctx, c.ID, ids[min(i, 1)], ch)
		if err != nil || (len(got) == 3 && one != got[i]) {
			t.Errorf("OptedOut(%d, %s) = %v, %v; OptedOutMany said %v", ids[min(i, 1)], ch, one, err, got)
		}
	}
	if _, err := db.OptedOutMany(ctx, []int64{c.ID + 1}, []int64{ids[0]}, []aftercare.Channel{aftercare.SMS}); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("a patient asked for under another clinic: %v, want ENOTFOUND", err)
	}
}
