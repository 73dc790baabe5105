// Package sqlitetest builds SQLite database files with a large backlog of
// pending messages, for benchmarks of the dispatcher and of the queries it
// runs. Rows are written with bulk SQL, not through the store, so that a
// million messages take seconds; big files are cached under os.TempDir,
// keyed by the schema the migrations produce, and every caller gets its own
// copy. Nothing here is used by tests that must pass without the cache.
package sqlitetest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver store/sqlite uses, for the raw bulk inserts

	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/storetest"
)

// Base is the time a backlog is built around. Due messages fall in the
// minute before it, the others between 1 and 90 days after it.
var Base = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// Expiry is how long after its SendAt every backlog message expires.
const Expiry = 12 * time.Hour

// generator changes whenever the rows Backlog writes change, so that stale
// cached files are not reused.
const generator = 1

// cacheFrom is the size from which a built file is cached.
const cacheFrom = 100_000

// Backlog describes a database: one clinic (slug "bench", the default) with
// Patients patients, each with SMS and email consent and one enrollment, and
// Pending pending SMS spread over the enrollments. Messages 1..Due (by id)
// are due in the minute before Base, in id order; the others are due 1 to 90
// days after it, in scattered order, as plans of many enrollments are.
type Backlog struct {
	Pending  int
	Due      int // at most Pending
	Patients int // default 1,000
}

// Phone returns the phone number of backlog patient i (1-based).
func Phone(i int) string { return fmt.Sprintf("+1415%07d", i) }

// File returns the path of a new copy of a database file holding b, in
// tb.TempDir(). Files of at least 100,000 messages are built once and cached
// in os.TempDir() (aftercare-backlog-*.db); a missing or unreadable cache is
// rebuilt.
func (b Backlog) File(tb testing.TB) string {
	tb.Helper()
	if b.Patients <= 0 {
		b.Patients = 1000
	}
	if b.Pending < 0 || b.Due < 0 || b.Due > b.Pending {
		tb.Fatalf("sqlitetest: backlog %+v: want 0 <= Due <= Pending", b)
	}
	if b.Pending < cacheFrom {
		dst := filepath.Join(tb.TempDir(), "backlog.db")
		if err := b.build(dst); err != nil {
			tb.Fatal(err)
		}
		return dst
	}
	name := fmt.Sprintf("backlog-g%d-%d-%d-%d", generator, b.Pending, b.Due, b.Patients)
	return Cached(tb, name, b.valid, b.build)
}

// Cached returns the path of a new copy, in tb.TempDir(), of a database file
// that build makes, built once per schema and cached in os.TempDir() as
// aftercare-NAME-SCHEMA.db (SCHEMA changes with any migration). A cached
// file that valid rejects (nil: any file that exists) is rebuilt. Builds
// write to a temporary name and rename, so a concurrent run sees no file or
// the whole one.
func Cached(tb testing.TB, name string, valid func(path string) bool, build func(path string) error) string {
	tb.Helper()
	key, err := schemaKey(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	cached := filepath.Join(os.TempDir(), fmt.Sprintf("aftercare-%s-%s.db", name, key))
	_, statErr := os.Stat(cached)
	if statErr != nil || (valid != nil && !valid(cached)) {
		tb.Logf("building %s (once)", cached)
		tmp := fmt.Sprintf("%s.%d.tmp", cached, os.Getpid())
		os.Remove(tmp)
		if err := build(tmp); err != nil {
			os.Remove(tmp)
			tb.Fatal(err)
		}
		if err := os.Rename(tmp, cached); err != nil {
			os.Remove(tmp)
			tb.Fatal(err)
		}
	}
	dst := filepath.Join(tb.TempDir(), name+".db")
	if err := copyFile(cached, dst); err != nil {
		tb.Fatal(err)
	}
	return dst
}

// schemaKey opens an empty database in dir and returns its schema version
// and a hash of the schema the migrations made ("v4-1a2b3c4d").
func schemaKey(dir string) (string, error) {
	path := filepath.Join(dir, "schema.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		return "", err
	}
	db.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		return "", err
	}
	defer raw.Close()
	var version int
	var schema string
	if err := raw.QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil {
		return "", err
	}
	if err := raw.QueryRow(`SELECT group_concat(type || name || COALESCE(sql, ''), ';') FROM
		(SELECT * FROM sqlite_schema ORDER BY type, name)`).Scan(&schema); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(schema))
	return fmt.Sprintf("v%d-%s", version, hex.EncodeToString(sum[:4])), nil
}

// valid reports whether path is a complete backlog file for b.
func (b Backlog) valid(path string) bool {
	if _, err := os.Stat(path); err != nil {
		return false
	}
	raw, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return false
	}
	defer raw.Close()
	var pending, patients int
	err = raw.QueryRow(`SELECT (SELECT COUNT(*) FROM messages WHERE status = 'pending'), (SELECT COUNT(*) FROM patients)`).Scan(&pending, &patients)
	return err == nil && pending == b.Pending && patients == b.Patients
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Bulk inserts. Times are written in the store's format
// (2006-01-02T15:04:05.000Z) by strftime; ?1 is Base in Unix seconds.
const (
	insertPatients = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
INSERT INTO patients (id, clinic_id, match_key, name, phone, email, tz, lang, sms_consent_at, sms_consent_source,
	email_consent_at, email_consent_source, created_at, updated_at)
SELECT i, ?3, 'phone:' || printf('+1415%07d', i), 'Patient ' || i, printf('+1415%07d', i), 'patient' || i || '@example.com',
	'America/New_York', 'en', ?4, 'bench', ?4, 'bench', ?4, ?4 FROM n`
	insertEnrollments = `INSERT INTO enrollments (id, clinic_id, patient_id, protocol_id, treated_at, status, idem_key, source, created_at, updated_at)
SELECT id, clinic_id, id, ?1, ?2, 'active', 'bench/' || id, 'bench', ?2, ?2 FROM patients`
	// Message i belongs to enrollment (i-1) % patients + 1; occurrence i
	// keeps the natural key unique. The future ones get a scattered offset
	// ((i * a large prime) mod the count) so that the due index is built in
	// random order, as real plans build it.
	insertMessages = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2),
t(i, at) AS (SELECT i, CASE WHEN i <= ?3
	THEN ?1 - 60 + i * 60.0 / ?3 - 0.001
	ELSE ?1 + 86400 + ((i * 2654435761) % (?2 - ?3 + 1)) * (89.0 * 86400 / (?2 - ?3 + 1)) END FROM n)
INSERT INTO messages (id, clinic_id, enrollment_id, patient_id, step_key, occurrence, channel, lang, status,
	send_at, expires_at, body, segments, next_attempt_at, created_at, updated_at)
SELECT i, ?4, (i - 1) % ?5 + 1, (i - 1) % ?5 + 1, 'reminder', i, 'sms', 'en', 'pending',
	strftime('%Y-%m-%dT%H:%M:%fZ', at, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', at + ?6, 'unixepoch'),
	'Hi, this is Clinic bench: keep the treated area clean and out of the sun today. Reply STOP to opt out.', 1,
	strftime('%Y-%m-%dT%H:%M:%fZ', at, 'unixepoch'), ?7, ?7 FROM t`
)

// build writes b to a new file at path: the schema through store/sqlite,
// the clinic and protocol through the store, the rest with bulk SQL.
func (b Backlog) build(path string) error {
	ctx := context.Background()
	created := Base.Add(-24 * time.Hour)
	db, err := sqlite.Open(ctx, path, sqlite.WithNow(func() time.Time { return created }))
	if err != nil {
		return err
	}
	c := storetest.Clinic("bench")
	c.Default = true
	if err := db.CreateClinic(ctx, c); err != nil {
		db.Close()
		return err
	}
	p := storetest.Protocol(c.ID, "bench")
	if err := db.SaveProtocol(ctx, p); err != nil {
		db.Close()
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}

	stamp := created.Format("2006-01-02T15:04:05.000Z")
	return BulkLoad(ctx, path, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, insertPatients, Base.Unix(), b.Patients, c.ID, stamp); err != nil {
			return fmt.Errorf("sqlitetest: patients: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insertEnrollments, p.ID, stamp); err != nil {
			return fmt.Errorf("sqlitetest: enrollments: %w", err)
		}
		if _, err := tx.ExecContext(ctx, insertMessages, Base.Unix(), b.Pending, b.Due, c.ID, b.Patients, Expiry.Seconds(), stamp); err != nil {
			return fmt.Errorf("sqlitetest: messages: %w", err)
		}
		return nil
	})
}

// BulkLoad fills the database file at path, whose schema sqlite.Open has
// written, with bulk SQL: load runs in one transaction on a connection
// with syncs off and a large cache. Then it gathers statistics as a
// long-running store has them (Open's PRAGMA optimize gathers them the
// same way, but only on a later open) and leaves one self-contained file
// (no -wal beside it) to cache and copy; Open turns WAL on again.
func BulkLoad(ctx context.Context, path string, load func(tx *sql.Tx) error) error {
	raw, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF&_cache_size=-262144")
	if err != nil {
		return err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := load(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := raw.ExecContext(ctx, `PRAGMA analysis_limit = 1000; ANALYZE; PRAGMA journal_mode = DELETE`); err != nil {
		return fmt.Errorf("sqlitetest: analyze: %w", err)
	}
	return nil
}
