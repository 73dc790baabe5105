package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// clinic set --summary-to/--summary-at: bad values say what to write and
// save nothing; good ones show in `clinic` and its --json; off stops it.
func TestClinicSetSummary(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrHour25", []string{"--summary-at", "25:00", "--summary-to", "manager@glow.example"}, `--summary-at: "25:00" is not a time of day: write HH:MM`},
		{"ErrBadEmail", []string{"--summary-to", "manager@glow"}, `--summary-to: "manager@glow" is not an email address`},
	} {
		_, _, err := cli(t, db, "", append([]string{"clinic", "set"}, tt.args...)...)
		if aftercare.ErrorCode(err) != aftercare.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	var c clinicJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil || c.SummaryTo != "" || c.SummaryAt != "07:00" {
		t.Fatalf("after refused changes: %+v %v", c, err)
	}
	out := mustCLI(t, db, "clinic", "set", "--summary-to", "Manager@Glow.example, owner@glow.example", "--summary-at", "07:30")
	if !strings.Contains(out, "07:30 (clinic's time) to manager@glow.example, owner@glow.example") {
		t.Errorf("clinic set shows:\n%s", out)
	}
	mustCLI(t, db, "clinic", "set", "--summary-at", "off")
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil || c.SummaryTo != "" {
		t.Fatalf("after off: %+v %v", c, err)
	}
}

// aftercare summary prints yesterday's summary (nothing sent or recorded);
// a day that has not ended, or is not a date, says so.
func TestSummaryCommand(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	out := mustCLI(t, db, "summary")
	for _, want := range []string{"Subject: Glow Skin Studio: aftercare summary for", "- 0 messages in all", "daily summary is off"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	var j summaryJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "summary", "--json", "--day", "2026-01-05")), &j); err != nil || j.Day != "2026-01-05" || len(j.Ledger) != 0 {
		t.Fatalf("--json: %+v %v", j, err)
	}
	for _, day := range []string{"2099-01-01", "5 Jan"} {
		if _, _, err := cli(t, db, "", "summary", "--day", day); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("--day %s: %v", day, err)
		}
	}
}
