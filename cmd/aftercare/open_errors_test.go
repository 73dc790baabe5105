package main

import (
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres/pgtest"
)

// TestOpenErrors: a database that cannot be opened gets a message saying
// what to check (not "internal error"), and a password, in the user part
// of the URL or in a password= parameter, is never printed.
func TestOpenErrors(t *testing.T) {
	t.Parallel()
	db := madeDB(t) // copy-db's SQLite file
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	for _, tt := range []struct {
		name  string
		args  []string
		words []string
	}{
		{"ErrNoDirectory", []string{"protocols", "--db", filepath.Join(t.TempDir(), "none", "aftercare.db")},
			[]string{"there is no directory", "none", "--db or AFTERCARE_DB"}},
		{"ErrUnknownHost", []string{"clinic", "--db", "postgres://aftercare:sekret@nohost.invalid/aftercare"},
			[]string{`there is no host named "nohost.invalid"`, "--db or AFTERCARE_DB", "aftercare:xxxxx@"}},
		{"ErrRefused", []string{"clinic", "--db", "postgres://aftercare@" + closed + "/aftercare?password=sekret"},
			[]string{"nothing answers at " + closed, "is PostgreSQL running", "password=xxxxx"}},
		{"ErrCopyDBRefused", []string{"copy-db", "--to", "postgresql://aftercare:sekret@" + closed + "/aftercare"},
			[]string{"nothing answers at " + closed, "aftercare:xxxxx@"}},
		{"ErrCopyDBNotAURL", []string{"copy-db", "--to", "mysql://aftercare:sekret@db.example/aftercare"},
			[]string{"--to: give the PostgreSQL URL", "aftercare:xxxxx@"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := cli(t, db, "", tt.args...)
			wantErr(t, strings.Join(tt.args, " "), err, aftercare.EINVALID, tt.words...)
			if strings.Contains(err.Error(), "sekret") {
				t.Errorf("the password is printed: %v", err)
			}
		})
	}
}

// TestOpenErrorsPostgres: a database that does not exist on a server that
// answers, and a user the server refuses.
func TestOpenErrorsPostgres(t *testing.T) {
	t.Parallel()
	base := pgtest.Base(t)
	db := madeDB(t)
	missing := withPath(t, base, "/aftercare_no_such_database")
	_, _, err := cli(t, db, "", "clinic", "--db", missing)
	wantErr(t, "a database that does not exist", err, aftercare.EINVALID, "aftercare_no_such_database", "does not exist", "createdb")
	_, _, err = cli(t, db, "", "copy-db", "--to", missing)
	wantErr(t, "copy-db --to a database that does not exist", err, aftercare.EINVALID, "does not exist", "in --to")
	nobody := withUser(t, base, "aftercare_no_such_user", "sekret")
	_, _, err = cli(t, db, "", "clinic", "--db", nobody)
	wantErr(t, "a user the server refuses", err, aftercare.EINVALID, "refused the user or password", "aftercare_no_such_user:xxxxx@")
	if strings.Contains(err.Error(), "sekret") {
		t.Errorf("the password is printed: %v", err)
	}
}

// withPath is the URL u with its path (the database's name) replaced.
func withPath(t *testing.T, u, path string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.Path = path
	return p.String()
}

// withUser is the URL u with its user and password replaced.
func withUser(t *testing.T, u, user, password string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p.User = url.UserPassword(user, password)
	return p.String()
}

// TestServeBadLogSettingsLeaveNoDatabase: serve refuses a mistyped log
// setting before it opens (and so creates) the database.
func TestServeBadLogSettingsLeaveNoDatabase(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, key, value string }{
		{"ErrLevel", "AFTERCARE_LOG_LEVEL", "loud"},
		{"ErrFormat", "AFTERCARE_LOG_FORMAT", "xml"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			setEnv(db, map[string]string{tt.key: tt.value, "AFTERCARE_HTTP_ADDR": "127.0.0.1:0"})
			_, _, err := cli(t, db, "", "serve")
			wantErr(t, "serve with "+tt.key+"="+tt.value, err, aftercare.EINVALID, tt.key, tt.value)
			if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("serve left a database at %s (%v)", db, err)
			}
		})
	}
}

func TestURLPassword(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, want string }{
		{"postgres://aftercare:s3cret@db/aftercare", "s3cret"},
		{"postgresql://aftercare@db/aftercare?sslmode=disable&password=s3cret", "s3cret"},
		{"postgres://aftercare@db/aftercare", ""},
		{"./aftercare.db", ""},
	} {
		if got := urlPassword(tt.url); got != tt.want {
			t.Errorf("urlPassword(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestWithConnectTimeout(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ url, want string }{
		{"postgres://aftercare@db/aftercare", "postgres://aftercare@db/aftercare?connect_timeout=10"},
		{"postgres://aftercare@db/aftercare?sslmode=require", "postgres://aftercare@db/aftercare?connect_timeout=10&sslmode=require"},
		{"postgres://aftercare@db/aftercare?connect_timeout=3", "postgres://aftercare@db/aftercare?connect_timeout=3"},
	} {
		if got := withConnectTimeout(tt.url); got != tt.want {
			t.Errorf("withConnectTimeout(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
