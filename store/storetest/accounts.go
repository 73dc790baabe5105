package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// accountGroups check aftercare.AccountStore.
var accountGroups = []testGroup{
	{"CreateUser", []testCase{
		{"OK", testCreateUserOK},
		{"ErrConflictEmail", testCreateUserErrConflict},
		{"ErrInvalid", testCreateUserErrInvalid},
		{"ErrNotFoundClinic", testCreateUserErrNotFound},
	}},
	{"FindUser", []testCase{
		{"ErrNotFound", testFindUserErrNotFound},
	}},
	{"ListUsers", []testCase{
		{"OrderedByEmail", testListUsersOrdered},
	}},
	{"UpdateUser", []testCase{
		{"OK", testUpdateUserOK},
		{"ErrNotFound", testUpdateUserErrNotFound},
		{"ErrInvalid", testUpdateUserErrInvalid},
	}},
	{"CountUsers", []testCase{
		{"AllClinics", testCountUsers},
	}},
	{"Session", []testCase{
		{"Lifecycle", testSessionLifecycle},
		{"ErrNotFound", testSessionErrNotFound},
		{"ErrConflict", testSessionErrConflict},
	}},
	{"DeleteUserSessions", []testCase{
		{"OnlyThatUser", testDeleteUserSessions},
		{"ErrNotFound", testDeleteUserSessionsErrNotFound},
	}},
	{"Token", []testCase{
		{"Lifecycle", testTokenLifecycle},
		{"ListNewestFirst", testListTokens},
		{"ErrConflict", testTokenErrConflict},
		{"ErrInvalid", testTokenErrInvalid},
		{"ErrNotFound", testTokenErrNotFound},
	}},
	{"UseLink", []testCase{
		{"OnceOnly", testUseLinkOnce},
		{"Expired", testUseLinkExpired},
		{"Race", testUseLinkRace},
		{"ErrNotFound", testUseLinkErrNotFound},
	}},
	{"TenantAccounts", []testCase{
		{"Isolated", testTenantAccountsIsolated},
	}},
}

// createUser stores a user of the clinic with a password hash.
func createUser(t *testing.T, s aftercare.Store, clinicID int64, email string, role aftercare.Role) *aftercare.User {
	t.Helper()
	u := &aftercare.User{ClinicID: clinicID, Email: email, Name: "Staff " + email, Role: role, PasswordHash: "$2a$04$hash-of-" + email}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

func findUser(t *testing.T, s aftercare.Store, clinicID, id int64) *aftercare.User {
	t.Helper()
	u, err := s.FindUser(context.Background(), clinicID, id)
	if err != nil {
		t.Fatalf("FindUser(%d, %d): %v", clinicID, id, err)
	}
	return u
}

// hash is a stand-in for the hex SHA-256 of a secret.
func hash(name string) string { return fmt.Sprintf("%064x", name) }

func session(u *aftercare.User, name string) *aftercare.Session {
	return &aftercare.Session{Hash: hash(name), UserID: u.ID, ClinicID: u.ClinicID, CSRF: "csrf-" + name,
		CreatedAt: t0, SeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
}

func createSession(t *testing.T, s aftercare.Store, u *aftercare.User, name string) *aftercare.Session {
	t.Helper()
	x := session(u, name)
	if err := s.CreateSession(context.Background(), x); err != nil {
		t.Fatalf("CreateSession(%s): %v", name, err)
	}
	return x
}

func createToken(t *testing.T, s aftercare.Store, clinicID int64, name string, role aftercare.Role) *aftercare.Token {
	t.Helper()
	tok := &aftercare.Token{ClinicID: clinicID, Name: name, Role: role, Hash: hash("token " + name), Prefix: "act_abcdef", CreatedBy: "cli"}
	if err := s.CreateToken(context.Background(), tok); err != nil {
		t.Fatalf("CreateToken(%s): %v", name, err)
	}
	return tok
}

func createLink(t *testing.T, s aftercare.Store, u *aftercare.User, name string, expires time.Time) *aftercare.SignInLink {
	t.Helper()
	l := &aftercare.SignInLink{Hash: hash("link " + name), UserID: u.ID, ClinicID: u.ClinicID, CreatedAt: t0, ExpiresAt: expires}
	if err := s.CreateLink(context.Background(), l); err != nil {
		t.Fatalf("CreateLink(%s): %v", name, err)
	}
	return l
}

// Clinics by id.

// Users.

func testCreateUserOK(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := &aftercare.User{ClinicID: c.ID, Email: "  Ana.Ruiz@Clinic.Example ", Name: "Ana Ruiz", Role: aftercare.RoleManager}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 || u.Email != "ana.ruiz@clinic.example" {
		t.Fatalf("CreateUser set ID %d and email %q; want an ID and the email trimmed and lower-cased", u.ID, u.Email)
	}
	wantUTC(t, "CreatedAt, UpdatedAt", u.CreatedAt, u.UpdatedAt)
	if !u.Active() || u.PasswordHash != "" {
		t.Fatalf("a new user without a password: active %v, hash %q", u.Active(), u.PasswordHash)
	}
	same(t, "FindUser", findUser(t, s, c.ID, u.ID), u)
	got, err := s.FindUserByEmail(ctx, "ANA.RUIZ@clinic.example")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindUserByEmail in another case", got, u)
}

func testCreateUserErrConflict(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	createUser(t, s, a.ID, "ana@clinic.example", aftercare.RoleAdmin)
	for _, tc := range []struct {
		name   string
		clinic int64
		email  string
	}{
		{"SameClinic", a.ID, "ana@clinic.example"},
		{"OtherCase", a.ID, "Ana@Clinic.Example"},
		{"OtherClinic", b.ID, "ana@clinic.example"},
	} {
		u := &aftercare.User{ClinicID: tc.clinic, Email: tc.email, Role: aftercare.RoleFrontDesk}
		wantCode(t, tc.name, s.CreateUser(ctx, u), aftercare.ECONFLICT)
	}
	users, err := s.ListUsers(ctx, b.ID)
	if err != nil || len(users) != 0 {
		t.Fatalf("clinic b has %d users (%v) after a refused CreateUser", len(users), err)
	}
}

func testCreateUserErrInvalid(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	for name, u := range map[string]*aftercare.User{
		"NoEmail":   {ClinicID: c.ID, Email: "  ", Role: aftercare.RoleAdmin},
		"BadRole":   {ClinicID: c.ID, Email: "x@clinic.example", Role: "owner"},
		"NoRole":    {ClinicID: c.ID, Email: "y@clinic.example"},
		"NoClinic":  {Email: "z@clinic.example", Role: aftercare.RoleAdmin},
		"OtherRole": {ClinicID: c.ID, Email: "w@clinic.example", Role: "Admin"},
	} {
		wantCode(t, name, s.CreateUser(context.Background(), u), aftercare.EINVALID)
	}
}

func testCreateUserErrNotFound(t *testing.T, s aftercare.Store) {
	u := &aftercare.User{ClinicID: 4242, Email: "ana@clinic.example", Role: aftercare.RoleAdmin}
	wantCode(t, "CreateUser in clinic 4242", s.CreateUser(context.Background(), u), aftercare.ENOTFOUND)
}

func testFindUserErrNotFound(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	_, err := s.FindUser(context.Background(), c.ID, 4242)
	wantCode(t, "FindUser(4242)", err, aftercare.ENOTFOUND)
	_, err = s.FindUserByEmail(context.Background(), "nobody@clinic.example")
	wantCode(t, "FindUserByEmail(nobody)", err, aftercare.ENOTFOUND)
}

func testListUsersOrdered(t *testing.T, s aftercare.Store) {
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	zed := createUser(t, s, a.ID, "zed@a.example", aftercare.RoleFrontDesk)
	createUser(t, s, b.ID, "bob@b.example", aftercare.RoleAdmin)
	ana := createUser(t, s, a.ID, "ana@a.example", aftercare.RoleAdmin)
	got, err := s.ListUsers(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "clinic a's users", got, []*aftercare.User{ana, zed})
	c := createClinic(t, s, "c", false)
	got, err = s.ListUsers(context.Background(), c.ID)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListUsers of a clinic without users: %v, %v; want an empty list", got, err)
	}
}

func testUpdateUserOK(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleFrontDesk)
	created := u.CreatedAt
	u.Name, u.Role, u.PasswordHash = "Ana R.", aftercare.RoleAdmin, "$2a$04$new"
	u.DisabledAt = t0.Add(time.Hour).In(elsewhere)
	u.Email = "changed@a.example" // not saved: the email is the sign-in name
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.Email != "ana@a.example" || !u.CreatedAt.Equal(created) || u.UpdatedAt.Before(created) {
		t.Fatalf("after UpdateUser: email %q, created %v, updated %v; want the stored email and creation time, and the update after it", u.Email, u.CreatedAt, u.UpdatedAt)
	}
	wantUTC(t, "DisabledAt, UpdatedAt", u.DisabledAt, u.UpdatedAt)
	if u.Active() {
		t.Fatal("a disabled user is active")
	}
	same(t, "FindUser after UpdateUser", findUser(t, s, c.ID, u.ID), u)

	u.DisabledAt = time.Time{}
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got := findUser(t, s, c.ID, u.ID); !got.Active() {
		t.Fatal("a user enabled again is not active")
	}
}

func testUpdateUserErrNotFound(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	u := &aftercare.User{ID: 4242, ClinicID: c.ID, Email: "x@a.example", Role: aftercare.RoleAdmin}
	wantCode(t, "UpdateUser(4242)", s.UpdateUser(context.Background(), u), aftercare.ENOTFOUND)
}

func testUpdateUserErrInvalid(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleFrontDesk)
	before := *u
	u.Role = "superuser"
	wantCode(t, "UpdateUser with role superuser", s.UpdateUser(context.Background(), u), aftercare.EINVALID)
	same(t, "the user after a refused update", findUser(t, s, c.ID, u.ID), &before)
}

func testCountUsers(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers of a new store: %d, %v", n, err)
	}
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	createUser(t, s, a.ID, "ana@a.example", aftercare.RoleAdmin)
	u := createUser(t, s, b.ID, "bob@b.example", aftercare.RoleFrontDesk)
	u.DisabledAt = t0
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Fatalf("CountUsers: %d, %v; want 2 (every clinic, disabled users too)", n, err)
	}
}

// Sessions.

func testSessionLifecycle(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	x := session(u, "one")
	x.CreatedAt, x.SeenAt, x.ExpiresAt = x.CreatedAt.In(elsewhere), x.SeenAt.In(elsewhere), x.ExpiresAt.In(elsewhere)
	if err := s.CreateSession(ctx, x); err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "session times", x.CreatedAt, x.SeenAt, x.ExpiresAt)
	got, err := s.FindSession(ctx, x.Hash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindSession", got, x)

	seen, expires := t0.Add(time.Hour), t0.Add(13*time.Hour)
	if err := s.TouchSession(ctx, x.Hash, seen.In(elsewhere), expires.In(elsewhere)); err != nil {
		t.Fatal(err)
	}
	got, err = s.FindSession(ctx, x.Hash)
	if err != nil {
		t.Fatal(err)
	}
	x.SeenAt, x.ExpiresAt = seen, expires
	same(t, "FindSession after TouchSession", got, x)

	// Expiry is the caller's to check: an expired session is still found.
	if err := s.TouchSession(ctx, x.Hash, seen, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindSession(ctx, x.Hash); err != nil {
		t.Fatalf("FindSession of an expired session: %v", err)
	}

	if err := s.DeleteSession(ctx, x.Hash); err != nil {
		t.Fatal(err)
	}
	_, err = s.FindSession(ctx, x.Hash)
	wantCode(t, "FindSession after DeleteSession", err, aftercare.ENOTFOUND)
	if err := s.DeleteSession(ctx, x.Hash); err != nil {
		t.Fatalf("deleting a deleted session: %v, want nil", err)
	}
}

func testSessionErrNotFound(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	_, err := s.FindSession(ctx, hash("nope"))
	wantCode(t, "FindSession(nope)", err, aftercare.ENOTFOUND)
	wantCode(t, "TouchSession(nope)", s.TouchSession(ctx, hash("nope"), t0, t0.Add(time.Hour)), aftercare.ENOTFOUND)
	// A session for a user of another clinic, or for no user, is refused.
	ub := createUser(t, s, b.ID, "bob@b.example", aftercare.RoleAdmin)
	x := session(ub, "cross")
	x.ClinicID = a.ID
	wantCode(t, "CreateSession of clinic a for b's user", s.CreateSession(ctx, x), aftercare.ENOTFOUND)
	x = session(&aftercare.User{ID: 4242, ClinicID: a.ID}, "nobody")
	wantCode(t, "CreateSession for user 4242", s.CreateSession(ctx, x), aftercare.ENOTFOUND)
}

func testSessionErrConflict(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	createSession(t, s, u, "one")
	wantCode(t, "CreateSession with a hash in use", s.CreateSession(context.Background(), session(u, "one")), aftercare.ECONFLICT)
}

func testDeleteUserSessions(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	ana := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	bob := createUser(t, s, c.ID, "bob@a.example", aftercare.RoleAdmin)
	s1, s2 := createSession(t, s, ana, "ana laptop"), createSession(t, s, ana, "ana phone")
	kept := createSession(t, s, bob, "bob laptop")
	if err := s.DeleteUserSessions(ctx, c.ID, ana.ID); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*aftercare.Session{s1, s2} {
		_, err := s.FindSession(ctx, x.Hash)
		wantCode(t, "FindSession("+x.CSRF+") after DeleteUserSessions", err, aftercare.ENOTFOUND)
	}
	got, err := s.FindSession(ctx, kept.Hash)
	if err != nil {
		t.Fatalf("another user's session after DeleteUserSessions: %v", err)
	}
	same(t, "another user's session", got, kept)
	if err := s.DeleteUserSessions(ctx, c.ID, ana.ID); err != nil {
		t.Fatalf("DeleteUserSessions of a user without sessions: %v", err)
	}
}

func testDeleteUserSessionsErrNotFound(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	wantCode(t, "DeleteUserSessions(4242)", s.DeleteUserSessions(context.Background(), c.ID, 4242), aftercare.ENOTFOUND)
}

// Tokens.

func testTokenLifecycle(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	tok := &aftercare.Token{ClinicID: c.ID, Name: " EHR integration ", Role: aftercare.RoleManager, Hash: hash("secret"),
		Prefix: "act_abcdef", CreatedBy: "admin@a.example"}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || tok.Name != "EHR integration" {
		t.Fatalf("CreateToken: ID %d, name %q; want an ID and the name trimmed", tok.ID, tok.Name)
	}
	wantUTC(t, "CreatedAt", tok.CreatedAt)
	find := func(what string) *aftercare.Token {
		t.Helper()
		got, err := s.FindToken(ctx, tok.Hash)
		if err != nil {
			t.Fatalf("FindToken %s: %v", what, err)
		}
		return got
	}
	same(t, "FindToken", find("after CreateToken"), tok)

	// Uses are recorded, never backwards (requests finish out of order).
	used := t0.Add(time.Hour)
	if err := s.TouchToken(ctx, tok.ID, used.In(elsewhere)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchToken(ctx, tok.ID, used.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	tok.LastUsedAt = used
	same(t, "FindToken after TouchToken", find("after TouchToken"), tok)

	revoked := t0.Add(2 * time.Hour)
	if err := s.RevokeToken(ctx, c.ID, tok.ID, revoked.In(elsewhere)); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(ctx, c.ID, tok.ID, revoked.Add(time.Hour)); err != nil {
		t.Fatalf("revoking a revoked token: %v, want nil", err)
	}
	tok.RevokedAt = revoked
	got := find("after RevokeToken")
	wantUTC(t, "RevokedAt", got.RevokedAt)
	same(t, "FindToken of a revoked token (first revocation kept)", got, tok)
}

func testListTokens(t *testing.T, s aftercare.Store) {
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	first := createToken(t, s, a.ID, "first", aftercare.RoleFrontDesk)
	createToken(t, s, b.ID, "b's", aftercare.RoleAdmin)
	second := createToken(t, s, a.ID, "second", aftercare.RoleAdmin)
	if err := s.RevokeToken(context.Background(), a.ID, first.ID, t0); err != nil {
		t.Fatal(err)
	}
	first.RevokedAt = t0
	got, err := s.ListTokens(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "clinic a's tokens", got, []*aftercare.Token{second, first})
}

func testTokenErrConflict(t *testing.T, s aftercare.Store) {
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	tok := createToken(t, s, a.ID, "one", aftercare.RoleAdmin)
	dup := &aftercare.Token{ClinicID: b.ID, Name: "two", Role: aftercare.RoleAdmin, Hash: tok.Hash}
	wantCode(t, "CreateToken with a hash in use", s.CreateToken(context.Background(), dup), aftercare.ECONFLICT)
}

func testTokenErrInvalid(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	for name, tok := range map[string]*aftercare.Token{
		"NoName":   {ClinicID: c.ID, Name: " ", Role: aftercare.RoleAdmin, Hash: hash("1")},
		"BadRole":  {ClinicID: c.ID, Name: "x", Role: "root", Hash: hash("2")},
		"NoHash":   {ClinicID: c.ID, Name: "x", Role: aftercare.RoleAdmin},
		"NoClinic": {Name: "x", Role: aftercare.RoleAdmin, Hash: hash("3")},
	} {
		wantCode(t, name, s.CreateToken(context.Background(), tok), aftercare.EINVALID)
	}
}

func testTokenErrNotFound(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	_, err := s.FindToken(ctx, hash("nope"))
	wantCode(t, "FindToken(nope)", err, aftercare.ENOTFOUND)
	wantCode(t, "RevokeToken(4242)", s.RevokeToken(ctx, c.ID, 4242, t0), aftercare.ENOTFOUND)
	tok := &aftercare.Token{ClinicID: 4242, Name: "x", Role: aftercare.RoleAdmin, Hash: hash("x")}
	wantCode(t, "CreateToken in clinic 4242", s.CreateToken(ctx, tok), aftercare.ENOTFOUND)
}

// Sign-in links.

func testUseLinkOnce(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	l := createLink(t, s, u, "invite", t0.Add(72*time.Hour).In(elsewhere))
	wantUTC(t, "link times", l.CreatedAt, l.ExpiresAt)
	at := t0.Add(time.Hour)
	got, err := s.UseLink(ctx, l.Hash, at.In(elsewhere))
	if err != nil {
		t.Fatal(err)
	}
	l.UsedAt = at
	wantUTC(t, "UsedAt", got.UsedAt)
	same(t, "UseLink", got, l)
	_, err = s.UseLink(ctx, l.Hash, at.Add(time.Minute))
	wantCode(t, "UseLink a second time", err, aftercare.ENOTFOUND)

	// Another link of the same user still works.
	other := createLink(t, s, u, "again", t0.Add(72*time.Hour))
	if _, err := s.UseLink(ctx, other.Hash, at); err != nil {
		t.Fatalf("UseLink of the user's other link: %v", err)
	}
}

func testUseLinkExpired(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	expires := t0.Add(72 * time.Hour)
	l := createLink(t, s, u, "invite", expires)
	_, err := s.UseLink(ctx, l.Hash, expires)
	wantCode(t, "UseLink at its expiry", err, aftercare.ENOTFOUND)
	_, err = s.UseLink(ctx, l.Hash, expires.Add(time.Hour))
	wantCode(t, "UseLink after its expiry", err, aftercare.ENOTFOUND)
	// Refusing an expired link did not use it up.
	if _, err := s.UseLink(ctx, l.Hash, expires.Add(-time.Second)); err != nil {
		t.Fatalf("UseLink a second before its expiry: %v", err)
	}
}

// testUseLinkRace uses one link from many goroutines at once: exactly one
// may succeed.
func testUseLinkRace(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	l := createLink(t, s, u, "invite", t0.Add(72*time.Hour))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.UseLink(context.Background(), l.Hash, t0.Add(time.Hour)) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch aftercare.ErrorCode(err) {
		case "":
			ok++
		case aftercare.ENOTFOUND:
		default:
			t.Fatalf("UseLink: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent uses of one link succeeded, want 1", ok, n)
	}
}

func testUseLinkErrNotFound(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	_, err := s.UseLink(ctx, hash("nope"), t0)
	wantCode(t, "UseLink(nope)", err, aftercare.ENOTFOUND)
	ub := createUser(t, s, b.ID, "bob@b.example", aftercare.RoleAdmin)
	l := &aftercare.SignInLink{Hash: hash("cross"), UserID: ub.ID, ClinicID: a.ID, ExpiresAt: t0.Add(time.Hour)}
	wantCode(t, "CreateLink of clinic a for b's user", s.CreateLink(ctx, l), aftercare.ENOTFOUND)
	_, err = s.UseLink(ctx, l.Hash, t0)
	wantCode(t, "UseLink of a refused link", err, aftercare.ENOTFOUND)
}

// testTenantAccountsIsolated: clinic A's id for a row of clinic B is
// ENOTFOUND, and changes nothing of B's.
func testTenantAccountsIsolated(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	ub := createUser(t, s, b.ID, "bob@b.example", aftercare.RoleAdmin)
	sb := createSession(t, s, ub, "bob")
	tb := createToken(t, s, b.ID, "b's", aftercare.RoleAdmin)

	_, err := s.FindUser(ctx, a.ID, ub.ID)
	wantCode(t, "A finds B's user", err, aftercare.ENOTFOUND)
	spoiled := *ub
	spoiled.ClinicID, spoiled.Role, spoiled.PasswordHash = a.ID, aftercare.RoleFrontDesk, "$2a$04$mine"
	wantCode(t, "A updates B's user", s.UpdateUser(ctx, &spoiled), aftercare.ENOTFOUND)
	wantCode(t, "A signs B's user out", s.DeleteUserSessions(ctx, a.ID, ub.ID), aftercare.ENOTFOUND)
	wantCode(t, "A revokes B's token", s.RevokeToken(ctx, a.ID, tb.ID, t0), aftercare.ENOTFOUND)
	if us, err := s.ListUsers(ctx, a.ID); err != nil || len(us) != 0 {
		t.Fatalf("A lists %d users (%v), want none of B's", len(us), err)
	}
	if ts, err := s.ListTokens(ctx, a.ID); err != nil || len(ts) != 0 {
		t.Fatalf("A lists %d tokens (%v), want none of B's", len(ts), err)
	}

	// B is untouched.
	same(t, "B's user", findUser(t, s, b.ID, ub.ID), ub)
	got, err := s.FindSession(ctx, sb.Hash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "B's session", got, sb)
	gotT, err := s.FindToken(ctx, tb.Hash)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "B's token", gotT, tb)
}
