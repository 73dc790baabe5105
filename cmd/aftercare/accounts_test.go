package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/store/sqlite"
)

// accountsDB is newDB with the web app's address set, so that links are
// predictable.
func accountsDB(t *testing.T) string {
	t.Helper()
	db := newDB(t)
	setEnv(db, map[string]string{"AFTERCARE_HTTP_ADDR": "127.0.0.1:8080", "AFTERCARE_PUBLIC_URL": ""})
	return db
}

// openTestStore opens the CLI's database to look at what a command stored.
func openTestStore(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var linkRE = regexp.MustCompile(`(https?://[^\s]+)/link/([A-Za-z0-9_-]+)`)

// wantErr checks a command's error: its code (and so the exit status) and
// words of its message.
func wantErr(t *testing.T, what string, err error, code string, words ...string) {
	t.Helper()
	if aftercare.ErrorCode(err) != code {
		t.Fatalf("%s: %v (code %s), want code %s", what, err, aftercare.ErrorCode(err), code)
	}
	for _, w := range words {
		if !strings.Contains(aftercare.ErrorMessage(err), w) {
			t.Errorf("%s: %q does not say %q", what, aftercare.ErrorMessage(err), w)
		}
	}
}

func TestUserCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := accountsDB(t)

	// add, without a password: a one-time link on the web app's address.
	out := mustCLI(t, db, "user", "add", "Ana@GlowSkin.example", "--role", "frontdesk", "--name", "Ana Ruiz")
	m := linkRE.FindStringSubmatch(out)
	if m == nil || m[1] != "http://127.0.0.1:8080" || !strings.Contains(out, "ana@glowskin.example") {
		t.Fatalf("user add printed no link on http://127.0.0.1:8080:\n%s", out)
	}
	st := openTestStore(t, db)
	l, err := st.UseLink(ctx, accounts.HashSecret(m[2]), fixedNow.Add(time.Hour))
	if err != nil {
		t.Fatalf("the printed link does not work: %v", err)
	}
	if l.ExpiresAt.Sub(fixedNow) != accounts.LinkLifetime {
		t.Errorf("link expires %v, want %v after now", l.ExpiresAt, accounts.LinkLifetime)
	}

	// add --json, with AFTERCARE_PUBLIC_URL.
	setEnv(db, map[string]string{"AFTERCARE_PUBLIC_URL": "https://care.glowskin.example/"})
	var added userJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "user", "add", "lee@glowskin.example", "--role", "manager", "--json")), &added); err != nil {
		t.Fatal(err)
	}
	if added.ID == 0 || added.Role != "manager" || added.Clinic != "main" || added.Status != "invited" ||
		!strings.HasPrefix(added.Link, "https://care.glowskin.example/link/") || added.LinkExpiresAt != "2026-11-25T18:00:00Z" {
		t.Errorf("user add --json: %+v", added)
	}

	// add --password-stdin: no link, the password works.
	out, _, err = cli(t, db, "correct horse battery\n", "user", "add", "ops@glowskin.example", "--role", "admin", "--password-stdin")
	if err != nil || linkRE.MatchString(out) || !strings.Contains(out, "https://care.glowskin.example/signin") {
		t.Fatalf("user add --password-stdin: %v\n%s", err, out)
	}
	ops, err := st.FindUserByEmail(ctx, "ops@glowskin.example")
	if err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(ops.PasswordHash), []byte("correct horse battery")) != nil {
		t.Error("the password read from stdin does not sign in")
	}

	// list, text and JSON.
	out = mustCLI(t, db, "user", "list")
	for _, want := range []string{"ana@glowskin.example", "Ana Ruiz", "frontdesk", "lee@glowskin.example", "invited", "ops@glowskin.example", "active"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list does not show %q:\n%s", want, out)
		}
	}
	var users []userJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "user", "list", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 3 || users[0].Email != "ana@glowskin.example" || users[2].Status != "active" {
		t.Errorf("user list --json: %+v", users)
	}

	// link: a new link, which works, and the old one stays used.
	out = mustCLI(t, db, "user", "link", "ANA@glowskin.example")
	m2 := linkRE.FindStringSubmatch(out)
	if m2 == nil || m2[2] == m[2] {
		t.Fatalf("user link printed no new link:\n%s", out)
	}
	if _, err := st.UseLink(ctx, accounts.HashSecret(m2[2]), fixedNow); err != nil {
		t.Errorf("the new link does not work: %v", err)
	}

	// disable: signed out everywhere, no more links; enable undoes it.
	ana, _ := st.FindUserByEmail(ctx, "ana@glowskin.example")
	sess := &aftercare.Session{Hash: accounts.HashSecret("ana's browser"), UserID: ana.ID, ClinicID: ana.ClinicID, CSRF: "x",
		CreatedAt: fixedNow, SeenAt: fixedNow, ExpiresAt: fixedNow.Add(time.Hour)}
	if err := st.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, db, "user", "disable", "ana@glowskin.example")
	if !strings.Contains(out, "Disabled ana@glowskin.example") {
		t.Errorf("user disable said %q", out)
	}
	if _, err := st.FindSession(ctx, sess.Hash); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("a disabled user's session: %v, want it deleted", err)
	}
	if out := mustCLI(t, db, "user", "list"); !regexp.MustCompile(`ana@glowskin.example.*disabled`).MatchString(out) {
		t.Errorf("user list after disable:\n%s", out)
	}
	if out := mustCLI(t, db, "user", "disable", "ana@glowskin.example"); !strings.Contains(out, "already disabled") {
		t.Errorf("user disable again said %q", out)
	}
	_, _, err = cli(t, db, "", "user", "link", "ana@glowskin.example")
	wantErr(t, "user link of a disabled user", err, aftercare.ECONFLICT, "disabled", "user enable")
	var enabled userJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "user", "enable", "ana@glowskin.example", "--json")), &enabled); err != nil {
		t.Fatal(err)
	}
	if enabled.Status != "invited" || enabled.DisabledAt != "" { // enabled, with no password yet
		t.Errorf("user enable --json: %+v", enabled)
	}
}

func TestUserCommandErrors(t *testing.T) {
	t.Parallel()
	db := accountsDB(t)
	mustCLI(t, db, "user", "add", "ana@glowskin.example", "--role", "admin")
	mustCLI(t, db, "clinic", "add", "downtown", "--name", "Glow Downtown", "--tz", "America/New_York", "--phone", "+1 212 555 0100")
	mustCLI(t, db, "--clinic", "downtown", "user", "add", "lee@glowskin.example", "--role", "manager")

	for _, tt := range []struct {
		name  string
		stdin string
		args  []string
		code  string
		words []string
	}{
		{"ErrBadRole", "", []string{"user", "add", "bo@glowskin.example", "--role", "owner"}, aftercare.EINVALID,
			[]string{`"owner" is not a role`, "frontdesk, manager or admin"}},
		{"ErrNoRole", "", []string{"user", "add", "bo@glowskin.example"}, usageCode, []string{"--role"}},
		{"ErrNoEmail", "", []string{"user", "add", "--role", "admin"}, usageCode, []string{"email"}},
		{"ErrBadEmail", "", []string{"user", "add", "Bo <bo@glowskin.example>", "--role", "admin"}, aftercare.EINVALID,
			[]string{"name@example.com"}},
		{"ErrDuplicateEmail", "", []string{"user", "add", "ANA@glowskin.example", "--role", "frontdesk"}, aftercare.ECONFLICT,
			[]string{"ana@glowskin.example is already a user", "user link"}},
		{"ErrEmailOfOtherClinic", "", []string{"user", "add", "lee@glowskin.example", "--role", "frontdesk"}, aftercare.ECONFLICT,
			[]string{"another clinic", "one clinic only"}},
		{"ErrShortPassword", "short\n", []string{"user", "add", "bo@glowskin.example", "--role", "admin", "--password-stdin"},
			aftercare.EINVALID, []string{"at least 10 characters"}},
		{"ErrNoPassword", "", []string{"user", "add", "bo@glowskin.example", "--role", "admin", "--password-stdin"},
			aftercare.EINVALID, []string{"read nothing"}},
		{"ErrUnknownUser", "", []string{"user", "link", "nobody@glowskin.example"}, aftercare.ENOTFOUND, []string{"user list"}},
		{"ErrUserOfOtherClinic", "", []string{"user", "disable", "lee@glowskin.example"}, aftercare.ENOTFOUND, []string{"--clinic downtown"}},
		{"ErrSubcommand", "", []string{"user", "remove", "ana@glowskin.example"}, usageCode, []string{"add, list, link, disable or enable"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cli(t, db, tt.stdin, tt.args...)
			wantErr(t, strings.Join(tt.args, " "), err, tt.code, tt.words...)
		})
	}
	if exitCode(&aftercare.Error{Code: aftercare.EINVALID}) != 1 || exitCode(&aftercare.Error{Code: usageCode}) != 2 {
		t.Error("exit statuses: want 1 for a bad value, 2 for bad usage")
	}
	// Nothing was added by the failures.
	var users []userJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "user", "list", "--json")), &users); err != nil || len(users) != 1 {
		t.Errorf("users after failed adds: %+v (%v), want ana only", users, err)
	}
}

func TestTokenCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := accountsDB(t)

	var created newTokenJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "token", "create", "--role", "frontdesk", "--name", "EHR integration", "--json")), &created); err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.Name != "EHR integration" || created.Role != "frontdesk" || created.Clinic != "main" ||
		!strings.HasPrefix(created.Token, accounts.TokenPrefix) {
		t.Fatalf("token create --json: %+v", created)
	}
	st := openTestStore(t, db)
	tok, err := st.FindToken(ctx, accounts.HashSecret(created.Token))
	if err != nil || tok.ID != created.ID || tok.CreatedBy != "cli" {
		t.Fatalf("the printed token is not the stored one: %+v, %v", tok, err)
	}

	// Text: the secret once; a default name.
	out := mustCLI(t, db, "token", "create", "--role", "manager")
	secret := regexp.MustCompile(accounts.TokenPrefix + `[A-Za-z0-9_-]+`).FindString(out)
	if secret == "" || strings.Count(out, secret) != 1 || !strings.Contains(out, "token of 2026-11-22") {
		t.Fatalf("token create printed:\n%s", out)
	}

	out = mustCLI(t, db, "token", "list")
	if !strings.Contains(out, "EHR integration") || !strings.Contains(out, tok.Prefix) || strings.Contains(out, created.Token) || strings.Contains(out, secret) {
		t.Errorf("token list (names and prefixes, never secrets):\n%s", out)
	}

	var revoked tokenJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "token", "revoke", "1", "--json")), &revoked); err != nil {
		t.Fatal(err)
	}
	if revoked.ID != 1 || revoked.Status != "revoked" || revoked.RevokedAt != "2026-11-22T18:00:00Z" {
		t.Errorf("token revoke --json: %+v", revoked)
	}
	if tok, _ := st.FindToken(ctx, accounts.HashSecret(created.Token)); tok.RevokedAt.IsZero() {
		t.Error("the revoked token is not revoked in the store")
	}
	if out := mustCLI(t, db, "token", "revoke", "1"); !strings.Contains(out, "already revoked") {
		t.Errorf("token revoke again said %q", out)
	}
	var list []tokenJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "token", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Status != "active" || list[1].ID != 1 || list[1].Status != "revoked" {
		t.Errorf("token list --json (newest first): %+v", list)
	}

	// Another clinic's token is not this clinic's to revoke.
	mustCLI(t, db, "clinic", "add", "downtown", "--name", "Glow Downtown", "--tz", "America/New_York", "--phone", "+1 212 555 0100")
	var theirs newTokenJSON
	json.Unmarshal([]byte(mustCLI(t, db, "--clinic", "downtown", "token", "create", "--role", "admin", "--name", "theirs", "--json")), &theirs)

	for _, tt := range []struct {
		name  string
		args  []string
		code  string
		words []string
	}{
		{"ErrBadRole", []string{"token", "create", "--role", "root"}, aftercare.EINVALID, []string{`"root" is not a role`}},
		{"ErrNoRole", []string{"token", "create", "--name", "x"}, usageCode, []string{"--role"}},
		{"ErrBlankName", []string{"token", "create", "--role", "admin", "--name", " "}, aftercare.EINVALID, []string{"name"}},
		{"ErrBadID", []string{"token", "revoke", "abc"}, aftercare.EINVALID, []string{"token list"}},
		{"ErrUnknownID", []string{"token", "revoke", "99"}, aftercare.ENOTFOUND, []string{"99", "token list"}},
		{"ErrOtherClinic", []string{"token", "revoke", strconv.FormatInt(theirs.ID, 10)}, aftercare.ENOTFOUND, []string{"main"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := cli(t, db, "", tt.args...)
			wantErr(t, strings.Join(tt.args, " "), err, tt.code, tt.words...)
		})
	}
	if tok, _ := st.FindToken(ctx, accounts.HashSecret(theirs.Token)); tok == nil || !tok.RevokedAt.IsZero() {
		t.Error("another clinic's token was revoked")
	}
}

func TestAccountCommandsHaveExamples(t *testing.T) {
	t.Parallel()
	db := accountsDB(t)
	for _, c := range [][]string{{"user"}, {"user", "add"}, {"user", "list"}, {"user", "link"}, {"user", "disable"},
		{"user", "enable"}, {"token"}, {"token", "create"}, {"token", "list"}, {"token", "revoke"}, {"serve"}} {
		out := mustCLI(t, db, append(c, "--help")...)
		if !strings.Contains(out, "Examples:\n  aftercare") && !strings.Contains(out, "Examples:\n  AFTERCARE_") {
			t.Errorf("aftercare %s --help has no example:\n%s", strings.Join(c, " "), out)
		}
	}
}

func TestPublicURL(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ public, addr, want string }{
		{"", "127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"", ":8080", "http://localhost:8080"},
		{"", "0.0.0.0:8080", "http://localhost:8080"},
		{"", "[::]:9000", "http://localhost:9000"},
		{"https://care.example/", "127.0.0.1:8080", "https://care.example"},
	} {
		if got := publicURL(Config{PublicURL: tt.public}, tt.addr); got != tt.want {
			t.Errorf("publicURL(%q, %q) = %q, want %q", tt.public, tt.addr, got, tt.want)
		}
	}
}

// console is a stream serve writes to while the test reads it.
type console struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{} // closed and replaced on every write
}

func newConsole() *console { return &console{grew: make(chan struct{})} }

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Write(p)
	close(c.grew)
	c.grew = make(chan struct{})
	return len(p), nil
}

func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// waitFor returns the first match of re in what was written, waiting for
// writes until serve ends or a generous deadline passes.
func (c *console) waitFor(t *testing.T, re *regexp.Regexp, done <-chan error) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		m, grew := re.FindStringSubmatch(c.b.String()), c.grew
		c.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-grew:
		case err := <-done:
			t.Fatalf("serve ended (%v) before writing %s; it wrote:\n%s", err, re, c.String())
		case <-deadline:
			t.Fatalf("serve did not write %s; it wrote:\n%s", re, c.String())
		}
	}
}

// startServe runs `aftercare serve` in-process on a free loopback port
// until the test stops it.
func startServe(t *testing.T, db string) (stdout, stderr *console, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr = newConsole(), newConsole()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--db", db, "serve"}, envOf(db), Streams{In: strings.NewReader(""), Out: stdout, Err: stderr},
			func() time.Time { return fixedNow })
	}()
	stdout.waitFor(t, regexp.MustCompile(`serving on`), done)
	return stdout, stderr, func() {
		t.Helper()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("serve: %v\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	}
}

func TestServeFirstAdminLink(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	dir := t.TempDir()
	setEnv(db, map[string]string{
		"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_PUBLIC_URL": "", "AFTERCARE_OUTBOX": filepath.Join(dir, "outbox.jsonl"),
		"AFTERCARE_ADMIN_EMAIL": "Owner@GlowSkin.example", "AFTERCARE_DISPATCH_SPEC": "@every 1h", "AFTERCARE_RECONCILE_SPEC": "@every 1h",
		"TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", "SMTP_HOST": "",
	})

	stdout, stderr, stop := startServe(t, db)
	m := stdout.waitFor(t, regexp.MustCompile(`No users yet\. Open this link once to choose the admin password: (http://127\.0\.0\.1:\d+/link/\S+) \(sign in later as (\S+)\)`), nil)
	if m[2] != "owner@glowskin.example" {
		t.Errorf("sign in later as %q, want the lower-cased AFTERCARE_ADMIN_EMAIL", m[2])
	}
	// The link is served: it sets the password and signs in.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(m[1], url.Values{"password": {"a long admin password"}, "confirm": {"a long admin password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		t.Errorf("using the first admin link: %s, cookies %v; want a redirect that signs in", resp.Status, resp.Cookies())
	}
	stop()
	if strings.Count(stdout.String(), "/link/") != 1 || strings.Contains(stderr.String(), "/link/") {
		t.Errorf("the link must be on standard output once, and not in the log (standard error):\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}

	var users []userJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "user", "list", "--json")), &users); err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Email != "owner@glowskin.example" || users[0].Role != "admin" || users[0].Clinic != "main" || users[0].Status != "active" {
		t.Errorf("users after the first serve: %+v", users)
	}

	// With a user, serve makes no other admin and prints no link.
	stdout, _, stop = startServe(t, db)
	stop()
	if strings.Contains(stdout.String(), "No users yet") {
		t.Errorf("a second serve printed a first-admin link:\n%s", stdout.String())
	}
}

func TestServeBadAdminEmail(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	setEnv(db, map[string]string{
		"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_OUTBOX": filepath.Join(t.TempDir(), "outbox.jsonl"),
		"AFTERCARE_ADMIN_EMAIL": "not an email",
	})
	_, _, err := cli(t, db, "", "serve")
	wantErr(t, "serve with a bad AFTERCARE_ADMIN_EMAIL", err, aftercare.EINVALID, "AFTERCARE_ADMIN_EMAIL", "email address")
}

// TestUserLinkWarnsWithoutPublicURL: a sign-in link made without
// AFTERCARE_PUBLIC_URL points to this machine, and says so; with it set,
// no warning.
func TestUserLinkWarnsWithoutPublicURL(t *testing.T) {
	t.Parallel()
	db := accountsDB(t)
	_, stderr, err := cli(t, db, "", "user", "add", "ana@glowskin.example", "--role", "frontdesk", "--name", "Ana Ruiz")
	if err != nil || !strings.Contains(stderr, "AFTERCARE_PUBLIC_URL is not set") {
		t.Fatalf("without a public URL: %v, stderr %q", err, stderr)
	}
	setEnv(db, map[string]string{"AFTERCARE_PUBLIC_URL": "https://care.example.com"})
	out, stderr, err := cli(t, db, "", "user", "link", "ana@glowskin.example")
	if err != nil || strings.Contains(stderr, "AFTERCARE_PUBLIC_URL") || !strings.Contains(out, "https://care.example.com/link/") {
		t.Fatalf("with a public URL: %v, stdout %q, stderr %q", err, out, stderr)
	}
}
