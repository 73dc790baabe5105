package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestLogAndStatsDays: `log` and `stats` read --since and --until as whole
// days in the clinic's zone, both included, and `stats` counts every
// message on its local day, those planned far ahead too.
func TestLogAndStatsDays(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	// Treated at 15:00 in Los Angeles today (fixedNow is 10:00 there): the
	// evening's texts are the next day in UTC.
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--protocol", "microneedling",
		"--treated-at", "2026-11-22T15:00", "--sms-consent")
	la, _ := time.LoadLocation("America/Los_Angeles")
	var all []logJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "log", "--patient", "1", "--json")), &all); err != nil {
		t.Fatal(err)
	}
	byDay := map[string]map[string]int{}
	var today []int64
	for _, m := range all {
		at, err := time.Parse(time.RFC3339, m.SendAt)
		if err != nil {
			t.Fatal(err)
		}
		d := at.In(la).Format(time.DateOnly)
		if byDay[d] == nil {
			byDay[d] = map[string]int{}
		}
		byDay[d][m.Status]++
		if d == "2026-11-22" {
			today = append(today, m.MessageID)
		}
	}
	if len(today) == 0 || len(byDay["2026-11-23"]) == 0 {
		t.Fatalf("the plan has no messages today or tomorrow: %v", byDay)
	}

	var one []logJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "log", "--since", "2026-11-22", "--until", "2026-11-22", "--json")), &one); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, m := range one {
		got = append(got, m.MessageID)
	}
	if !slices.Equal(got, today) {
		t.Errorf("log for one day: %v, want %v", got, today)
	}

	var rows []struct {
		Day    string `json:"day"`
		Status string `json:"status"`
		Count  int    `json:"count"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, "stats", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	counted := map[string]map[string]int{}
	for _, r := range rows {
		if counted[r.Day] == nil {
			counted[r.Day] = map[string]int{}
		}
		counted[r.Day][r.Status] = r.Count
	}
	if asJSON(counted) != asJSON(byDay) {
		t.Errorf("stats:\n%v\nwant the plan's days in the clinic's zone:\n%v", counted, byDay)
	}
	if out := mustCLI(t, db, "stats", "--since", "2026-11-23", "--until", "2026-11-23"); !strings.Contains(out, "DAY (America/Los_Angeles)") || strings.Count(out, "\n") != 2 {
		t.Errorf("stats for tomorrow:\n%s", out)
	}

	for _, args := range [][]string{
		{"log", "--since", "2026-11-23", "--until", "2026-11-22"},
		{"stats", "--since", "2026-11-23", "--until", "2026-11-22"},
	} {
		_, _, err := cli(t, db, "", args...)
		if err == nil || !strings.Contains(err.Error(), "is before since") || !strings.Contains(err.Error(), "the same day twice") {
			t.Errorf("%v: %v, want an error saying what to fix", args, err)
		}
	}
}

// asJSON is v as JSON, which sorts map keys: for comparing nested maps.
func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
