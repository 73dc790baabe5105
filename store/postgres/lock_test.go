package postgres

import (
	"context"
	"testing"
)

// TestTryLock: a lock is held by one DB (one replica) at a time, per
// name; unlock and closing the holder free it; another schema (another
// Aftercare database in the same PostgreSQL database) has its own locks.
func TestTryLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := freshSchema(t)
	a, err := Open(ctx, u, WithMaxConns(3))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, u, WithMaxConns(3))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other := openTest(t)

	try := func(db *DB, name string, want bool) func() {
		t.Helper()
		unlock, ok, err := db.TryLock(ctx, name)
		if err != nil || ok != want {
			t.Fatalf("TryLock(%q) = %v, %v; want %v", name, ok, err, want)
		}
		return unlock
	}
	unlock := try(a, "job reconcile", true)
	try(b, "job reconcile", false)
	try(a, "job reconcile", false) // not re-entrant within a process either: one run at a time
	try(other, "job reconcile", true)()
	try(b, "job purge", true)()
	unlock()
	unlock() // a second unlock does nothing
	try(b, "job reconcile", true)()

	// A holder that goes away (a replica that dies) frees its lock.
	kept := try(a, "job purge", true)
	try(b, "job purge", false)
	kept() // Close waits for the lock's connection; a killed process just drops it
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	try(b, "job purge", true)()
}
