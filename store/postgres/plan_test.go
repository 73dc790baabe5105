package postgres

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
	"github.com/aftercare/aftercare/store/storetest"
)

// keptFixture opens a database with a clinic and a protocol, and enrolls n
// patients treated at t0 with eight messages each: at 12 h and 24 h after
// t0 (rows: the clock stands a few seconds after t0) and at 36 h and 48 h
// (kept on the enrollment), an SMS and an email each time.
func keptFixture(t *testing.T, db *DB, n int) []*aftercare.NewEnrollment {
	t.Helper()
	ctx := context.Background()
	c := storetest.Clinic("kept")
	if err := db.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := db.SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	batch := make([]*aftercare.NewEnrollment, n)
	for i := range batch {
		batch[i] = storetest.Enrollment(c.ID, p.ID, i, t0, 8)
	}
	if _, err := db.EnrollBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	return batch
}

// storedKept returns the messages kept on enrollment id, and planned_next.
func storedKept(t *testing.T, db *DB, id int64) ([]plan.Kept, time.Time) {
	t.Helper()
	var planned []byte
	var next time.Time
	if err := db.pool.QueryRow(context.Background(), `SELECT planned, planned_next FROM enrollments WHERE id = $1`, id).
		Scan(&planned, (*dbTime)(&next)); err != nil {
		t.Fatal(err)
	}
	ks, err := plan.Parse(planned)
	if err != nil {
		t.Fatal(err)
	}
	return ks, next
}

func countRows(t *testing.T, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestKeptOnEnrollment: Enroll writes the messages due a day or more
// ahead on their enrollment, with the ids and texts it reports, and rows
// of the others; ClaimDue makes rows of those that come within a day of
// its time, and a thaw rolled back leaves them kept.
func TestKeptOnEnrollment(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	ne := keptFixture(t, db, 1)[0]
	e := ne.Enrollment
	if n := countRows(t, db, `SELECT count(*) FROM messages`); n != 4 {
		t.Errorf("%d message rows, want 4 (those due within a day)", n)
	}
	ks, next := storedKept(t, db, e.ID)
	var ids []int64
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	if want := []int64{ne.Messages[4].ID, ne.Messages[5].ID, ne.Messages[6].ID, ne.Messages[7].ID}; !slices.Equal(ids, want) {
		t.Fatalf("kept ids %v, want %v", ids, want)
	}
	if want := t0.Add(36 * time.Hour); !next.Equal(want) {
		t.Errorf("planned_next %v, want %v", next, want)
	}
	// Every text a kept message names is a stored text.
	for _, k := range ks {
		if n := countRows(t, db, `SELECT count(*) FROM message_texts WHERE id = $1`, k.TextID); n != 1 {
			t.Errorf("kept message %d names text %d, which is not stored", k.ID, k.TextID)
		}
	}

	// A thaw rolled back (a claim that failed, a process that died) keeps
	// everything as it was.
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := thawDue(ctx, tx, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 10); err != nil || n != 4 {
		t.Fatalf("thawDue in a transaction = %d, %v; want 4", n, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM messages`); n != 4 {
		t.Errorf("%d message rows after a rolled-back thaw, want 4", n)
	}
	if ks, _ := storedKept(t, db, e.ID); len(ks) != 4 {
		t.Errorf("%d messages kept after a rolled-back thaw, want 4", len(ks))
	}

	// A claim 12 h after t0 (+1 ms) thaws the 36 h pair, not the 48 h one.
	if _, err := db.ClaimDue(ctx, t0.Add(12*time.Hour+time.Millisecond), "test/1", 10); err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, `SELECT count(*) FROM messages WHERE id = ANY($1) AND status = 'pending'`, ids[:2]); n != 2 {
		t.Errorf("%d of the 36 h messages are pending rows after the claim, want 2", n)
	}
	ks, next = storedKept(t, db, e.ID)
	if len(ks) != 2 || ks[0].ID != ids[2] || !next.Equal(t0.Add(48*time.Hour)) {
		t.Errorf("kept after the claim: %d messages, next %v; want the 48 h pair", len(ks), next)
	}
	ms, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: e.ClinicID, EnrollmentID: e.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 8 {
		t.Fatalf("the enrollment lists %d messages, want 8", len(ms))
	}
	for i, m := range ms[4:] {
		w := ne.Messages[4+i]
		if m.ID != w.ID || m.Status != aftercare.StatusPending || m.Body != w.Body || m.Subject != w.Subject ||
			!m.SendAt.Equal(w.SendAt) || !m.CreatedAt.Equal(e.CreatedAt) {
			t.Errorf("message %d: %+v, want %+v", i+4, m, w)
		}
	}
}

// TestThawOnceAcrossReplicas: three replicas claiming at once, each on its
// own pool, thaw every kept message once (a second thaw would break
// messages_natural_key or the primary key) and claim every message once
// (the ones due 12 h and 24 h after t0 have expired by then and are
// settled instead).
func TestThawOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := freshSchema(t)
	var dbs []*DB
	for range 3 {
		db, err := Open(ctx, u, WithNow(newClock(t0).Now), WithMaxConns(2))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	// More enrollments than one claim thaws (plan.MaxThawPerClaim).
	const n = plan.MaxThawPerClaim + 100
	keptFixture(t, dbs[0], n)
	if got := countRows(t, dbs[0], `SELECT count(*) FROM enrollments WHERE planned IS NOT NULL`); got != n {
		t.Fatalf("%d enrollments keep messages, want %d", got, n)
	}
	at := t0.Add(48 * time.Hour) // everything is due
	claimed := make([][]int64, len(dbs))
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Go(func() {
			for range 100 {
				cs, err := db.ClaimDue(ctx, at, "replica/"+string(rune('a'+i)), 300)
				if err != nil {
					errs[i] = err
					return
				}
				for _, c := range cs {
					claimed[i] = append(claimed[i], c.Message.ID)
				}
				if len(cs) == 0 && countRows(t, db, `SELECT (SELECT count(*) FROM enrollments WHERE planned IS NOT NULL) +
					(SELECT count(*) FROM messages WHERE status = 'pending')`) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range dbs {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		for _, id := range claimed[i] {
			if seen[id] {
				t.Fatalf("message %d claimed twice", id)
			}
			seen[id] = true
		}
	}
	// Each message is claimed (sending) or, its expiry passed, settled
	// expired by one claim: none is left pending or counted twice.
	if got := countRows(t, dbs[0], `SELECT count(*) FROM messages`); got != 8*n {
		t.Errorf("%d message rows, want %d", got, 8*n)
	}
	if got := countRows(t, dbs[0], `SELECT count(*) FROM messages WHERE status = 'sending'`); got != len(seen) || got == 0 {
		t.Errorf("%d messages sending, %d claimed; want the same, not 0", got, len(seen))
	}
	if got := countRows(t, dbs[0], `SELECT count(*) FROM messages WHERE status = 'pending'`); got != 0 {
		t.Errorf("%d messages still pending, want 0", got)
	}
}

// TestPurgeKeepsKeptTexts: retention deletes a text only when no message,
// row or kept on its enrollment, uses it: the texts of settled rows that
// the enrollment's far-ahead messages share stay, and those messages keep
// their words.
func TestPurgeKeepsKeptTexts(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	ctx := context.Background()
	ne := keptFixture(t, db, 1)[0]
	e := ne.Enrollment
	// The four rows are sent; the four kept messages share their texts.
	if _, err := db.pool.Exec(ctx, `UPDATE messages SET status = 'sent', updated_at = $1`, t0); err != nil {
		t.Fatal(err)
	}
	n, err := db.PurgeTexts(ctx, e.ClinicID, t0.Add(30*time.Hour), "[purged]", false)
	if err != nil {
		t.Fatal(err)
	}
	if n.Messages != 4 || n.Texts != 0 {
		t.Errorf("purged %d messages and %d texts, want 4 and 0 (the kept messages use them)", n.Messages, n.Texts)
	}
	ms, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: e.ClinicID, EnrollmentID: e.ID, Statuses: []aftercare.Status{aftercare.StatusPending}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 4 {
		t.Fatalf("%d pending messages, want the 4 kept", len(ms))
	}
	for i, m := range ms {
		if w := ne.Messages[4+i]; m.Body != w.Body || m.Subject != w.Subject {
			t.Errorf("kept message %d after the purge: %q %q, want %q %q", m.ID, m.Subject, m.Body, w.Subject, w.Body)
		}
	}
}
