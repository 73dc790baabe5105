package web_test

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/aftercare/aftercare/web"
)

// TestDummyHashCost: the hash an unknown email's password is checked
// against costs what a real one does, so sign-in time does not tell who
// has an account. (Checked by bcrypt.Cost, not by timing.)
func TestDummyHashCost(t *testing.T) {
	old := web.PasswordCost
	t.Cleanup(func() { web.PasswordCost = old })
	for _, cost := range []int{bcrypt.MinCost + 2, 12} {
		web.PasswordCost = cost
		got, err := bcrypt.Cost(web.DummyHash())
		if err != nil || got != cost {
			t.Fatalf("the dummy hash's cost is %d (%v), want PasswordCost %d", got, err, cost)
		}
	}
}
