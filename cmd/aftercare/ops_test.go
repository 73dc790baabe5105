package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

func TestVersionFrom(t *testing.T) {
	t.Parallel()
	vcs := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202163539-b0fee5b2509d+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "b0fee5b2509db80526bb0464e8392d65fa9e1ad4"},
			{Key: "vcs.time", Value: "2026-12-02T16:35:39Z"}, {Key: "vcs.modified", Value: "true"}}}
	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	for _, tt := range []struct {
		name               string
		info               *debug.BuildInfo
		ld                 [4]string
		source, version    string
		commit, commitTime string
		dirty              string // "", "true", "false"
		str                string
	}{
		{name: "BuildInfo", info: vcs, source: "buildinfo", version: "v0.0.0-20261202163539-b0fee5b2509d+dirty",
			commit: "b0fee5b2509db80526bb0464e8392d65fa9e1ad4", commitTime: "2026-12-02T16:35:39Z", dirty: "true",
			str: "v0.0.0-20261202163539-b0fee5b2509d+dirty"},
		{name: "LdflagsWin", info: vcs, ld: [4]string{"v1.4.0", "abc123", "2026-12-01T10:00:00Z", "false"}, source: "ldflags",
			version: "v1.4.0", commit: "abc123", commitTime: "2026-12-01T10:00:00Z", dirty: "false", str: "v1.4.0"},
		{name: "LdflagsCommitOnly", info: bare, ld: [4]string{"", "0123456789abcdef0123", "", ""}, source: "ldflags",
			version: "devel", commit: "0123456789abcdef0123", str: "devel (0123456789ab)"},
		{name: "None", info: bare, source: "none", version: "devel", str: "devel"},
		{name: "NoBuildInfo", info: nil, source: "none", version: "devel", str: "devel"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := versionFrom(tt.info, tt.ld[0], tt.ld[1], tt.ld[2], tt.ld[3])
			dirty := ""
			if v.Dirty != nil {
				dirty = map[bool]string{true: "true", false: "false"}[*v.Dirty]
			}
			if v.Source != tt.source || v.Version != tt.version || v.Commit != tt.commit || v.CommitTime != tt.commitTime || dirty != tt.dirty {
				t.Errorf("versionFrom: %+v (dirty %q), want source %s version %s commit %s time %s dirty %q",
					v, dirty, tt.source, tt.version, tt.commit, tt.commitTime, tt.dirty)
			}
			if v.GoVersion == "" {
				t.Error("no Go version")
			}
			if v.String() != tt.str {
				t.Errorf("String() = %q, want %q", v.String(), tt.str)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	var v versionInfo
	if err := json.Unmarshal([]byte(mustCLI(t, db, "version", "--json")), &v); err != nil {
		t.Fatal(err)
	}
	// A test binary has no VCS data and no ldflags: it says so.
	if v.Source != "none" || v.Version != "devel" || !strings.HasPrefix(v.GoVersion, "go") {
		t.Errorf("version --json of a test binary: %+v", v)
	}
	if out := mustCLI(t, db, "version"); !strings.Contains(out, "source      none") {
		t.Errorf("version:\n%s", out)
	}
}

func TestReadyURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ addr, want string }{
		{"127.0.0.1:8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/readyz"},
		{":9000", "http://127.0.0.1:9000/readyz"},
		{"[::]:8080", "http://[::1]:8080/readyz"},
		{"aftercare.internal:80", "http://aftercare.internal:80/readyz"},
	} {
		if got, err := readyURL(tt.addr); err != nil || got != tt.want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", tt.addr, got, err, tt.want)
		}
	}
	_, err := readyURL("8080")
	wantErr(t, "readyURL without a port", err, aftercare.EINVALID, "AFTERCARE_HTTP_ADDR", "--url")
}

// TestHealthcheck: the exit status and the one-line reason for each way a
// server can be not ready, against HTTP servers on loopback.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	handler := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL + "/readyz"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/readyz"
	ln.Close()
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-hang:
		}
	}))
	t.Cleanup(func() { close(hang); hanging.Close() })

	for _, tt := range []struct {
		name string
		args []string
		want string // "" for ready
	}{
		{"OK", []string{"--url", handler(200, `{"status":"ok"}`)}, ""},
		{"ErrNotReady", []string{"--url", handler(503, `{"status":"unavailable","reason":"the database does not take writes:\n disk I/O error"}`)},
			"503 Service Unavailable: the database does not take writes: disk I/O error"},
		{"ErrNotFound", []string{"--url", handler(404, "")}, "404 Not Found"},
		{"ErrRefused", []string{"--url", refused}, "nothing is listening there (connection refused): is serve running"},
		{"ErrTimeout", []string{"--url", hanging.URL + "/readyz", "--timeout", "200ms"}, "did not answer in time"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, _, err := cli(t, db, "", append([]string{"healthcheck"}, tt.args...)...)
			if tt.want == "" {
				if err != nil || !strings.HasPrefix(out, "ready: ") {
					t.Fatalf("healthcheck: %v, %q", err, out)
				}
				return
			}
			wantErr(t, "healthcheck", err, unhealthyCode, "not ready: ", tt.want)
			if exitCode(err) != 1 {
				t.Errorf("exit status %d, want 1 (a container HEALTHCHECK's unhealthy)", exitCode(err))
			}
			if strings.Contains(aftercare.ErrorMessage(err), "\n") {
				t.Errorf("the reason is not one line: %q", aftercare.ErrorMessage(err))
			}
		})
	}
	_, _, err = cli(t, db, "", "healthcheck", "--timeout", "0s")
	wantErr(t, "healthcheck --timeout 0s", err, usageCode, "--timeout")
	for _, bad := range []string{"nothing", "127.0.0.1:8080/readyz", "ftp://127.0.0.1/readyz"} {
		_, _, err = cli(t, db, "", "healthcheck", "--url", bad)
		wantErr(t, "healthcheck --url "+bad, err, usageCode, "--url must be an http:// URL", bad)
	}
}

// TestOpsAgainstServe runs healthcheck, backup and restore against a real
// serve on loopback, through the command line's own wiring: healthcheck
// finds it from AFTERCARE_HTTP_ADDR; a backup is taken while it runs; a
// restore is refused while it holds its claim lease and done once it has
// stopped; then healthcheck says the server is gone.
func TestOpsAgainstServe(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	dir := t.TempDir()
	setEnv(db, map[string]string{
		"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_OUTBOX": filepath.Join(dir, "outbox.jsonl"),
		"AFTERCARE_DISPATCH_SPEC": "@every 1h", "AFTERCARE_RECONCILE_SPEC": "@every 1h",
	})
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--protocol", "microneedling",
		"--treated-at", "2026-11-22T09:00", "--sms-consent")
	stdout, stderr, stop := startServe(t, db)
	addr := stdout.waitFor(t, regexp.MustCompile(`serving on http://(\S+) `), nil)[1]
	if !regexp.MustCompile(`version\W+devel`).MatchString(stderr.String()) {
		t.Errorf("serve's start log does not name the version:\n%s", stderr.String())
	}
	setEnv(db, map[string]string{"AFTERCARE_HTTP_ADDR": addr})

	out, _, err := cli(t, db, "", "healthcheck", "--json")
	if err != nil || !strings.Contains(out, `"status": "ok"`) {
		t.Fatalf("healthcheck of a running serve: %v, %s", err, out)
	}

	backup := filepath.Join(dir, "backup.db")
	out, _, err = cli(t, db, "", "backup", backup)
	if err != nil || !strings.Contains(out, "checked") || !regexp.MustCompile(`enrollments\s+1\n`).MatchString(out) {
		t.Fatalf("backup while serve runs: %v\n%s", err, out)
	}
	_, _, err = cli(t, db, "", "backup", backup)
	wantErr(t, "a second backup to the same file", err, aftercare.ECONFLICT, "exists already", "--force")

	mustCLI(t, db, "cancel", "1")
	_, _, err = cli(t, db, "", "restore", backup)
	wantErr(t, "restore while serve runs", err, aftercare.ECONFLICT, "stop every serve")

	stop()
	_, _, err = cli(t, db, "", "healthcheck", "--timeout", "2s")
	wantErr(t, "healthcheck after serve stopped", err, unhealthyCode, "not ready", "connection refused")

	out, _, err = cli(t, db, "", "restore", "--json", backup)
	if err != nil {
		t.Fatalf("restore after serve stopped: %v", err)
	}
	var res struct {
		Kept   string           `json:"kept"`
		Counts map[string]int64 `json:"counts"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.Kept, db+".before-restore-20261122T180000Z") || res.Counts["enrollments"] != 1 {
		t.Errorf("restore --json: %s", out)
	}
	// The cancel made after the backup is undone.
	if out := mustCLI(t, db, "show", "1"); !strings.Contains(out, "active enrollment 1") {
		t.Errorf("after the restore, enrollment 1 is not active again:\n%s", out)
	}
}

func TestBackupRestoreErrors(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	dir := t.TempDir()
	_, _, err := cli(t, db, "", "backup")
	wantErr(t, "backup without a file", err, usageCode, "one argument")
	_, _, err = cli(t, db, "", "restore", filepath.Join(dir, "missing.db"))
	wantErr(t, "restore of a missing file", err, aftercare.ENOTFOUND, "missing.db")
	_, _, err = cli(t, db, "", "backup", "--db", "postgres://aftercare@db.internal/aftercare", filepath.Join(dir, "b.db"))
	wantErr(t, "backup of PostgreSQL", err, aftercare.EINVALID, "pg_dump")
	_, _, err = cli(t, db, "", "restore", "--db", "postgresql://aftercare@db.internal/aftercare", filepath.Join(dir, "b.db"))
	wantErr(t, "restore of PostgreSQL", err, aftercare.EINVALID, "pg_restore")
}

// TestHealthcheckJSON: --json prints a JSON answer when not ready too.
func TestHealthcheckJSON(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/readyz"
	ln.Close()
	out, _, err := cli(t, db, "", "healthcheck", "--json", "--url", url)
	wantErr(t, "healthcheck --json, nothing listening", err, unhealthyCode, "nothing is listening")
	var got map[string]string
	if jerr := json.Unmarshal([]byte(out), &got); jerr != nil || got["status"] != "not_ready" || got["url"] != url ||
		!strings.Contains(got["reason"], "nothing is listening") {
		t.Errorf("healthcheck --json printed %q (%v)", out, jerr)
	}
}
