package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// TestMissingDatabase runs every command on a --db that names no file. A
// command that only reads, or changes what must already be there, fails
// (exit 1) saying which path, what to check and how a new database is
// made, and leaves the directory empty: before, it made an empty database
// and answered as if the clinic had nothing ("no messages"). The commands
// that may make one (mayCreateDB) do, and say so on stderr.
func TestMissingDatabase(t *testing.T) {
	t.Parallel()
	src := madeDB(t)
	backup := filepath.Join(t.TempDir(), "backup.db")
	mustCLI(t, src, "backup", backup)
	peel := "../../docs/examples/my-peel.yaml"
	csv := patientsCSV(t, "Ana Ruiz,+1 415 555 0100,,America/Los_Angeles,en,microneedling,2026-11-22T15:00,yes,no")

	// creates: the commands that make the database; none: the ones that
	// never open it. Every other command must refuse.
	tests := []struct {
		args          []string
		creates, none bool
		words         []string // what the refusal says besides the path
	}{
		{args: []string{"protocols"}, creates: true},
		{args: []string{"protocols", "list"}, creates: true},
		{args: []string{"protocols", "import", peel}, creates: true},
		{args: []string{"enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--sms-consent",
			"--protocol", "microneedling", "--treated-at", "2026-11-22T15:00"}, creates: true},
		{args: []string{"import", csv}, creates: true},
		{args: []string{"clinic", "set", "--daily-cap", "2", "--yes"}, creates: true},
		{args: []string{"clinic", "add", "downtown", "--name", "Downtown Derm", "--tz", "America/New_York", "--phone", "+1 212 555 0100"}, creates: true},
		{args: []string{"user", "add", "lee@clinic.example", "--role", "manager"}, creates: true},
		{args: []string{"token", "create", "--role", "manager"}, creates: true},
		{args: []string{"restore", backup}, creates: true},
		{args: []string{"serve"}, creates: true}, // runs until stopped: its annotation is checked, not run here

		{args: []string{"protocols", "validate", peel}, none: true},
		{args: []string{"version"}, none: true},
		{args: []string{"healthcheck"}, none: true},
		{args: []string{"user"}, none: true}, // the groups print their help
		{args: []string{"token"}, none: true},
		{args: []string{"patient"}, none: true},

		{args: []string{"protocols", "show", "microneedling"}},
		{args: []string{"preview", "--protocol", "microneedling", "--treated-at", "2026-11-22T15:00"}},
		{args: []string{"show", "1"}},
		{args: []string{"cancel", "1"}},
		{args: []string{"reschedule", "1", "--treated-at", "2026-11-22T17:00"}},
		{args: []string{"clinic"}},
		{args: []string{"clinic", "show"}},
		{args: []string{"clinic", "list"}},
		{args: []string{"log"}},
		{args: []string{"stats"}},
		{args: []string{"audit"}},
		{args: []string{"purge"}},
		{args: []string{"patients"}},
		{args: []string{"patient", "consent", "1"}},
		{args: []string{"summary"}},
		{args: []string{"user", "list"}},
		{args: []string{"user", "link", "lee@clinic.example"}},
		{args: []string{"user", "disable", "lee@clinic.example"}},
		{args: []string{"user", "enable", "lee@clinic.example"}},
		{args: []string{"token", "list"}},
		{args: []string{"token", "revoke", "1"}},
		{args: []string{"backup", filepath.Join(t.TempDir(), "b.db")}, words: []string{"no database file", "--db"}},
		{args: []string{"copy-db", "--to", "postgres://aftercare@127.0.0.1:1/aftercare"}, words: []string{"no SQLite file", "--db"}},
	}

	// Every command of the tree is in the table, and the table's creators
	// are exactly the commands marked mayCreateDB: a new command is
	// classified here, on purpose.
	root := (&app{}).rootCmd()
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[pathOf(tt.args)] = true
	}
	for _, c := range allCommands(root) {
		if !listed[strings.Join(c, " ")] {
			t.Errorf("aftercare %s is not in the table: does it make a new database or refuse a missing one?", strings.Join(c, " "))
		}
	}
	for _, tt := range tests {
		c, _, err := root.Find(tt.args)
		if err != nil {
			t.Fatal(err)
		}
		if _, marked := c.Annotations[createsDB]; marked != tt.creates {
			t.Errorf("aftercare %s: marked mayCreateDB %v, want %v", pathOf(tt.args), marked, tt.creates)
		}
	}

	for _, tt := range tests {
		if tt.args[0] == "serve" {
			continue
		}
		t.Run(strings.Join(strings.Fields(pathOf(tt.args)), "_"), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			db := withClinicEnv(t, filepath.Join(dir, "aftercare.db"))
			setEnv(db, map[string]string{"AFTERCARE_HTTP_ADDR": "127.0.0.1:1"}) // healthcheck: nothing answers there
			_, stderr, err := cli(t, db, "", tt.args...)
			files := dirNames(t, dir)
			switch {
			case tt.creates:
				if err != nil {
					t.Fatalf("on a new database: %v", err)
				}
				if !slices.Contains(files, "aftercare.db") {
					t.Errorf("made no database: %v", files)
				}
				// restore says what it restored instead.
				if want := "note: made a new database at " + db; tt.args[0] != "restore" && !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not say %q", stderr, want)
				}
			case tt.none:
				if len(files) > 0 || strings.Contains(stderr, "new database") {
					t.Errorf("a command that needs no database left %v, stderr %q", files, stderr)
				}
			default:
				if err == nil || exitCode(err) != 1 {
					t.Fatalf("on a path with no database: %v (exit %d), want exit 1", err, exitCode(err))
				}
				words := tt.words
				if words == nil {
					words = []string{"there is no database at", "check the path given with --db", "run `aftercare serve`"}
				}
				for _, w := range append(words, db) {
					if !strings.Contains(aftercare.ErrorMessage(err), w) {
						t.Errorf("%q does not say %q", aftercare.ErrorMessage(err), w)
					}
				}
				if len(files) > 0 {
					t.Errorf("left files behind: %v", files)
				}
			}
		})
	}
}

// TestMissingDatabaseNamesTheSetting: the refusal names the setting that
// gave the path (AFTERCARE_DB, or the default when neither is set), with
// the path made absolute when it was relative, since a relative path is
// read from wherever the command ran.
func TestMissingDatabaseNamesTheSetting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "aftercare-typo.db")
	for _, tt := range []struct {
		name  string
		env   map[string]string
		code  string
		words []string
	}{
		{"AFTERCARE_DB", map[string]string{"AFTERCARE_DB": missing}, aftercare.ENOTFOUND,
			[]string{"there is no database at " + missing + ", which AFTERCARE_DB names", "check AFTERCARE_DB", "run `aftercare serve`"}},
		{"Default", map[string]string{}, aftercare.ENOTFOUND,
			[]string{"there is no database at ./aftercare.db (", "the default when neither --db nor AFTERCARE_DB is set", "run `aftercare serve`"}},
		// No path at all: SQLite's own refusal, which says what to give.
		{"ErrEmpty", map[string]string{"AFTERCARE_DB": ""}, aftercare.EINVALID, []string{"the database must be a file path"}},
		{"ErrMemory", map[string]string{"AFTERCARE_DB": ":memory:"}, aftercare.EINVALID, []string{"the database must be a file path"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "Default" {
				// The default is ./aftercare.db in the test's directory,
				// cmd/aftercare, where no test makes one.
				if _, err := os.Stat("aftercare.db"); err == nil {
					t.Skip("./aftercare.db exists in the package directory")
				}
			}
			var out, errb bytes.Buffer
			err := run(context.Background(), []string{"log"}, MapEnv(tt.env), Streams{In: strings.NewReader(""), Out: &out, Err: &errb},
				func() time.Time { return fixedNow })
			wantErr(t, "log", err, tt.code, tt.words...)
			if out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
		})
	}
	if files := dirNames(t, dir); len(files) > 0 {
		t.Errorf("left files behind: %v", files)
	}
	if _, err := os.Stat("aftercare.db"); err == nil {
		t.Errorf("`aftercare log` made ./aftercare.db in the package directory")
		for _, f := range []string{"aftercare.db", "aftercare.db-wal", "aftercare.db-shm"} {
			os.Remove(f) // made by this test: there was none before it
		}
	}
}

// pathOf is the command path of args: the words before the first flag
// or argument a command does not name (["user", "add", "x@y"] -> "user add").
func pathOf(args []string) string {
	root := (&app{}).rootCmd()
	c, _, err := root.Find(args)
	if err != nil {
		return strings.Join(args, " ")
	}
	return strings.TrimPrefix(c.CommandPath(), "aftercare ")
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
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

// TestServeMakesTheDatabase: serve on a path with no file makes the
// database and says so in its log (a JSON line, like the rest of it),
// once: the next serve opens the same file and says nothing of it.
func TestServeMakesTheDatabase(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	setEnv(db, map[string]string{
		"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_PUBLIC_URL": "", "AFTERCARE_OUTBOX": filepath.Join(t.TempDir(), "outbox.jsonl"),
		"AFTERCARE_DISPATCH_SPEC": "@every 1h", "AFTERCARE_RECONCILE_SPEC": "@every 1h", "AFTERCARE_LOG_FORMAT": "json",
	})
	const made = `"msg":"made a new database, as there was none at the path; if you meant an existing one, check --db and AFTERCARE_DB","db":"`
	_, stderr, stop := startServe(t, db)
	stop()
	if !strings.Contains(stderr.String(), made+db+`"`) {
		t.Errorf("serve on a new path does not log that it made the database:\n%s", stderr.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a line of serve's JSON log is not JSON: %s", line)
		}
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatal(err)
	}
	_, stderr, stop = startServe(t, db)
	stop()
	if strings.Contains(stderr.String(), "made a new database") {
		t.Errorf("the second serve says it made the database:\n%s", stderr.String())
	}
}
