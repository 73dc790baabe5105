package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// TestNewerLinkCancelsOlder: through the server, a link made before a
// newer one no longer works, and once a password is set through the newer
// one nothing else works either.
func TestNewerLinkCancelsOlder(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	u, older := app.Invite()
	app.Advance(time.Minute)
	newer, _, err := app.Accounts.CreateLink(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"password": {"a long new password"}, "confirm": {"a long new password"}}
	resp := newJarBrowser(t, app).PostForm(older, form)
	if body := readBody(t, resp); resp.StatusCode != http.StatusGone || !strings.Contains(body, "expired") {
		t.Fatalf("the older link after a newer one was made: %d, want 410", resp.StatusCode)
	}
	resp = newJarBrowser(t, app).PostForm(newer, form)
	if resp.Body.Close(); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the newer link: %d, want 303", resp.StatusCode)
	}
}

// TestAdminsDemotingEachOther: two admins demote each other at the same
// moment through the app, round after round; the clinic always keeps one
// active admin, and the loser is told why.
func TestAdminsDemotingEachOther(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	x := &aftercare.User{ClinicID: app.Main.ID, Email: "x@main.example", Name: "Xavi", Role: aftercare.RoleAdmin}
	y := &aftercare.User{ClinicID: app.Main.ID, Email: "y@main.example", Name: "Yara", Role: aftercare.RoleAdmin}
	pw := "correct horse battery"
	hash, _ := app.Accounts.HashPassword(pw)
	for _, u := range []*aftercare.User{x, y} {
		u.PasswordHash = hash
		if err := app.DB.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 8 {
		for _, u := range []*aftercare.User{x, y} {
			u.Role = aftercare.RoleAdmin
			if err := app.DB.UpdateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		app.Advance(time.Minute) // the sign-in limits refill
		bx, by := app.SignInAs(x.Email, pw), app.SignInAs(y.Email, pw)
		var wg sync.WaitGroup
		codes := make([]int, 2)
		bodies := make([]string, 2)
		start := make(chan struct{})
		for i, pair := range []struct {
			b      *Browser
			target *aftercare.User
		}{{bx, y}, {by, x}} {
			wg.Go(func() {
				<-start
				resp := pair.b.PostForm(fmt.Sprintf("/users/%d", pair.target.ID), url.Values{"action": {"role"}, "role": {"manager"}})
				codes[i] = resp.StatusCode
				bodies[i] = readBody(t, resp)
			})
		}
		close(start)
		wg.Wait()
		users, err := app.DB.ListUsers(ctx, app.Main.ID)
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
			t.Fatalf("round %d: %d admins left (answers %v), want 1", round, admins, codes)
		}
		for i, c := range codes {
			if c == http.StatusConflict && !strings.Contains(bodies[i], "only admin") {
				t.Fatalf("round %d: a 409 that does not say why:\n%s", round, bodies[i])
			}
		}
	}
}

// TestPurgeSignIns: the purge serve runs hourly removes a session past its
// idle expiry that nobody came back to, and a used link; a live session
// keeps working.
func TestPurgeSignIns(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	app.SignIn(app.Main, aftercare.RoleManager) // then left alone
	app.Advance(13 * time.Hour)                 // past the idle expiry
	live := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	_, path := app.Invite()
	form := url.Values{"password": {"a long new password"}, "confirm": {"a long new password"}}
	if resp := newJarBrowser(t, app).PostForm(path, form); resp.Body.Close() != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("using the link: %d", resp.StatusCode)
	}
	n, err := app.Accounts.PurgeSignIns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("PurgeSignIns removed %d rows, want 2 (the idle session, the used link)", n)
	}
	if resp := live.Get("/"); resp.Body.Close() != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the live session after the purge: %d, want 200", resp.StatusCode)
	}
	if n, _ := app.Accounts.PurgeSignIns(ctx); n != 0 {
		t.Fatalf("a second purge removed %d rows, want 0", n)
	}
}
