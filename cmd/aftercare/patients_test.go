package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestPatientsFind: `patients` lists the clinic's patients and finds them
// by name, phone digits or email, in text and --json; a query that matches
// nobody says so; a bad --limit names the flag.
func TestPatientsFind(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	for _, p := range []struct{ name, phone, email string }{
		{"Ana Ruiz", "+1 415 555 0100", "ana@example.com"},
		{"Bo Chen", "+1 415 555 0111", "bo@example.com"},
	} {
		mustCLI(t, db, "enroll", "--name", p.name, "--phone", p.phone, "--email", p.email, "--protocol", "microneedling",
			"--treated-at", "2026-11-22T15:00", "--sms-consent")
	}
	if out := mustCLI(t, db, "patients"); !strings.Contains(out, "Ana Ruiz") || !strings.Contains(out, "Bo Chen") || !strings.Contains(out, "+1 415-555-0100") {
		t.Errorf("patients:\n%s", out)
	}
	for _, q := range []string{"ana", "555 0100", "ANA@EXAMPLE"} {
		var got []patientJSON
		if err := json.Unmarshal([]byte(mustCLI(t, db, "--json", "patients", q)), &got); err != nil || len(got) != 1 || got[0].Name != "Ana Ruiz" || !got[0].SMSOK || got[0].EmailOK {
			t.Errorf("patients %q: %+v %v", q, got, err)
		}
	}
	if out := mustCLI(t, db, "patients", "zed"); !strings.Contains(out, `No patient of`) {
		t.Errorf("no match:\n%s", out)
	}
	if _, _, err := cli(t, db, "", "patients", "--limit", "0"); err == nil || !strings.Contains(err.Error(), "--limit") {
		t.Errorf("--limit 0: %v", err)
	}
}
