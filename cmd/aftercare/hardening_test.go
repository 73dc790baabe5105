package main

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestUserDisableLastAdmin: the CLI cannot disable the clinic's only
// active admin; with a second admin it can.
func TestUserDisableLastAdmin(t *testing.T) {
	t.Parallel()
	db := accountsDB(t)
	mustCLI(t, db, "user", "add", "owner@glowskin.example", "--role", "admin")
	_, _, err := cli(t, db, "", "user", "disable", "owner@glowskin.example")
	wantErr(t, "user disable of the only admin", err, aftercare.ECONFLICT, "only active admin", "--role admin")
	st := openTestStore(t, db)
	if u, err := st.FindUserByEmail(context.Background(), "owner@glowskin.example"); err != nil || !u.Active() {
		t.Fatalf("the refused admin: %+v, %v; want still active", u, err)
	}
	mustCLI(t, db, "user", "add", "second@glowskin.example", "--role", "admin")
	mustCLI(t, db, "user", "disable", "owner@glowskin.example")
}

// TestUserAddRefusesInvisibleName: user add --name with a bidi override
// is refused naming the character, and nothing is stored.
func TestUserAddRefusesInvisibleName(t *testing.T) {
	t.Parallel()
	db := accountsDB(t)
	_, _, err := cli(t, db, "", "user", "add", "eve@glowskin.example", "--role", "admin", "--name", "Eve\u202eRuiz")
	wantErr(t, "user add with U+202E in the name", err, aftercare.EINVALID, "U+202E")
	if _, err := openTestStore(t, db).FindUserByEmail(context.Background(), "eve@glowskin.example"); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Fatalf("the refused user was stored: %v", err)
	}
}
