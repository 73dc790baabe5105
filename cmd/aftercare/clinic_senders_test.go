package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// Senders are the operator's to assign, each to one clinic: giving a second
// clinic a sender another has is a conflict that names the clinic that has
// it, and saves nothing.
func TestClinicSetSenderConflict(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	mustCLI(t, db, "clinic", "add", "downtown", "--name", "Glow Downtown", "--tz", "America/New_York", "--phone", "+1 212 555 0100")
	mustCLI(t, db, "clinic", "set", "--sms-from", "+1 415 555 0177", "--email-from", "care@glow.example")
	for _, c := range []struct{ name, flag, value, field string }{
		{"SMS", "--sms-from", "(415) 555-0177", "sms_from"},
		{"Email", "--email-from", "Care@Glow.Example", "email_from"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := cli(t, db, "", "--clinic", "downtown", "clinic", "set", "--name", "Renamed", c.flag, c.value)
			msg := aftercare.ErrorMessage(err)
			if aftercare.ErrorCode(err) != aftercare.ECONFLICT || !strings.HasPrefix(msg, c.field+":") || !strings.Contains(msg, `clinic "main"`) {
				t.Fatalf("a sender of clinic main for downtown: %v; want a conflict naming main", err)
			}
			var got clinicJSON
			if err := json.Unmarshal([]byte(mustCLI(t, db, "--clinic", "downtown", "clinic", "--json")), &got); err != nil {
				t.Fatal(err)
			}
			if got.Name != "Glow Downtown" || got.SMSFrom != "" || got.EmailFrom != "" {
				t.Errorf("a refused change was saved: %+v", got)
			}
		})
	}
	// The clinic that has them may set them again.
	mustCLI(t, db, "clinic", "set", "--sms-from", "+1 415 555 0177")
}
