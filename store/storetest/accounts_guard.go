package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// guardGroups check the rules AccountStore keeps across its methods: newer
// links cancel older, a password change cancels links, a clinic keeps an
// admin, old sign-ins are purged.
var guardGroups = []testGroup{
	{"CreateLink", []testCase{
		{"CancelsOlder", testCreateLinkCancelsOlder},
	}},
	{"UpdateUserPassword", []testCase{
		{"CancelsLinks", testPasswordCancelsLinks},
	}},
	{"UpdateUserLastAdmin", []testCase{
		{"Refused", testLastAdminRefused},
		{"ConcurrentDemotions", testLastAdminConcurrent},
	}},
	{"PurgeSignIns", []testCase{
		{"ExpiredAndUsed", testPurgeSignIns},
	}},
}

func testCreateLinkCancelsOlder(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	v := createUser(t, s, c.ID, "bo@a.example", aftercare.RoleFrontDesk)
	old := createLink(t, s, u, "old", t0.Add(72*time.Hour))
	vs := createLink(t, s, v, "bo's", t0.Add(72*time.Hour))
	newer := createLink(t, s, u, "newer", t0.Add(72*time.Hour))
	at := t0.Add(time.Hour)
	_, err := s.UseLink(ctx, old.Hash, at)
	wantCode(t, "UseLink of a link a newer one replaced", err, aftercare.ENOTFOUND)
	if _, err := s.UseLink(ctx, newer.Hash, at); err != nil {
		t.Fatalf("UseLink of the newest link: %v", err)
	}
	if _, err := s.UseLink(ctx, vs.Hash, at); err != nil {
		t.Fatalf("another user's link was cancelled too: %v", err)
	}
}

func testPasswordCancelsLinks(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	l := createLink(t, s, u, "invite", t0.Add(72*time.Hour))
	u.Name = "Ana R." // not the password: the link stays
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	l2 := createLink(t, s, u, "again", t0.Add(72*time.Hour)) // replaces l
	u.PasswordHash = "$2a$04$a-new-password-hash"
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*aftercare.SignInLink{l, l2} {
		_, err := s.UseLink(ctx, x.Hash, t0.Add(time.Minute))
		wantCode(t, "UseLink after the password was set", err, aftercare.ENOTFOUND)
	}
}

func testLastAdminRefused(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	ana := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	createUser(t, s, b.ID, "bob@b.example", aftercare.RoleAdmin) // another clinic's admin does not count
	demoted := *ana
	demoted.Role = aftercare.RoleManager
	wantCode(t, "demoting the only admin", s.UpdateUser(ctx, &demoted), aftercare.ECONFLICT)
	disabled := *ana
	disabled.DisabledAt = t0
	wantCode(t, "disabling the only admin", s.UpdateUser(ctx, &disabled), aftercare.ECONFLICT)
	same(t, "the refused admin", findUser(t, s, c.ID, ana.ID), ana)

	// A disabled admin is no admin; an active one is.
	cy := createUser(t, s, c.ID, "cy@a.example", aftercare.RoleAdmin)
	cy.DisabledAt = t0
	if err := s.UpdateUser(ctx, cy); err != nil {
		t.Fatalf("disabling one of two admins: %v", err)
	}
	wantCode(t, "demoting the only active admin", s.UpdateUser(ctx, &demoted), aftercare.ECONFLICT)
	cy.DisabledAt = time.Time{}
	if err := s.UpdateUser(ctx, cy); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateUser(ctx, &demoted); err != nil {
		t.Fatalf("demoting one of two active admins: %v", err)
	}
	// A clinic with no admin at all may still change its other users.
	d := createClinic(t, s, "d", false)
	fd := createUser(t, s, d.ID, "fd@d.example", aftercare.RoleFrontDesk)
	fd.Role = aftercare.RoleManager
	if err := s.UpdateUser(ctx, fd); err != nil {
		t.Fatalf("changing a user of a clinic without admins: %v", err)
	}
}

// testLastAdminConcurrent: two admins demote each other at the same time,
// again and again; every time exactly one succeeds and one admin remains.
func testLastAdminConcurrent(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	x := createUser(t, s, c.ID, "x@a.example", aftercare.RoleAdmin)
	y := createUser(t, s, c.ID, "y@a.example", aftercare.RoleAdmin)
	for round := range 30 {
		for _, u := range []*aftercare.User{x, y} {
			u.Role = aftercare.RoleAdmin
			if err := s.UpdateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, u := range []*aftercare.User{x, y} {
			demote := *u
			demote.Role = aftercare.RoleFrontDesk
			if i == 1 {
				demote.Role, demote.DisabledAt = aftercare.RoleAdmin, t0 // the other way to lose an admin
			}
			wg.Go(func() { <-start; errs[i] = s.UpdateUser(ctx, &demote) })
		}
		close(start)
		wg.Wait()
		users, err := s.ListUsers(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		admins := 0
		for _, u := range users {
			if u.Role == aftercare.RoleAdmin && u.Active() {
				admins++
			}
		}
		if admins != 1 {
			t.Fatalf("round %d: %d active admins after two concurrent demotions (errors %v, %v), want 1", round, admins, errs[0], errs[1])
		}
		if (errs[0] == nil) == (errs[1] == nil) || aftercare.ErrorCode(errs[0])+aftercare.ErrorCode(errs[1]) != aftercare.ECONFLICT {
			t.Fatalf("round %d: errors %v and %v, want one ECONFLICT", round, errs[0], errs[1])
		}
		y.DisabledAt = time.Time{}
	}
}

// testPurgeSignIns: expired, too old, used and cancelled go; the rest stays.
func testPurgeSignIns(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	u := createUser(t, s, c.ID, "ana@a.example", aftercare.RoleAdmin)
	v := createUser(t, s, c.ID, "bo@a.example", aftercare.RoleFrontDesk)
	now := t0.Add(30 * 24 * time.Hour)
	mk := func(name string, created, expires time.Time) *aftercare.Session {
		x := session(u, name)
		x.CreatedAt, x.SeenAt, x.ExpiresAt = created, created, expires
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	idle := mk("idle", now.Add(-24*time.Hour), now.Add(-time.Hour))
	old := mk("old", now.Add(-8*24*time.Hour), now.Add(time.Hour))
	live := mk("live", now.Add(-time.Hour), now.Add(11*time.Hour))

	used := createLink(t, s, u, "used", now.Add(time.Hour))
	if _, err := s.UseLink(ctx, used.Hash, t0); err != nil {
		t.Fatal(err)
	}
	expired := createLink(t, s, v, "expired", now.Add(-time.Minute))
	cancelled := createLink(t, s, u, "cancelled", now.Add(time.Hour))
	open := createLink(t, s, u, "open", now.Add(time.Hour)) // cancels the one before

	n, err := s.PurgeSignIns(ctx, now, now.Add(-7*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("PurgeSignIns removed %d rows, want 5 (2 sessions, 3 links)", n)
	}
	for _, x := range []*aftercare.Session{idle, old} {
		_, err := s.FindSession(ctx, x.Hash)
		wantCode(t, "FindSession of a purged session", err, aftercare.ENOTFOUND)
	}
	if _, err := s.FindSession(ctx, live.Hash); err != nil {
		t.Fatalf("a live session was purged: %v", err)
	}
	for _, l := range []*aftercare.SignInLink{used, expired, cancelled} {
		_, err := s.UseLink(ctx, l.Hash, now.Add(-2*time.Hour))
		wantCode(t, "UseLink of a purged link", err, aftercare.ENOTFOUND)
	}
	if _, err := s.UseLink(ctx, open.Hash, now); err != nil {
		t.Fatalf("an open link was purged: %v", err)
	}
}
