package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// TestBackupWhileWriting: a backup taken while another goroutine enrolls
// patients is consistent: each enrollment is written with its patient and
// its two messages in one transaction, and the copy has whole enrollments
// only, at least those committed before it started.
func TestBackupWhileWriting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	const before = 30
	started, stop, done := make(chan struct{}), make(chan struct{}), make(chan int)
	go func() {
		i := 0
		defer func() { done <- i }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, i, t0, 2)); err != nil {
				t.Errorf("enrolling %d during the backup: %v", i, err)
				return
			}
			i++
			if i == before {
				close(started)
			}
		}
	}()
	<-started
	dst := filepath.Join(t.TempDir(), "backup.db")
	info, err := Backup(ctx, db.Path(), dst, false)
	close(stop)
	written := <-done
	if err != nil {
		t.Fatal(err)
	}
	n := info.Counts["enrollments"]
	if n < before || n > int64(written) {
		t.Errorf("the backup has %d enrollments; %d were committed before it started and %d by the end", n, before, written)
	}
	if info.Counts["patients"] != n || info.Counts["messages"] != 2*n {
		t.Errorf("the backup is not one snapshot: %d enrollments, %d patients, %d messages (want %d, %d)",
			n, info.Counts["patients"], info.Counts["messages"], n, 2*n)
	}
	if info.Schema != SchemaVersion() || info.Counts["clinics"] != 1 {
		t.Errorf("backup info %+v", info)
	}
	// The backup opens as a database of its own, and has what it says.
	b, err := Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := count(t, b, "enrollments"); int64(got) != n {
		t.Errorf("opened, the backup has %d enrollments; it reported %d", got, n)
	}
	st, err := os.Stat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the backup has mode %v, want 0600: it holds patients' data", st.Mode().Perm())
	}
}

// files lists dir's names (to show nothing half-written is left).
func files(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestBackupErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	setup(t, db)
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte("name,phone\nAna,+14155550100\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "existing.db")
	if err := os.WriteFile(existing, []byte("last week's backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, src, dst string
		code           string
		want           string
	}{
		{"ErrNotFound", filepath.Join(dir, "missing.db"), filepath.Join(dir, "b1.db"), aftercare.ENOTFOUND, "no database file"},
		{"ErrInvalidNotADatabase", junk, filepath.Join(dir, "b2.db"), aftercare.EINVALID, "not an Aftercare database"},
		{"ErrConflictExists", db.Path(), existing, aftercare.ECONFLICT, "--force"},
		{"ErrNoDirectory", db.Path(), filepath.Join(dir, "no", "such", "dir.db"), aftercare.EINVALID, "there is no directory"},
		{"ErrInvalidItself", db.Path(), db.Path(), aftercare.EINVALID, "the database itself"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Backup(ctx, tt.src, tt.dst, false)
			if aftercare.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Backup(%s, %s): %v (code %s), want %s mentioning %q", tt.src, tt.dst, err, aftercare.ErrorCode(err), tt.code, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "last week's backup" {
		t.Errorf("a refused backup changed the existing file: %q", b)
	}
	if got, want := files(t, dir), []string{"existing.db", "junk.db"}; !slices.Equal(got, want) {
		t.Errorf("after failed backups the directory has %v, want %v (nothing half-written)", got, want)
	}
	t.Run("Force", func(t *testing.T) {
		info, err := Backup(ctx, db.Path(), existing, true)
		if err != nil || info.Counts["clinics"] != 1 {
			t.Fatalf("Backup --force over an existing file: %+v, %v", info, err)
		}
	})
}

// backupOf makes a backup of a new database with n enrollments.
func backupOf(t *testing.T, n int) string {
	t.Helper()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	for i := range n {
		if _, err := db.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, i, t0, 2)); err != nil {
			t.Fatal(err)
		}
	}
	dst := filepath.Join(t.TempDir(), "backup.db")
	if _, err := Backup(ctx, db.Path(), dst, false); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	backup := backupOf(t, 3)
	now := time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		live := openTest(t)
		c, p := setup(t, live)
		if _, err := live.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, 99, t0, 2)); err != nil {
			t.Fatal(err)
		}
		dst := live.Path()
		if err := live.Close(); err != nil {
			t.Fatal(err)
		}
		res, err := Restore(ctx, backup, dst, now, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Counts["enrollments"] != 3 || res.Kept != dst+".before-restore-20260302T160000Z" {
			t.Fatalf("Restore: %+v", res)
		}
		restored, err := Open(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		defer restored.Close()
		if got := count(t, restored, "enrollments"); got != 3 {
			t.Errorf("the restored database has %d enrollments, want the backup's 3", got)
		}
		kept, err := Open(ctx, res.Kept)
		if err != nil {
			t.Fatal(err)
		}
		defer kept.Close()
		if got := count(t, kept, "enrollments"); got != 1 {
			t.Errorf("the kept database has %d enrollments, want the replaced one's 1", got)
		}
	})

	t.Run("OKNoDatabaseYet", func(t *testing.T) {
		t.Parallel()
		dst := filepath.Join(t.TempDir(), "aftercare.db")
		res, err := Restore(ctx, backup, dst, now, false)
		if err != nil || res.Kept != "" || res.Counts["enrollments"] != 3 {
			t.Fatalf("Restore into a new path: %+v, %v", res, err)
		}
	})

	// A serve's lease on the target refuses the restore until it lapses
	// or --force; the database is untouched meanwhile.
	t.Run("ErrConflictLiveLease", func(t *testing.T) {
		t.Parallel()
		live := openTest(t)
		setup(t, live)
		if err := live.RenewLease(ctx, "host:/data/aftercare.db/abc", now, now.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Dir(live.Path())
		before := files(t, dir)
		_, err := Restore(ctx, backup, live.Path(), now, false)
		if aftercare.ErrorCode(err) != aftercare.ECONFLICT || !strings.Contains(err.Error(), "stop every serve") {
			t.Fatalf("restore under a live lease: %v, want ECONFLICT saying to stop the serves", err)
		}
		if got := files(t, dir); !slices.Equal(got, before) {
			t.Errorf("a refused restore changed the directory: %v, was %v", got, before)
		}
		if got := count(t, live, "clinics"); got != 1 {
			t.Errorf("after a refused restore the database has %d clinics", got)
		}
		// Once the lease has lapsed, the restore goes ahead.
		if _, err := Restore(ctx, backup, live.Path(), now.Add(31*time.Second), false); err != nil {
			t.Errorf("restore after the lease lapsed: %v", err)
		}
		// Twice in one second: the second keeps the first's result under
		// a name of its own.
		res, err := Restore(ctx, backup, live.Path(), now.Add(31*time.Second), false)
		if err != nil || !strings.HasSuffix(res.Kept, ".before-restore-20260302T160031Z-2") {
			t.Errorf("a second restore in the same second: %+v, %v", res, err)
		}
	})

	t.Run("ErrInvalidTargetNotOurs", func(t *testing.T) {
		t.Parallel()
		dst := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(dst, []byte("the clinic's notes"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Restore(ctx, backup, dst, now, false)
		if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), "check --db") {
			t.Fatalf("restore over a file that is not a database: %v, want EINVALID saying to check --db", err)
		}
		if b, _ := os.ReadFile(dst); string(b) != "the clinic's notes" {
			t.Errorf("the file was changed: %q", b)
		}
	})

	t.Run("ForceLiveLease", func(t *testing.T) {
		t.Parallel()
		live := openTest(t)
		setup(t, live)
		if err := live.RenewLease(ctx, "host:/data/aftercare.db/abc", now, now.Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		path := live.Path()
		if err := live.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := Restore(ctx, backup, path, now, true); err != nil {
			t.Fatalf("restore --force under a live lease: %v", err)
		}
	})

	newer := filepath.Join(t.TempDir(), "newer.db")
	if _, err := Backup(ctx, backup, newer, false); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite3", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (9999, '2030-01-01T00:00:00.000Z')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("SQLite format 3\x00 but not really"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	raw, err = sql.Open("sqlite3", other)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	damaged := damage(t, backup)
	for _, tt := range []struct {
		name, src string
		code      string
		want      string
	}{
		{"ErrNotFound", filepath.Join(t.TempDir(), "missing.db"), aftercare.ENOTFOUND, "no database file"},
		{"ErrInvalidDamaged", damaged, aftercare.EINVALID, "is damaged (SQLite integrity_check: "},
		{"ErrInvalidNotADatabase", junk, aftercare.EINVALID, "not an Aftercare database"},
		{"ErrInvalidOtherDatabase", other, aftercare.EINVALID, "no schema_migrations table"},
		{"ErrInvalidNewerSchema", newer, aftercare.EINVALID, "schema version 9999, newer than this aftercare knows"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			live := openTest(t)
			setup(t, live)
			dir := filepath.Dir(live.Path())
			before := files(t, dir)
			_, err := Restore(ctx, tt.src, live.Path(), now, false)
			if aftercare.ErrorCode(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore(%s): %v (code %s), want %s mentioning %q", tt.src, err, aftercare.ErrorCode(err), tt.code, tt.want)
			}
			if got := files(t, dir); !slices.Equal(got, before) {
				t.Errorf("a refused restore changed the directory: %v, was %v", got, before)
			}
		})
	}
}

// damage returns a copy of the database file at path whose messages table
// has its last 300 bytes overwritten: a page a disk error could leave.
func damage(t *testing.T, path string) string {
	t.Helper()
	raw, err := sql.Open("sqlite3", path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	if err := raw.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'messages'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := raw.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out := filepath.Join(t.TempDir(), "damaged.db")
	copyFileTo(t, path, out)
	f, err := os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strings.Repeat("\x07", 300)), root*pageSize-300); err != nil {
		t.Fatal(err)
	}
	return out
}

// copyFileTo copies one file (the test's stand-in for what a crash leaves).
func copyFileTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A serve killed with SIGKILL leaves its -wal beside the database, with
// transactions not yet checkpointed into the file. Restore folds them into
// the kept file, and none of them is played onto the restored one.
func TestRestoreAfterCrashKeepsWAL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	backup := backupOf(t, 2)
	live := openTest(t)
	c, p := setup(t, live)
	for i := range 5 {
		if _, err := live.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, 100+i, t0, 2)); err != nil {
			t.Fatal(err)
		}
	}
	// The files as the killed process left them: its connections open.
	path := filepath.Join(t.TempDir(), "aftercare.db")
	copyFileTo(t, live.Path(), path)
	copyFileTo(t, live.Path()+"-wal", path+"-wal")
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("the crashed database has no write-ahead log to test with: %v", err)
	}
	res, err := Restore(ctx, backup, path, t0, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + side); err == nil {
			t.Errorf("%s is left beside the restored database", path+side)
		}
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := count(t, db, "enrollments"); got != 2 {
		t.Errorf("restored: %d enrollments, want the backup's 2", got)
	}
	kept, err := Open(ctx, res.Kept)
	if err != nil {
		t.Fatal(err)
	}
	defer kept.Close()
	if got := count(t, kept, "enrollments"); got != 5 {
		t.Errorf("kept: %d enrollments, want the 5 the crashed serve had committed", got)
	}
}

func TestSchemaVersion(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	if SchemaVersion() != db.schema {
		t.Fatalf("SchemaVersion() = %d, an opened database has %d", SchemaVersion(), db.schema)
	}
}
