package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// A send window that moves messages is refused until --yes, and nothing is
// saved meanwhile.
func TestClinicSetChecksWindow(t *testing.T) {
	t.Parallel()
	db := madeDB(t)

	out, _, err := cli(t, db, "", "clinic", "set", "--window", "10:00-11:00", "--name", "Glow Two")
	if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(aftercare.ErrorMessage(err), "--yes") {
		t.Fatalf("without --yes: %v", err)
	}
	for _, want := range []string{"microneedling, treatment ending 18:00: step welcome (sms), due day 0 18:00:", "Wed Nov 25", "America/Los_Angeles"} {
		if !strings.Contains(out, want) {
			t.Errorf("the warnings do not say %q:\n%s", want, out)
		}
	}
	var c clinicJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil {
		t.Fatal(err)
	}
	if c.Window != "08:00-21:00" || c.Name != "Glow Skin Studio" {
		t.Fatalf("saved without --yes: %+v", c)
	}

	// --json lists them too, and still saves nothing.
	out, _, err = cli(t, db, "", "--json", "clinic", "set", "--window", "10:00-11:00")
	var u clinicUpdateJSON
	if err == nil || json.Unmarshal([]byte(out), &u) != nil || u.Saved || len(u.Warnings) == 0 {
		t.Fatalf("--json without --yes: %v, saved %v, %d warnings\n%s", err, u.Saved, len(u.Warnings), out)
	}
	w := u.Warnings[0]
	if w.Protocol == "" || w.Step == "" || w.Channel == "" || w.Due == "" || (w.Outcome != "moved" && w.Outcome != "dropped") || w.Text == "" {
		t.Errorf("a warning lacks something: %+v", w)
	}

	out = mustCLI(t, db, "clinic", "set", "--window", "10:00-11:00", "--yes")
	if !strings.Contains(out, "welcome (sms)") || !strings.Contains(out, "Saved anyway") || !strings.Contains(out, "10:00-11:00") {
		t.Errorf("with --yes:\n%s", out)
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil || c.Window != "10:00-11:00" {
		t.Fatalf("not saved with --yes: %+v %v", c, err)
	}

	// Changes that are not the window or cap are not checked, though the
	// window saved above still moves messages.
	out = mustCLI(t, db, "clinic", "set", "--name", "Glow Three")
	if strings.Contains(out, "move or drop") || !strings.Contains(out, "Glow Three") {
		t.Errorf("a rename was checked:\n%s", out)
	}
	// Widening the window back saves. (It is checked too: messages the
	// narrow window dropped come back and may meet the cap.)
	out = mustCLI(t, db, "--json", "clinic", "set", "--window", "08:00-21:00", "--yes")
	if err := json.Unmarshal([]byte(out), &u); err != nil || !u.Saved {
		t.Fatalf("widening: %v %+v", err, u)
	}
	if _, _, err := cli(t, db, "", "clinic", "set", "--yes"); aftercare.ErrorCode(err) != usageCode {
		t.Errorf("--yes alone: %v", err)
	}
}

func TestClinicSetShowTreatment(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	out := mustCLI(t, db, "clinic")
	if !strings.Contains(out, `show treatment  no (messages say "your treatment"`) {
		t.Errorf("a new clinic:\n%s", out)
	}
	mustCLI(t, db, "clinic", "set", "--show-treatment", "yes")
	var c clinicJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil || !c.ShowTreatment {
		t.Fatalf("after --show-treatment yes: %+v %v", c, err)
	}
	if out := mustCLI(t, db, "clinic"); !strings.Contains(out, "show treatment  yes") {
		t.Errorf("after --show-treatment yes:\n%s", out)
	}
	_, _, err := cli(t, db, "", "clinic", "set", "--show-treatment", "maybe")
	if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), "--show-treatment: ") {
		t.Errorf("--show-treatment maybe: %v", err)
	}
	mustCLI(t, db, "clinic", "set", "--show-treatment", "no")
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil || c.ShowTreatment {
		t.Fatalf("after --show-treatment no: %+v %v", c, err)
	}
}
