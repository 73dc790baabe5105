package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixedNow is the injected clock of the command-line tests.
var fixedNow = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)

// cli runs the command line in-process against db, as a user would type it.
func cli(t *testing.T, db string, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"--db", db}, args...), envOf(db), Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb},
		func() time.Time { return fixedNow })
	return out.String(), errb.String(), err
}

func mustCLI(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, _, err := cli(t, db, "", args...)
	if err != nil {
		t.Fatalf("aftercare %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// newDB returns the path of a new database whose environment names the
// first clinic.
func newDB(t *testing.T) string {
	return withClinicEnv(t, filepath.Join(t.TempDir(), "aftercare.db"))
}

// madeDB is newDB made: its first command, `protocols` (the README
// walkthrough's), has made the database and its clinic from the
// environment. Commands that only read refuse a path with no database.
func madeDB(t *testing.T) string {
	t.Helper()
	db := newDB(t)
	mustCLI(t, db, "protocols")
	return db
}

// withClinicEnv gives the database db the environment that names the
// first clinic, until the test ends, and returns db.
func withClinicEnv(t *testing.T, db string) string {
	t.Cleanup(func() { testEnvs.Delete(db) })
	setEnv(db, map[string]string{
		"AFTERCARE_CLINIC_NAME":  "Glow Skin Studio",
		"AFTERCARE_CLINIC_PHONE": "+1 415 555 0199",
		"AFTERCARE_CLINIC_TZ":    "America/Los_Angeles",
	})
	return db
}

// testEnvs is the environment each test database's commands run with
// (db path -> map[string]string), as an installation is its database and
// its environment. Tests leave the process's environment alone, so that
// they can run in parallel.
var testEnvs sync.Map

// setEnv sets variables of db's environment for the commands run after.
func setEnv(db string, vars map[string]string) {
	env := map[string]string{}
	if old, ok := testEnvs.Load(db); ok {
		env = maps.Clone(old.(map[string]string))
	}
	maps.Copy(env, vars)
	testEnvs.Store(db, env)
}

// envOf is db's environment (empty for a database newDB did not make).
func envOf(db string) Env {
	env, _ := testEnvs.Load(db)
	m, _ := env.(map[string]string)
	return MapEnv(m)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./cmd/aftercare -update` to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the output; if the change is intended, run `go test ./cmd/aftercare -update`.\n--- got ---\n%s", path, got)
	}
}

func TestPreviewGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ protocol, lang, treated, tz string }{
		{"microneedling", "en", "2026-03-07T17:30", "America/New_York"},
		{"microneedling", "es", "2026-03-07T17:30", "America/New_York"},
		{"microneedling-prep", "en", "2026-03-07T17:30", "America/New_York"},
		{"microneedling-prep", "es", "2026-03-07T17:30", "America/New_York"},
	} {
		t.Run(tc.protocol+"."+tc.lang, func(t *testing.T) {
			db := madeDB(t)
			args := []string{"preview", "--protocol", tc.protocol, "--treated-at", tc.treated, "--tz", tc.tz, "--lang", tc.lang}
			golden(t, tc.protocol+"."+tc.lang+".txt", mustCLI(t, db, args...))
			js := mustCLI(t, db, append(args, "--json")...)
			golden(t, tc.protocol+"."+tc.lang+".json", js)
			var msgs []map[string]any
			if err := json.Unmarshal([]byte(js), &msgs); err != nil {
				t.Fatal(err)
			}
			for _, m := range msgs {
				for _, k := range []string{"step", "channel", "send_at", "local", "body", "note"} {
					if _, ok := m[k]; !ok {
						t.Errorf("preview --json object lacks %q: %v", k, m)
					}
				}
				if m["channel"] == "sms" && m["segments"] == nil || m["channel"] == "email" && m["subject"] == nil {
					t.Errorf("missing segments/subject: %v", m)
				}
				if m["channel"] == "sms" && !strings.Contains(m["body"].(string), "Glow Skin Studio") {
					t.Errorf("an SMS that does not name the clinic: %v", m["body"])
				}
			}
		})
	}
}

func TestEnrollCommand(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	args := []string{"enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--email", "ana@example.com",
		"--tz", "America/Los_Angeles", "--lang", "es", "--protocol", "microneedling", "--treated-at", "2026-11-22T15:00",
		"--sms-consent", "--email-consent", "--json"}
	var first, second struct {
		EnrollmentID int64            `json:"enrollment_id"`
		PatientID    int64            `json:"patient_id"`
		Created      bool             `json:"created"`
		Messages     []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, args...)), &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, args...)), &second); err != nil {
		t.Fatal(err)
	}
	if !first.Created || second.Created || first.EnrollmentID != second.EnrollmentID || len(first.Messages) != len(second.Messages) {
		t.Fatalf("re-running enroll: first %d (created %v, %d msgs), second %d (created %v, %d msgs)",
			first.EnrollmentID, first.Created, len(first.Messages), second.EnrollmentID, second.Created, len(second.Messages))
	}
	id := "1"
	out := mustCLI(t, db, "reschedule", id, "--treated-at", "2026-11-23T15:00")
	if !strings.Contains(out, "rescheduled enrollment 1") {
		t.Errorf("reschedule said %q", out)
	}
	out = mustCLI(t, db, "cancel", id)
	if !strings.Contains(out, "cancelled") {
		t.Errorf("cancel said %q", out)
	}
	var shown struct {
		Status   string           `json:"status"`
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, "show", id, "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Status != "cancelled" {
		t.Errorf("enrollment status %q after cancel", shown.Status)
	}
	for _, m := range shown.Messages {
		if m["status"] == "pending" {
			t.Errorf("still pending after cancel: %v", m["step"])
		}
	}
}

func TestErrorsSayWhatToFix(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	tests := []struct {
		name string
		args []string
		code string
		want string
	}{
		{"ErrUnknownZone", []string{"preview", "--protocol", "microneedling", "--treated-at", "2026-03-07T17:30", "--tz", "New York"}, aftercare.EINVALID, "unknown time zone"},
		{"ErrMissingFlag", []string{"preview", "--protocol", "microneedling"}, usageCode, "--treated-at"},
		{"ErrUnknownProtocol", []string{"preview", "--protocol", "botox", "--treated-at", "2026-03-07T17:30", "--tz", "UTC"}, aftercare.EINVALID, "use one of: microneedling, microneedling-prep"},
		{"ErrBadID", []string{"cancel", "abc"}, aftercare.EINVALID, "not an enrollment id"},
		{"ErrNoEnrollment", []string{"cancel", "99"}, aftercare.ENOTFOUND, "99"},
		{"ErrUnknownFlag", []string{"enroll", "--nmae", "x"}, usageCode, "--nmae"},
		{"ErrMissingFile", []string{"protocols", "validate", "nope.yaml"}, aftercare.EINVALID, "nope.yaml"},
		{"ErrWindow", []string{"clinic", "set", "--window", "9-5"}, aftercare.EINVALID, "send window"},
		{"ErrUnknownClinic", []string{"--clinic", "nowhere", "clinic"}, aftercare.EINVALID, "clinic list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cli(t, db, "", tt.args...)
			if aftercare.ErrorCode(err) != tt.code || !strings.Contains(aftercare.ErrorMessage(err), tt.want) {
				t.Errorf("got %s %q, want %s containing %q", aftercare.ErrorCode(err), aftercare.ErrorMessage(err), tt.code, tt.want)
			}
		})
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	root := (&app{}).rootCmd()
	cmds := allCommands(root)
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found", len(cmds))
	}
	for _, c := range cmds {
		out, _, err := cli(t, db, "", append(c, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("aftercare %s --help: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
}

func TestClinicCommands(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	out := mustCLI(t, db, "clinic")
	if !strings.Contains(out, "Glow Skin Studio") || !strings.Contains(out, "08:00-21:00") || !strings.Contains(out, "+14155550199") {
		t.Errorf("clinic show:\n%s", out)
	}
	mustCLI(t, db, "clinic", "set", "--daily-cap", "2", "--window", "09:00-20:00", "--yes")
	var c clinicJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil {
		t.Fatal(err)
	}
	if c.DailyCap != 2 || c.Window != "09:00-20:00" {
		t.Errorf("after set: %+v", c)
	}
	mustCLI(t, db, "clinic", "add", "downtown", "--name", "Downtown Derm", "--tz", "America/New_York", "--phone", "+1 212 555 0100")
	out = mustCLI(t, db, "--clinic", "downtown", "protocols")
	if !strings.Contains(out, "microneedling") {
		t.Errorf("the new clinic has no built-in protocols:\n%s", out)
	}
}

func TestProtocolFileCommands(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "peel.yaml")
	os.WriteFile(good, []byte("slug: peel\nname: Peel\nlanguages: [en]\nsteps:\n  - key: spf\n    channels: [sms]\n    after: 0s\n    text:\n      en:\n        sms: \"{{.ClinicName}}: SPF\"\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("slug: peel\nname: Peel\nlanguages: [en]\nsteps:\n  - key: spf\n    chanels: [sms]\n    after: 0s\n"), 0o644)
	if out := mustCLI(t, db, "protocols", "validate", good); !strings.Contains(out, "valid") {
		t.Errorf("validate: %s", out)
	}
	_, _, err := cli(t, db, "", "protocols", "validate", bad)
	if msg := aftercare.ErrorMessage(err); !strings.Contains(msg, "bad.yaml:6:5") || !strings.Contains(msg, "chanels") {
		t.Errorf("validate bad: %q, want file:line:col and the unknown key", msg)
	}
	_, _, err = cli(t, db, "", "protocols", "import", bad)
	if err == nil {
		t.Error("importing a bad file succeeded")
	}
	if out := mustCLI(t, db, "protocols"); strings.Contains(out, "peel") {
		t.Errorf("a rejected import was stored:\n%s", out)
	}
	mustCLI(t, db, "protocols", "import", good)
	os.WriteFile(good, []byte("slug: peel\nname: Peel\nlanguages: [en]\nsteps:\n  - key: spf\n    channels: [sms]\n    after: 0s\n    text:\n      en:\n        sms: \"{{.ClinicName}}: SPF 50\"\n"), 0o644)
	if out := mustCLI(t, db, "protocols", "import", good); !strings.Contains(out, "version 2") {
		t.Errorf("second import: %s", out)
	}
	if out := mustCLI(t, db, "protocols", "show", "peel"); !strings.Contains(out, "v2") || !strings.Contains(out, "after 0s") {
		t.Errorf("show: %s", out)
	}
}

// patientsCSV writes an import file with the columns `aftercare import`
// reads and the given rows, and returns its path.
func patientsCSV(t *testing.T, rows ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "patients.csv")
	data := "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestImportCommand(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	file := patientsCSV(t,
		"Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-22T15:00,yes,yes",
		"Bo Chen,not a phone,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,yes,no")
	out, _, err := cli(t, db, "", "import", file)
	if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(out, "line 3: phone") || !strings.Contains(out, "1 enrolled") {
		t.Errorf("import: %v\n%s", err, out)
	}
	out, _, _ = cli(t, db, "", "import", file)
	if !strings.Contains(out, "0 enrolled, 1 already enrolled") {
		t.Errorf("re-run: %s", out)
	}
}

// allCommands lists the command paths of the tree, e.g. ["protocols", "show"].
func allCommands(c *cobra.Command) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		if sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		out = append(out, []string{sub.Name()})
		for _, p := range allCommands(sub) {
			out = append(out, append([]string{sub.Name()}, p...))
		}
	}
	return out
}

// TestProtocolWarnings: validate and import print a protocol's warnings on
// stderr (and under "warnings" with --json) and still accept it.
func TestProtocolWarnings(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	file := filepath.Join(t.TempDir(), "peel.yaml")
	os.WriteFile(file, []byte("slug: peel\nname: Peel\nlanguages: [en]\nsteps:\n  - key: spf\n    channels: [sms]\n    after: 0s\n    text:\n      en:\n        sms: \"Your peel is done: SPF\"\n"), 0o644)
	want := []string{
		file + `:10:14: warning: step "spf": text.en.sms does not give the clinic's phone`,
		file + `:10:14: warning: step "spf": text.en.sms does not start with {{.ClinicName}}`,
		file + `:10:20: warning: step "spf": text.en.sms names the treatment ("peel")`,
	}
	check := func(what, stderr string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if len(lines) != len(want) {
			t.Fatalf("%s: stderr\n%s\nwant %d warnings", what, stderr, len(want))
		}
		for i := range want {
			if !strings.HasPrefix(lines[i], want[i]) {
				t.Errorf("%s: warning %d:\n got %s\nwant %s...", what, i, lines[i], want[i])
			}
		}
	}
	out, stderr, err := cli(t, db, "", "protocols", "validate", file)
	if err != nil || !strings.Contains(out, "valid protocol") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	check("validate", stderr)
	out, _, err = cli(t, db, "", "--json", "protocols", "validate", file)
	var v struct {
		Valid    bool     `json:"valid"`
		Warnings []string `json:"warnings"`
	}
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || !v.Valid || len(v.Warnings) != 3 || !strings.HasPrefix(v.Warnings[2], want[2]) {
		t.Errorf("validate --json: %v\n%s", err, out)
	}
	out, stderr, err = cli(t, db, "", "protocols", "import", file)
	if err != nil || !strings.Contains(out, "imported peel as version 1") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	check("import", stderr)
	out, _, err = cli(t, db, "", "--json", "protocols", "import", file)
	var imp struct {
		Created  bool     `json:"created"`
		Warnings []string `json:"warnings"`
	}
	if err != nil || json.Unmarshal([]byte(out), &imp) != nil || imp.Created || len(imp.Warnings) != 3 {
		t.Errorf("import --json: %v\n%s", err, out)
	}
	// A protocol without warnings prints none, and --json has an empty list.
	out, stderr, err = cli(t, db, "", "--json", "protocols", "validate", filepath.Join("..", "..", "templates", "builtin", "microneedling.yaml"))
	if err != nil || stderr != "" || !strings.Contains(out, `"warnings": []`) {
		t.Errorf("builtin: %v %q\n%s", err, stderr, out)
	}
}
