package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Backups and restores work on files, not on an open DB: a backup is taken
// beside a running serve (another process), and a restore replaces the file
// no serve may have open. Both copy with VACUUM INTO, which reads one
// consistent snapshot in a read transaction: in WAL mode writers go on
// meanwhile, and the copy holds every transaction committed before it
// started and none after.

// FileInfo describes an Aftercare database file: what backup and restore
// print after checking it.
type FileInfo struct {
	Path string `json:"path"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Schema is the newest migration applied to it.
	Schema int `json:"schema_version"`
	// Counts are the rows of the main tables (messages due a day or more
	// ahead are kept on their enrollment, not counted as rows).
	Counts map[string]int64 `json:"counts"`
}

// countedTables are the tables FileInfo counts.
var countedTables = []string{"clinics", "patients", "enrollments", "messages", "attempts", "users"}

// SchemaVersion returns the newest migration this program has: a file with
// a newer one was written by a newer aftercare.
func SchemaVersion() int {
	ms, err := readMigrations(embedded)
	if err != nil || len(ms) == 0 {
		panic("sqlite: the embedded migrations are unreadable") // they are compiled in: a test catches it
	}
	return ms[len(ms)-1].version
}

// Backup writes a consistent copy of the database file src to dst while
// other processes read and write src. The copy is written to a temporary
// name beside dst, synced, opened and checked (integrity_check, the schema
// version, the counts), and only then given dst's name, so a file named
// dst is always a whole, checked backup. An
// existing dst is refused (ECONFLICT) unless force. It returns ENOTFOUND
// when src does not exist and EINVALID when src is not an Aftercare
// database.
func Backup(ctx context.Context, src, dst string, force bool) (*FileInfo, error) {
	// The source is not integrity-checked: the copy is, and a check reads
	// the whole file (most of the 20 s a 400 MB backup takes, BenchmarkBackup).
	if _, err := inspect(ctx, src, false); err != nil {
		return nil, err
	}
	if sameFile(src, dst) {
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s is the database itself: give the backup another name", dst)
	}
	if !force {
		if _, err := os.Lstat(dst); err == nil {
			return nil, aftercare.Errorf(aftercare.ECONFLICT, "%s exists already: choose a new file name, or pass --force to replace it", dst)
		}
	}
	tmp, err := copyInto(ctx, src, dst)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp) // gone already once it took dst's name
	// Checked before it is named: a file called dst is a checked backup.
	// (A source newer than this program is copied all the same: the
	// aftercare that wrote it can restore it.)
	info, err := inspect(ctx, tmp, true)
	if err != nil {
		return nil, fmt.Errorf("sqlite: the copy of %s failed its check, and is not kept: %w", src, err)
	}
	info.Path = dst
	if force {
		err = os.Rename(tmp, dst)
	} else {
		// A hard link is a rename that refuses to replace: a dst made since
		// the check above is not overwritten.
		err = os.Link(tmp, dst)
		if errors.Is(err, fs.ErrExist) {
			return nil, aftercare.Errorf(aftercare.ECONFLICT, "%s exists already: choose a new file name, or pass --force to replace it", dst)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: backup: naming %s: %w", dst, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	return info, nil
}

// Check opens the file at path read-only and checks that it is an intact
// Aftercare database this program can open: SQLite's integrity_check
// passes, it has Aftercare's migrations table, and its schema is not newer
// than SchemaVersion. It returns ENOTFOUND for a missing file, EINVALID
// for anything else wrong, with what to do about it.
func Check(ctx context.Context, path string) (*FileInfo, error) {
	info, err := inspect(ctx, path, true)
	if err != nil {
		return nil, err
	}
	if info.Schema > SchemaVersion() {
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s has schema version %d, newer than this aftercare knows (%d): use the aftercare version that wrote it, or a newer one", path, info.Schema, SchemaVersion())
	}
	return info, nil
}

// inspect opens path read-only, runs integrity_check if integrity (else
// only reads the header: a file that is not SQLite fails either way), and
// reads the schema version and the counts. It does not compare the schema
// with this program's.
func inspect(ctx context.Context, path string, integrity bool) (*FileInfo, error) {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, aftercare.Errorf(aftercare.ENOTFOUND, "no database file at %s: check the path (--db, AFTERCARE_DB, or the file given)", path)
	case err != nil:
		return nil, fmt.Errorf("sqlite: %w", err)
	case !st.Mode().IsRegular():
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s is not a regular file: give the path of an Aftercare database file", path)
	}
	db, err := openRaw(path, true)
	if err != nil {
		return nil, err
	}
	defer closeRaw(db)
	notOurs := func(why string) error {
		return aftercare.Errorf(aftercare.EINVALID, "%s is not an Aftercare database (%s): give a file `aftercare backup` wrote, or the server's database", path, why)
	}
	check := `PRAGMA schema_version`
	if integrity {
		check = `PRAGMA integrity_check(1)`
	}
	var result string
	if err := db.QueryRowContext(ctx, check).Scan(&result); err != nil {
		return nil, notOurs(err.Error()) // "file is not a database"
	}
	if integrity && result != "ok" {
		result = strings.Join(strings.Fields(strings.TrimPrefix(result, "*** in database main ***")), " ")
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s is damaged (SQLite integrity_check: %s): use another backup", path, result)
	}
	info := &FileInfo{Path: path, Size: st.Size(), Counts: map[string]int64{}}
	if err := db.QueryRowContext(ctx, newestMigration).Scan(&info.Schema); err != nil {
		return nil, notOurs("it has no schema_migrations table")
	}
	for _, table := range countedTables {
		var n int64
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			return nil, notOurs("it has no " + table + " table")
		}
		info.Counts[table] = n
	}
	return info, nil
}

// openRaw opens path without migrating it: read-only, or read-write for
// the checkpoint before a restore. It never creates the file (mode=ro, or
// the caller checked that it exists).
func openRaw(path string, readOnly bool) (*sql.DB, error) {
	params := url.Values{"_busy_timeout": {"10000"}}
	if readOnly {
		params.Set("mode", "ro")
	}
	db, err := sql.Open("sqlite3", dsn(path, params))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// sameFile reports whether a and b name one existing file.
func sameFile(a, b string) bool {
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

// closeRaw closes a connection that only read, or whose work has failed
// already: its Close has nothing to add.
func closeRaw(db *sql.DB) { _ = db.Close() }

// copyInto writes a consistent copy of src to a new temporary file beside
// dst, readable by its owner only like the database, synced, and returns
// its name. On error nothing is left behind.
func copyInto(ctx context.Context, src, dst string) (tmp string, err error) {
	var r [6]byte
	rand.Read(r[:]) // never fails (Go 1.24+)
	tmp = dst + ".partial-" + hex.EncodeToString(r[:])
	// VACUUM INTO writes into an empty file: made first, so that it has
	// mode 0600 (the umask's 0644 would let anyone read patients' data).
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", aftercare.Errorf(aftercare.EINVALID, "cannot write %s: there is no directory %s; create it, or choose another path", dst, filepath.Dir(dst))
	case errors.Is(err, fs.ErrPermission):
		return "", aftercare.Errorf(aftercare.EINVALID, "cannot write %s: this user may not write in %s; choose another directory, or run as its owner", dst, filepath.Dir(dst))
	case err != nil:
		return "", fmt.Errorf("sqlite: cannot write next to %s: %w", dst, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp)
			os.Remove(tmp + "-journal")
		}
	}()
	db, err := openRaw(src, true)
	if err != nil {
		return "", err
	}
	defer closeRaw(db) // closed and checked below; this is for the errors before
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return "", fmt.Errorf("sqlite: copying %s: %w", src, err)
	}
	if err := db.Close(); err != nil {
		return "", fmt.Errorf("sqlite: copying %s: %w", src, err)
	}
	// The copy takes the source's journal mode (WAL): a file that opens
	// alone, without -wal and -shm files, is what a backup should be.
	// Serve sets WAL again when it opens a restored file.
	w, err := openRaw(tmp, false)
	if err != nil {
		return "", err
	}
	defer closeRaw(w) // closed and checked below; this is for the errors before
	if _, err := w.ExecContext(ctx, `PRAGMA journal_mode = DELETE`); err != nil {
		return "", fmt.Errorf("sqlite: %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("sqlite: %s: %w", tmp, err)
	}
	if err := syncFile(tmp); err != nil {
		return "", err
	}
	return tmp, nil
}

// LiveLeases returns the owners of claim leases on the database at path
// that are live at now: serves that are running (or died less than a lease
// ago). A missing file has none.
func LiveLeases(ctx context.Context, path string, now time.Time) ([]string, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := openRaw(path, true)
	if err != nil {
		return nil, err
	}
	defer closeRaw(db)
	rows, err := db.QueryContext(ctx, `SELECT owner FROM claim_leases WHERE expires_at > ? ORDER BY owner`, ts(norm(now)))
	if err != nil && strings.Contains(err.Error(), "no such table") {
		// A file from before leases (migration 0016) has none to respect.
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: reading the claim leases of %s (to see whether a serve runs on it): %w", path, err)
	}
	defer rows.Close()
	var owners []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return nil, fmt.Errorf("sqlite: reading leases of %s: %w", path, err)
		}
		owners = append(owners, o)
	}
	return owners, rows.Err()
}

// Restored is what Restore did.
type Restored struct {
	FileInfo
	// Kept is where the file that was replaced now is ("" when dst did
	// not exist).
	Kept string `json:"kept,omitempty"`
}

// Restore replaces the database file dst with a copy of the backup src.
// src must pass Check. A live claim lease on dst (a serve running on it)
// refuses the restore (ECONFLICT) unless force. dst's write-ahead log is
// checkpointed into it first, then dst is kept as
// dst.before-restore-<now> (with any -wal left over beside it), and the copy
// takes dst's name by rename, so that dst names either the old database or
// the new one, never a half. Every serve on dst must be stopped: one still
// running keeps writing to the kept file.
func Restore(ctx context.Context, src, dst string, now time.Time, force bool) (*Restored, error) {
	if _, err := Check(ctx, src); err != nil {
		return nil, err
	}
	if sameFile(src, dst) {
		return nil, aftercare.Errorf(aftercare.EINVALID, "%s is the database itself: give a backup file", src)
	}
	if _, err := os.Stat(dst); err == nil {
		// --db pointing at some other file: restore would replace it.
		if _, err := inspect(ctx, dst, false); err != nil {
			return nil, aftercare.Errorf(aftercare.EINVALID, "%s, the file to replace, is not an Aftercare database (%s): check --db or AFTERCARE_DB",
				dst, aftercare.ErrorMessage(err))
		}
	}
	owners, err := LiveLeases(ctx, dst, now)
	if err != nil {
		return nil, err
	}
	if len(owners) > 0 && !force {
		return nil, aftercare.Errorf(aftercare.ECONFLICT, "a serve is running on %s (live claim lease of %s): stop every serve on it first; "+
			"--force only if it died (its lease lapses after AFTERCARE_CLAIM_LEASE)", dst, owners[0])
	}
	tmp, err := copyInto(ctx, src, dst)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp) // gone already once it took dst's name
	res := &Restored{}
	if _, err := os.Stat(dst); err == nil {
		if res.Kept, err = keepOld(ctx, dst, now); err != nil {
			return nil, err
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return nil, fmt.Errorf("sqlite: restore: naming %s: %w", dst, err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return nil, err
	}
	// src passed integrity_check above, and the copy was synced: read
	// the counts without checking it all a second time.
	info, err := inspect(ctx, dst, false)
	if err != nil {
		return nil, err
	}
	res.FileInfo = *info
	return res, nil
}

// keepOld checkpoints dst's write-ahead log into it, gives it a second
// name, dst.before-restore-<now>, and moves its -wal and -shm files away:
// a -wal left beside dst would be played onto the restored file.
func keepOld(ctx context.Context, dst string, now time.Time) (string, error) {
	db, err := openRaw(dst, false)
	if err != nil {
		return "", err
	}
	_, cerr := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	if err := errors.Join(cerr, db.Close()); err != nil {
		return "", fmt.Errorf("sqlite: checkpointing %s before the restore: %w", dst, err)
	}
	// A link, not a rename: dst keeps naming a whole database until the
	// restored one takes its name. Two restores in one second get -2, -3...
	base := dst + ".before-restore-" + now.UTC().Format("20060102T150405Z")
	kept := base
	for n := 2; ; n++ {
		err := os.Link(dst, kept)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || n > 100 {
			return "", fmt.Errorf("sqlite: keeping %s as %s: %w", dst, kept, err)
		}
		kept = base + "-" + strconv.Itoa(n)
	}
	for _, side := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(dst + side); err != nil {
			continue
		}
		if err := os.Rename(dst+side, kept+side); err != nil {
			return "", fmt.Errorf("sqlite: moving %s away: %w", dst+side, err)
		}
	}
	return kept, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("sqlite: syncing %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := errors.Join(d.Sync(), d.Close()); err != nil {
		return fmt.Errorf("sqlite: syncing directory %s: %w", dir, err)
	}
	return nil
}

// formatSize is n bytes for people: "1.5 MB".
func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KB"
	}
	return strconv.FormatInt(n, 10) + " B"
}

// HumanSize is the file's size for people ("1.5 MB").
func (f *FileInfo) HumanSize() string { return formatSize(f.Size) }
