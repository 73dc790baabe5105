package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// TestRecordOutcomesDeadlock: a group takes its messages' row locks in
// message id order, whatever order its outcomes come in; and when
// PostgreSQL breaks a deadlock by aborting the group's transaction, each
// outcome is recorded alone and none is lost.
//
// Another transaction, the test's, holds the second message's lock. The
// group, given the second message's outcome first, locks the first
// message and waits. The test's transaction then asks for the first
// message: a deadlock. The group waited first, so its deadlock_timeout
// (the server's, 1 s by default) runs out first and it is the one aborted
// (the test's own is set far longer, which needs a superuser: the test
// skips otherwise).
func TestRecordOutcomesDeadlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c := storetest.Clinic("deadlock")
	if err := db.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := db.SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if _, err := db.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, i, t0, 1)); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(13 * time.Hour)
	claimed, err := db.ClaimDue(ctx, at, "test/1", 2)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimDue: %d, %v", len(claimed), err)
	}
	first, second := claimed[0].Message, claimed[1].Message
	if first.ID > second.ID {
		first, second = second, first
	}
	outcome := func(m *aftercare.Message, sid string) *aftercare.Outcome {
		return &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: "test/1", Status: aftercare.StatusSent,
			SentAt: at, ProviderID: sid, Attempt: aftercare.Attempt{Number: 1, At: at, Channel: m.Channel, ProviderID: sid,
				Outcome: aftercare.StatusSent}}
	}

	other, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx) //nolint:errcheck // rolled back below; this one is for a test that fails first
	if _, err := other.Exec(ctx, `SET LOCAL deadlock_timeout = '10min'`); err != nil {
		t.Skipf("setting deadlock_timeout needs a superuser: %v", err)
	}
	var otherPID int32
	if err := other.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&otherPID); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, `SELECT 1 FROM messages WHERE id = $1 FOR UPDATE`, second.ID); err != nil {
		t.Fatal(err)
	}

	done := make(chan []error, 1)
	go func() {
		done <- db.RecordOutcomes(ctx, []*aftercare.Outcome{outcome(second, "SM2"), outcome(first, "SM1")})
	}()
	// Until the group waits for the test's transaction (polled: nothing
	// else here signals it).
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for blocked := 0; blocked == 0; {
		if err := db.pool.QueryRow(waitCtx, `SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`,
			otherPID).Scan(&blocked); err != nil {
			t.Fatalf("waiting for the group to wait: %v", err)
		}
	}
	// The group holds the first message's lock, though its outcome came
	// second.
	_, err = db.pool.Exec(ctx, `SELECT 1 FROM messages WHERE id = $1 FOR UPDATE NOWAIT`, first.ID)
	if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Errorf("locking the first message while the group waits for the second: %v; want it locked by the group (55P03)", err)
	}
	// The deadlock: returns once PostgreSQL has aborted the group.
	if _, err := other.Exec(ctx, `UPDATE messages SET note = note WHERE id = $1`, first.ID); err != nil {
		t.Fatalf("the test's transaction was the one aborted: %v", err)
	}
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	errs := <-done
	for i, err := range errs {
		if err != nil {
			t.Errorf("outcome %d after the deadlock: %v, want recorded alone", i, err)
		}
	}
	for _, m := range []*aftercare.Message{first, second} {
		var status string
		var attempts int
		err := db.pool.QueryRow(ctx, `SELECT status, (SELECT count(*) FROM attempts WHERE message_id = $1) FROM messages WHERE id = $1`,
			m.ID).Scan(&status, &attempts)
		if err != nil {
			t.Fatal(err)
		}
		if status != string(aftercare.StatusSent) || attempts != 1 {
			t.Errorf("message %d: %s with %d attempts, want sent with 1", m.ID, status, attempts)
		}
	}
}
