package main

import (
	"strings"
	"testing"
)

// TestClinicAddNeedsPhone: a clinic is not added without the phone its
// texts tell patients to call; the error names --phone and nothing is
// stored.
func TestClinicAddNeedsPhone(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	for _, phone := range [][]string{nil, {"--phone", " "}} {
		args := append([]string{"clinic", "add", "downtown", "--name", "Downtown Derm", "--tz", "America/New_York"}, phone...)
		_, _, err := cli(t, db, "", args...)
		if exitCode(err) != 2 || !strings.Contains(err.Error(), "--phone") {
			t.Errorf("clinic add %v: exit %d, %v; want exit 2 naming --phone", phone, exitCode(err), err)
		}
	}
	if out := mustCLI(t, db, "clinic", "list"); strings.Contains(out, "downtown") {
		t.Errorf("a refused clinic was stored:\n%s", out)
	}
}

// TestEnvClinicDriftWarns: once the clinic exists, AFTERCARE_CLINIC_* that
// name other settings get one warning on stderr, from any command, giving
// the `clinic set` command that applies them; settings that match (the
// phone however it is written) get none, and neither does `clinic set`.
func TestEnvClinicDriftWarns(t *testing.T) {
	t.Parallel()
	db := madeDB(t) // the clinic is made from the environment
	const warning = "warning: the environment names other settings"
	setEnv(db, map[string]string{"AFTERCARE_CLINIC_PHONE": "(415) 555-0199"})
	if _, stderr, err := cli(t, db, "", "protocols"); err != nil || strings.Contains(stderr, warning) {
		t.Errorf("settings as stored: %v, stderr %q", err, stderr)
	}

	setEnv(db, map[string]string{"AFTERCARE_CLINIC_NAME": "Glow Skin & Spa", "AFTERCARE_CLINIC_TZ": "America/Denver"})
	for _, args := range [][]string{{"protocols"}, {"--json", "clinic"}, {"log"}} {
		_, stderr, err := cli(t, db, "", args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if n := strings.Count(stderr, warning); n != 1 {
			t.Errorf("%v: %d warnings, want 1:\n%s", args, n, stderr)
		}
		for _, want := range []string{"AFTERCARE_CLINIC_NAME=Glow Skin & Spa (stored: Glow Skin Studio)",
			"aftercare clinic set --name 'Glow Skin & Spa' --tz America/Denver"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, want, stderr)
			}
		}
		if strings.Contains(stderr, "AFTERCARE_CLINIC_PHONE") {
			t.Errorf("%v: the phone matches but is named:\n%s", args, stderr)
		}
	}
	if _, stderr, err := cli(t, db, "", "clinic", "set", "--name", "Glow Skin & Spa", "--tz", "America/Denver"); err != nil || strings.Contains(stderr, warning) {
		t.Errorf("clinic set: %v, stderr %q", err, stderr)
	}
	if _, stderr, err := cli(t, db, "", "protocols"); err != nil || strings.Contains(stderr, warning) {
		t.Errorf("after clinic set: %v, stderr %q", err, stderr)
	}
}
