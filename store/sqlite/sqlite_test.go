package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/storetest"
)

// clock is a test clock: every reading is one second after the last.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(start time.Time) *clock { return &clock{t: start} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

var t0 = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)

// openTest opens a new database file in a temporary directory, closed when
// the test ends.
func openTest(t testing.TB, opts ...Option) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "aftercare.db")
	opts = append([]Option{WithNow(newClock(t0).Now)}, opts...)
	db, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) aftercare.Store { return openTest(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("ErrInvalid", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
			_, err := Open(ctx, path)
			if aftercare.ErrorCode(err) != aftercare.EINVALID {
				t.Errorf("Open(%q): %v, want EINVALID", path, err)
			}
		}
	})
	t.Run("Pragmas", func(t *testing.T) {
		t.Parallel()
		db := openTest(t)
		for _, c := range []struct {
			pool         string
			pragma, want string
		}{
			{"writer", "journal_mode", "wal"},
			{"writer", "foreign_keys", "1"},
			{"writer", "synchronous", "1"}, // NORMAL
			{"writer", "busy_timeout", "10000"},
			{"writer", "query_only", "0"},
			{"reader", "journal_mode", "wal"},
			{"reader", "foreign_keys", "1"},
			{"reader", "busy_timeout", "10000"},
			{"reader", "query_only", "1"},
		} {
			pool := db.writer
			if c.pool == "reader" {
				pool = db.reader
			}
			var got string
			if err := pool.GetContext(ctx, &got, "PRAGMA "+c.pragma); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s: PRAGMA %s = %s, want %s", c.pool, c.pragma, got, c.want)
			}
		}
		if _, err := db.reader.ExecContext(ctx, `DELETE FROM clinics`); err == nil {
			t.Error("the reader pool can write")
		}
	})
	t.Run("WeirdPath", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "a dir?#%", "clinic data.db")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if db.Path() != path {
			t.Errorf("Path() = %q, want %q", db.Path(), path)
		}
		if err := db.CreateClinic(ctx, storetest.Clinic("a")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("the database is not at %s: %v", path, err)
		}
	})
}

func TestMigrations(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	initSQL, err := fs.ReadFile(embedded, "0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	type applied struct {
		Version   int    `db:"version"`
		AppliedAt string `db:"applied_at"`
	}
	appliedIn := func(t *testing.T, path string) []applied {
		t.Helper()
		raw, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		rows, err := raw.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []applied
		for rows.Next() {
			var a applied
			if err := rows.Scan(&a.Version, &a.AppliedAt); err != nil {
				t.Fatal(err)
			}
			out = append(out, a)
		}
		return out
	}
	tableExists := func(t *testing.T, path, table string) bool {
		t.Helper()
		raw, err := sql.Open("sqlite3", path)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		var n int
		if err := raw.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	t.Run("ReopenIsNoop", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "a.db")
		db, err := Open(ctx, path, WithNow(newClock(t0).Now))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.CreateClinic(ctx, storetest.Clinic("a")); err != nil {
			t.Fatal(err)
		}
		db.Close()
		first := appliedIn(t, path)
		if len(first) == 0 || first[0] != (applied{1, "2026-03-02T15:30:01.000Z"}) {
			t.Fatalf("schema_migrations after the first Open: %+v", first)
		}

		db, err = Open(ctx, path, WithNow(newClock(t0.Add(48*time.Hour)).Now))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := appliedIn(t, path); !slices.Equal(got, first) {
			t.Fatalf("schema_migrations after re-opening: %+v, want %+v", got, first)
		}
		if _, err := db.FindClinic(ctx, "a"); err != nil {
			t.Fatalf("data after re-opening: %v", err)
		}
	})

	t.Run("FailureLeavesNothing", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "a.db")
		migrations := fstest.MapFS{
			"0001_init.sql":  {Data: initSQL},
			"0002_extra.sql": {Data: []byte(`CREATE TABLE extra (x INTEGER);`)},
			"0003_half.sql": {Data: []byte(`CREATE TABLE half (x INTEGER);
INSERT INTO half VALUES (1);
INSERT INTO no_such_table VALUES (1);`)},
		}
		_, err := Open(ctx, path, WithNow(newClock(t0).Now), withMigrations(migrations))
		if err == nil || !strings.Contains(err.Error(), "0003_half.sql") {
			t.Fatalf("Open with a failing migration: %v, want an error naming it", err)
		}
		versions := func() []int {
			var vs []int
			for _, a := range appliedIn(t, path) {
				vs = append(vs, a.Version)
			}
			return vs
		}
		if got := versions(); !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("applied %v, want [1 2]", got)
		}
		if !tableExists(t, path, "extra") || tableExists(t, path, "half") {
			t.Fatal("want table extra (0002) and no table half (the failed 0003)")
		}

		migrations["0003_half.sql"] = &fstest.MapFile{Data: []byte(`CREATE TABLE half (x INTEGER);`)}
		db, err := Open(ctx, path, withMigrations(migrations))
		if err != nil {
			t.Fatalf("Open once the migration is fixed: %v", err)
		}
		db.Close()
		if got := versions(); !slices.Equal(got, []int{1, 2, 3}) {
			t.Fatalf("applied %v, want [1 2 3]", got)
		}
	})

	t.Run("ErrNewerSchema", func(t *testing.T) {
		t.Parallel()
		db := openTest(t)
		if _, err := db.writer.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (99, '2030-01-01T00:00:00.000Z')`); err != nil {
			t.Fatal(err)
		}
		_, err := Open(ctx, db.Path())
		if err == nil || !strings.Contains(err.Error(), "schema version 99") {
			t.Fatalf("Open of a newer schema: %v", err)
		}
	})

	t.Run("ErrBadName", func(t *testing.T) {
		t.Parallel()
		for _, m := range []fstest.MapFS{
			{"init.sql": {Data: []byte("SELECT 1;")}},
			{"0001_a.sql": {Data: []byte("SELECT 1;")}, "1_b.sql": {Data: []byte("SELECT 1;")}},
		} {
			if _, err := readMigrations(m); err == nil {
				t.Errorf("readMigrations(%v): no error", slices.Collect(maps.Keys(m)))
			}
		}
		ms, err := readMigrations(embedded)
		if err != nil || len(ms) == 0 || ms[0].version != 1 {
			t.Fatalf("the embedded migrations: %v, %v", ms, err)
		}
	})
}

func TestTimes(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("UTC-7", -7*3600)
	x := time.Date(2026, 11, 1, 1, 30, 5, 123456789, zone)
	if got := formatTime(x); got != "2026-11-01T08:30:05.123Z" {
		t.Errorf("formatTime = %s", got)
	}
	if ts(time.Time{}) != nil || formatTime(time.Time{}) != "" {
		t.Error("the zero time is not stored as NULL")
	}
	back, err := parseTime(formatTime(x))
	if err != nil || !back.Equal(norm(x)) || back.Location() != time.UTC {
		t.Errorf("parseTime(formatTime(x)) = %v, %v; want %v UTC", back, err, norm(x))
	}
	if z, err := parseTime(""); err != nil || !z.IsZero() {
		t.Errorf(`parseTime("") = %v, %v`, z, err)
	}
	if _, err := parseTime("2026-11-01 08:30:05"); err == nil {
		t.Error("parseTime accepted another layout")
	}
	var d dbTime
	if err := d.Scan(nil); err != nil || !time.Time(d).IsZero() {
		t.Errorf("Scan(nil) = %v, %v", time.Time(d), err)
	}
	// Text order is time order, across years and sub-second digits.
	times := []time.Time{
		time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 1e6, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 23, 59, 59, 999e6, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, zone), time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	texts := make([]string, len(times))
	for i, x := range times {
		texts[i] = formatTime(x)
		if len(texts[i]) != len(timeFormat) {
			t.Errorf("%v stored as %q: not fixed width", x, texts[i])
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	sort.Strings(texts)
	for i := range times {
		if formatTime(times[i]) != texts[i] {
			t.Fatalf("text order %v differs from time order %v", texts, times)
		}
	}
}

func TestDBError(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		code string
	}{
		{sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, aftercare.ECONFLICT},
		{sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintPrimaryKey}, aftercare.ECONFLICT},
		{sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintForeignKey}, aftercare.ENOTFOUND},
		{sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintCheck}, aftercare.EINVALID},
		{fmt.Errorf("wrapped: %w", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}), aftercare.ECONFLICT},
		{sqlite3.Error{Code: sqlite3.ErrBusy}, aftercare.EINTERNAL},
		{notFound("no enrollment 42 in this clinic"), aftercare.ENOTFOUND},
	} {
		if got := aftercare.ErrorCode(dbError("test", c.err)); got != c.code {
			t.Errorf("dbError(%v): code %s, want %s", c.err, got, c.code)
		}
	}
	if err := dbError("test", context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("dbError(context.Canceled) = %v", err)
	}
}

// count returns the number of rows of table.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.reader.GetContext(context.Background(), &n, "SELECT COUNT(*) FROM "+table); err != nil {
		t.Fatal(err)
	}
	return n
}

func setup(t testing.TB, db *DB) (*aftercare.Clinic, *aftercare.Protocol) {
	t.Helper()
	ctx := context.Background()
	c := storetest.Clinic("downtown")
	if err := db.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	p := storetest.Protocol(c.ID, "botox")
	if err := db.SaveProtocol(ctx, p); err != nil {
		t.Fatal(err)
	}
	return c, p
}

// A failure in the middle of the writes (patients and enrollments already
// inserted, the messages of the 3rd item refused by a trigger) leaves no row
// behind and no ID on the caller's structs.
func TestEnrollBatchRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	_, err := db.writer.ExecContext(ctx, `CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.step_key = 'boom'
BEGIN SELECT RAISE(ABORT, 'boom'); END`)
	if err != nil {
		t.Fatal(err)
	}
	var batch []*aftercare.NewEnrollment
	for i := range 4 {
		batch = append(batch, storetest.Enrollment(c.ID, p.ID, i, t0, 30))
	}
	batch[2].Messages[1].StepKey = "boom" // due in a day: a row, not kept on its enrollment
	if _, err := db.EnrollBatch(ctx, batch); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("EnrollBatch: %v, want the trigger's error", err)
	}
	for _, table := range []string{"patients", "enrollments", "messages"} {
		if n := count(t, db, table); n != 0 {
			t.Errorf("%d %s written by a failed batch", n, table)
		}
	}
	if batch[0].Enrollment.ID != 0 || batch[0].Patient.ID != 0 || batch[0].Messages[0].ID != 0 {
		t.Error("a failed batch set IDs on the caller's structs")
	}
}

// Batches larger than one INSERT statement or one IN (...) list.
func TestEnrollBatchChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	n := maxInList*2 + 7
	batch := make([]*aftercare.NewEnrollment, n)
	for i := range batch {
		batch[i] = storetest.Enrollment(c.ID, p.ID, i, t0, 3)
	}
	created, err := db.EnrollBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(created, false) {
		t.Fatal("some of a new batch not created")
	}
	if got := count(t, db, "messages"); got != 3*n {
		t.Fatalf("%d messages, want %d", got, 3*n)
	}
	last := batch[n-1].Messages[2]
	m, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: last.EnrollmentID})
	if err != nil || len(m) != 3 || *m[2] != *last {
		t.Fatalf("the last message: %+v, %v; want %+v", m, err, last)
	}

	again := make([]*aftercare.NewEnrollment, n)
	for i := range again {
		again[i] = storetest.Enrollment(c.ID, p.ID, i, t0, 3)
	}
	created, err = db.EnrollBatch(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(created, true) {
		t.Fatal("a batch enrolled twice created enrollments")
	}
	if again[n-1].Enrollment.ID != batch[n-1].Enrollment.ID || again[n-1].Patient.ID != batch[n-1].Patient.ID {
		t.Fatal("the batch enrolled again did not get the stored rows")
	}
	if got := count(t, db, "messages"); got != 3*n {
		t.Fatalf("%d messages after enrolling again, want %d", got, 3*n)
	}
}

// Goroutines of one process writing at once all succeed: they queue for the
// single writer connection and never meet SQLITE_BUSY, while readers go on.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	const writers, each = 20, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*3)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ne := storetest.Enrollment(c.ID, p.ID, w*each+i, t0, 6)
				if _, err := db.Enroll(ctx, ne); err != nil {
					errs <- fmt.Errorf("writer %d: Enroll: %w", w, err)
					continue
				}
				if i%3 == 0 {
					if _, err := db.CancelEnrollment(ctx, c.ID, ne.Enrollment.ID, time.Time{}); err != nil {
						errs <- fmt.Errorf("writer %d: Cancel: %w", w, err)
					}
				}
				if i%5 == 0 {
					if err := db.SaveProtocol(ctx, storetest.Protocol(c.ID, fmt.Sprint("p", w))); err != nil {
						errs <- fmt.Errorf("writer %d: SaveProtocol: %w", w, err)
					}
				}
				if _, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: c.ID, Limit: 50}); err != nil {
					errs <- fmt.Errorf("writer %d: ListMessages: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := count(t, db, "enrollments"); got != writers*each {
		t.Fatalf("%d enrollments, want %d", got, writers*each)
	}
}

// Two DBs on one file stand for two processes: their writers wait for each
// other (busy timeout, BEGIN IMMEDIATE) instead of failing.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := openTest(t)
	c, p := setup(t, a)
	b, err := Open(ctx, a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w, db := range []*DB{a, b, a, b} {
		wg.Go(func() {
			for i := range 10 {
				if _, err := db.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, w*100+i, t0, 6)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := count(t, a, "enrollments"); got != 40 {
		t.Fatalf("%d enrollments, want 40", got)
	}
}

// BenchmarkEnrollBatch measures bulk import: b.N enrollments of 30 messages,
// in batches of 500, written to a file.
func BenchmarkEnrollBatch(b *testing.B) {
	const batchSize, perEnrollment = 500, 30
	ctx := context.Background()
	db := openTest(b)
	c, p := setup(b, db)
	b.ResetTimer()
	for done := 0; done < b.N; done += batchSize {
		b.StopTimer()
		batch := make([]*aftercare.NewEnrollment, min(batchSize, b.N-done))
		for i := range batch {
			batch[i] = storetest.Enrollment(c.ID, p.ID, done+i, t0, perEnrollment)
		}
		b.StartTimer()
		if _, err := db.EnrollBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	secs := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/secs, "enrollments/s")
	b.ReportMetric(float64(b.N*perEnrollment)/secs, "messages/s")
}
