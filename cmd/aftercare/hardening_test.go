package main

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestUserDisableLastAdmin: the CLI cannot disable the clinic's only
// active admin; with a second admin it can.
func TestUserDisableLastAdmin(t *testing.T) {
	db := accountsDB(t)
	mustCLI(t, db, "user", "add", "owner@glowskin.example", "--role", "admin")
	_, _, err := cli(t, db, "", "user", "disable", "owner@glowskin.example")
	wantErr(t, "user disable of the only admin", err, aftercare.ECONFLICT, "only active admin", "--role admin")
	st := openStore(t, db)
	if u, err := st.FindUserByEmail(context.Background(), "owner@glowskin.example"); err != nil || !u.Active() {
		t.Fatalf("the refused admin: %+v, %v; want still active", u, err)
	}
	mustCLI(t, db, "user", "add", "second@glowskin.example", "--role", "admin")
	mustCLI(t, db, "user", "disable", "owner@glowskin.example")
}
