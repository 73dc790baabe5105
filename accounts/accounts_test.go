package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/sqlite"
)

// newService is the account rules over a real SQLite file with one clinic,
// at bcrypt's lowest cost and a fixed clock.
func newService(t *testing.T) (*accounts.Service, *aftercare.Clinic) {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC) }
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "accounts.db"), sqlite.WithNow(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := scheduler.NewService(db, now)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Slug: "main", Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	c, err := db.FindClinic(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	return &accounts.Service{Store: db, PasswordCost: bcrypt.MinCost, Now: now}, c
}

// TestDummyHashCost: the hash an unknown email's password is checked
// against costs what a real one does, so sign-in time does not tell who
// has an account. (Checked by bcrypt.Cost, not by timing.)
func TestDummyHashCost(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost + 2, 12} {
		s := &accounts.Service{PasswordCost: cost}
		got, err := bcrypt.Cost(accounts.DummyHash(s))
		if err != nil || got != cost {
			t.Fatalf("the dummy hash's cost is %d (%v), want PasswordCost %d", got, err, cost)
		}
	}
	// The production cost when none is set.
	if got, err := bcrypt.Cost(accounts.DummyHash(&accounts.Service{})); err != nil || got != accounts.DefaultPasswordCost {
		t.Fatalf("the dummy hash's default cost is %d (%v), want %d", got, err, accounts.DefaultPasswordCost)
	}
}

// TestAuthenticate: the right password signs in; a wrong one, an unknown
// email, and a disabled user get the same answer.
func TestAuthenticate(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	u := &aftercare.User{ClinicID: c.ID, Email: "ana@main.example", Name: "Ana", Role: aftercare.RoleAdmin}
	if err := s.AddUser(ctx, u, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if got, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil || got != bcrypt.MinCost {
		t.Fatalf("the password's cost is %d (%v), want PasswordCost %d", got, err, bcrypt.MinCost)
	}
	if got, err := s.Authenticate(ctx, u.Email, "correct horse battery"); err != nil || got.ID != u.ID {
		t.Fatalf("the right password: %v, %v", got, err)
	}
	for name, email := range map[string]string{"ErrWrongPassword": u.Email, "ErrUnknownEmail": "bo@main.example"} {
		if _, err := s.Authenticate(ctx, email, "wrong horse battery"); !errors.Is(err, accounts.ErrWrongPassword) {
			t.Errorf("%s: %v, want ErrWrongPassword", name, err)
		}
	}
	other := &aftercare.User{ClinicID: c.ID, Email: "lee@main.example", Name: "Lee", Role: aftercare.RoleAdmin}
	if err := s.AddUser(ctx, other, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, other.Email, ""); !errors.Is(err, accounts.ErrWrongPassword) {
		t.Errorf("no password chosen yet: %v, want ErrWrongPassword", err)
	}
	if _, err := s.Disable(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, u.Email, "correct horse battery"); !errors.Is(err, accounts.ErrWrongPassword) {
		t.Errorf("disabled: %v, want ErrWrongPassword", err)
	}
}

// TestLastAdmin: the clinic's only active admin can be neither demoted nor
// disabled, and the refused change leaves the user as it was.
func TestLastAdmin(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	admin := &aftercare.User{ClinicID: c.ID, Email: "ana@main.example", Name: "Ana", Role: aftercare.RoleAdmin}
	if err := s.AddUser(ctx, admin, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRole(ctx, admin, aftercare.RoleManager, admin.ID); !errors.Is(err, accounts.ErrLastAdmin) || admin.Role != aftercare.RoleAdmin {
		t.Fatalf("demoting the last admin: %v, role %s", err, admin.Role)
	}
	if _, err := s.Disable(ctx, admin); !errors.Is(err, accounts.ErrLastAdmin) || !admin.Active() {
		t.Fatalf("disabling the last admin: %v, active %v", err, admin.Active())
	}
	second := &aftercare.User{ClinicID: c.ID, Email: "lee@main.example", Name: "Lee", Role: aftercare.RoleAdmin}
	if err := s.AddUser(ctx, second, ""); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.SetRole(ctx, admin, aftercare.RoleManager, second.ID); err != nil || !changed || admin.Role != aftercare.RoleManager {
		t.Fatalf("demoting one of two admins: %v, %v, role %s", changed, err, admin.Role)
	}
	if _, err := s.Disable(ctx, second); !errors.Is(err, accounts.ErrLastAdmin) {
		t.Fatalf("disabling the admin left: %v", err)
	}
}

// TestSetPassword: a link sets the password once, after the password is
// checked; a newer link cancels the older; a disabled user's link is refused.
func TestSetPassword(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	u := &aftercare.User{ClinicID: c.ID, Email: "ana@main.example", Name: "Ana", Role: aftercare.RoleFrontDesk}
	if err := s.AddUser(ctx, u, ""); err != nil {
		t.Fatal(err)
	}
	older, _, err := s.CreateLink(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	path, expires, err := s.CreateLink(ctx, u)
	if err != nil || expires.Sub(s.Now()) != accounts.LinkLifetime {
		t.Fatalf("CreateLink: %v, expires %v", err, expires)
	}
	secret := path[len("/link/"):]
	if _, err := s.SetPassword(ctx, secret, "short", "short"); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("a short password: %v, want EINVALID", err)
	}
	if _, err := s.SetPassword(ctx, secret, "a long new password", "a long other password"); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("passwords that differ: %v, want EINVALID", err)
	}
	if _, err := s.SetPassword(ctx, older[len("/link/"):], "a long new password", "a long new password"); !errors.Is(err, accounts.ErrLinkUsed) {
		t.Fatalf("the older link: %v, want ErrLinkUsed", err)
	}
	if _, err := s.SetPassword(ctx, secret, "a long new password", "a long new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPassword(ctx, secret, "another password!", "another password!"); !errors.Is(err, accounts.ErrLinkUsed) {
		t.Fatalf("the second use: %v, want ErrLinkUsed", err)
	}
	if _, err := s.Authenticate(ctx, u.Email, "a long new password"); err != nil {
		t.Fatalf("the password set: %v", err)
	}
	if _, err := s.Disable(ctx, u); err != nil {
		t.Fatal(err)
	}
	path, _, err = s.CreateLink(ctx, u) // callers refuse to; the rule holds anyway
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPassword(ctx, path[len("/link/"):], "a long new password", "a long new password"); !errors.Is(err, accounts.ErrDisabled) {
		t.Fatalf("a disabled user's link: %v, want ErrDisabled", err)
	}
}

// TestRandInjected: secrets come from Rand, and a failing Rand is an error,
// not a predictable secret.
func TestRandInjected(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	s.Rand = bytes.NewReader(bytes.Repeat([]byte{7}, 32))
	secret, tok, err := s.CreateToken(ctx, c.ID, "EHR integration", aftercare.RoleFrontDesk, "test")
	if err != nil {
		t.Fatal(err)
	}
	if want := accounts.TokenPrefix + "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc"; secret != want || tok.Hash != accounts.HashSecret(want) {
		t.Fatalf("secret %q, want %q from Rand", secret, want)
	}
	if _, _, err := s.CreateToken(ctx, c.ID, "second", aftercare.RoleFrontDesk, "test"); aftercare.ErrorCode(err) != aftercare.EINTERNAL {
		t.Fatalf("an exhausted Rand: %v, want EINTERNAL", err)
	}
}

// TestFirstAdmin: a database without users gets one admin of the default
// clinic and a link; later calls do nothing; a bad email names the field.
func TestFirstAdmin(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	if _, _, _, err := s.FirstAdmin(ctx, "not an email"); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("a bad email: %v, want EINVALID", err)
	}
	u, clinic, path, err := s.FirstAdmin(ctx, "Owner@Glowskin.example")
	if err != nil || u == nil || clinic.ID != c.ID || u.Role != aftercare.RoleAdmin || u.Email != "owner@glowskin.example" || path == "" {
		t.Fatalf("FirstAdmin: %+v, %v, %q, %v", u, clinic, path, err)
	}
	if u, _, _, err := s.FirstAdmin(ctx, "other@glowskin.example"); err != nil || u != nil {
		t.Fatalf("a second FirstAdmin: %+v, %v; want nothing done", u, err)
	}
}
