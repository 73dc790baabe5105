package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// TestEnrollConcurrently: replicas importing the same file at once (here
// four goroutines on their own pools, each enrolling the same 25 patients
// in one batch) all succeed; each enrollment is created once, and
// afterwards the clinic has 25 patients and 25 enrollments, each with all
// its messages.
func TestEnrollConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := freshSchema(t)
	var dbs []*DB
	for range 4 {
		db, err := Open(ctx, u, WithMaxConns(2))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	c := storetest.Clinic("race")
	if err := dbs[0].CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := dbs[0].SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	const n, perEnrollment = 25, 6
	created := make([][]bool, len(dbs))
	errs := make([]error, len(dbs))
	var wg sync.WaitGroup
	for i, db := range dbs {
		batch := make([]*aftercare.NewEnrollment, n)
		for k := range batch {
			batch[k] = storetest.Enrollment(c.ID, p.ID, k, t0, perEnrollment)
		}
		wg.Go(func() { created[i], errs[i] = db.EnrollBatch(ctx, batch) })
	}
	wg.Wait()
	total := 0
	for i := range dbs {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		for _, c := range created[i] {
			if c {
				total++
			}
		}
	}
	if total != n {
		t.Errorf("%d enrollments reported created, want %d (each once)", total, n)
	}
	var patients, enrollments, messages int
	err := dbs[0].pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM enrollments),
		(SELECT count(*) FROM messages)`).Scan(&patients, &enrollments, &messages)
	if err != nil || patients != n || enrollments != n || messages != n*perEnrollment {
		t.Errorf("stored %d patients, %d enrollments, %d messages (%v); want %d, %d, %d",
			patients, enrollments, messages, err, n, n, n*perEnrollment)
	}
}
