package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres/pgtest"
)

// TestLogSafety writes real records through serve's handlers and reads
// what they wrote.
func TestLogSafety(t *testing.T) {
	t.Parallel()
	const token, password = "5ec7e75ec7e75ec7e75ec7e7", "hunter2-smtp"
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger, err := newLogger(&buf, format, "info", []string{token, password, ""})
			if err != nil {
				t.Fatal(err)
			}
			logger = logger.With("password", password, "clinic", "main")
			logger.Info("texting +1 415 555 0100 failed",
				"err", fmt.Errorf("twilio: %w", errors.New("the 'To' number +14155550100 is not valid; auth "+token)),
				"smtp", errors.New("535 bad credentials for care:"+password),
				"path", "/link/Zm9vYmFyYmF6cXV4", "url", "https://care.example/u/abc.def?x=1", "page", "/p/tok123/calendar",
				slog.Group("patient", "email", "ana.ruiz@example.com", "phones", []string{"+14155550100"}),
				"session", "sess-cookie-value", "token", int64(7), "count", 3, "owner", "host:/data/aftercare.db/0a1b2c")
			logger.Debug("a debug line below the level")
			out := buf.String()
			for _, leak := range []string{token, password, "4155550100", "415 555 0100", "ana.ruiz", "Zm9vYmFy", "abc.def", "tok123", "sess-cookie-value", "debug line"} {
				if strings.Contains(out, leak) {
					t.Errorf("the log shows %q:\n%s", leak, out)
				}
			}
			for _, kept := range []string{"+1***********00", "+1********00", "a***@example.com", "/link/[redacted]", "/u/[redacted]", "/p/[redacted]/calendar",
				"main", "host:/data/aftercare.db/0a1b2c", "535 bad credentials for care:[redacted]"} {
				if !strings.Contains(out, kept) {
					t.Errorf("the log lacks %q:\n%s", kept, out)
				}
			}
			if format == "json" {
				var rec map[string]any
				if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
					t.Fatalf("not one JSON record: %v\n%s", err, out)
				}
				if rec["token"] != float64(7) || rec["count"] != float64(3) || rec["level"] != "INFO" {
					t.Errorf("numbers and the level must stay as they are: %v", rec)
				}
			}
			// The second time a key comes, logSafety remembers whether it
			// names a secret: the same answer.
			buf.Reset()
			logger.Info("again", "session", "second-cookie-value", "smtp", "ok")
			if out := buf.String(); strings.Contains(out, "second-cookie-value") || !strings.Contains(out, "ok") {
				t.Errorf("a key's second line is not cleaned as its first:\n%s", out)
			}
		})
	}
}

func TestNewLoggerSettings(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	for _, tt := range []struct {
		name, format, level, want string
	}{
		{"ErrFormat", "yaml", "info", "AFTERCARE_LOG_FORMAT"},
		{"ErrLevel", "json", "loud", "AFTERCARE_LOG_LEVEL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newLogger(&buf, tt.format, tt.level, nil)
			if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("newLogger(%q, %q): %v; want EINVALID naming %s", tt.format, tt.level, err, tt.want)
			}
		})
	}
	t.Run("DefaultIsJSONOffATerminal", func(t *testing.T) {
		buf.Reset()
		l, err := newLogger(&buf, "", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Info("hello")
		if !json.Valid(buf.Bytes()) {
			t.Errorf("default format to a buffer: %s; want JSON", buf.String())
		}
	})
	t.Run("TextAndDebug", func(t *testing.T) {
		buf.Reset()
		l, err := newLogger(&buf, "TEXT", "debug", nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Debug("hello")
		if !strings.Contains(buf.String(), "level=DEBUG msg=hello") {
			t.Errorf("text at debug: %q", buf.String())
		}
	})
}

// TestServeBadLogSettings: serve refuses a log setting it does not know,
// saying which.
func TestServeBadLogSettings(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	setEnv(db, map[string]string{"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_LOG_FORMAT": "xml"})
	_, _, err := cli(t, db, "", "serve")
	wantErr(t, "serve with AFTERCARE_LOG_FORMAT=xml", err, aftercare.EINVALID, "AFTERCARE_LOG_FORMAT", "json or text")
}

// TestLogSafetyDatabaseURL: a PostgreSQL URL is logged with its password
// taken out and its user@host as it is (it is a role and a server, not
// someone's address, and serve's log must say which database it is on),
// while a patient's number and address beside it are masked as anywhere.
func TestLogSafetyDatabaseURL(t *testing.T) {
	t.Parallel()
	const known = "k3y-from-env" // a secret of the environment, in the URL too
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			logger, err := newLogger(&buf, format, "info", []string{known})
			if err != nil {
				t.Fatal(err)
			}
			logger.Info("aftercare serving",
				"db", "postgres://aftercare@db.internal:5432/aftercare",
				"owner", "web-1:postgres://aftercare@db.internal:5432/aftercare/0a1b2c",
				"err", errors.New("opening database postgresql://aftercare:s3cret-pw@db.internal/aftercare?password=other-pw&sslmode=require "+
					"for ana.ruiz@example.com at +1 415 555 0100"),
				"retry", "POSTGRES://ops:"+known+"@10.0.0.5/aftercare",
				"email", "lee@db.internal")
			out := buf.String()
			for _, leak := range []string{"s3cret-pw", "other-pw", known, "ana.ruiz", "415 555 0100", "lee@db.internal"} {
				if strings.Contains(out, leak) {
					t.Errorf("the log shows %q:\n%s", leak, out)
				}
			}
			for _, kept := range []string{"postgres://aftercare@db.internal:5432/aftercare",
				"web-1:postgres://aftercare@db.internal:5432/aftercare/0a1b2c",
				"postgresql://aftercare:xxxxx@db.internal/aftercare?password=xxxxx&sslmode=require for a***@example.com at +1",
				"postgres://ops:xxxxx@10.0.0.5/aftercare", "l***@db.internal"} {
				if !strings.Contains(out, kept) {
					t.Errorf("the log lacks %q:\n%s", kept, out)
				}
			}
		})
	}
}

// TestServePostgresLogNamesTheDatabase: serve on PostgreSQL, given a URL
// with a password, logs the database it serves as postgres://user@host,
// without the password and without masking user@host as an email.
func TestServePostgresLogNamesTheDatabase(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	// The test server trusts loopback, so the password is never asked
	// for; it must not be logged all the same.
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	db := withClinicEnv(t, u.String())
	setEnv(db, map[string]string{
		"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_PUBLIC_URL": "", "AFTERCARE_OUTBOX": filepath.Join(t.TempDir(), "outbox.jsonl"),
		"AFTERCARE_DISPATCH_SPEC": "@every 1h", "AFTERCARE_RECONCILE_SPEC": "@every 1h", "AFTERCARE_LOG_FORMAT": "json",
	})
	_, stderr, stop := startServe(t, db)
	m := stderr.waitFor(t, regexp.MustCompile(`"msg":"aftercare serving".*"db":"([^"]*)"`), nil)
	stop()
	want := "postgres://" + u.User.Username() + "@" + u.Host + u.Path
	if m[1] != want {
		t.Errorf("serve logs db %q, want %q", m[1], want)
	}
	if strings.Contains(stderr.String(), "s3cret-pw") {
		t.Errorf("the log shows the password:\n%s", stderr.String())
	}
}
