package main

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/web"
)

// TestLogAndStatsDays: `log` and `stats` read --since and --until as whole
// days in the clinic's zone, both included, and `stats` counts every
// message on its local day, those planned far ahead too.
func TestLogAndStatsDays(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	// Treated at 20:30 in Los Angeles today (fixedNow is 10:00 there): the
	// evening's texts are the next day in UTC.
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--protocol", "microneedling",
		"--treated-at", "2026-11-22T20:30", "--sms-consent")
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

	// The table and the CSV name the patient, give the patient's time with
	// its zone, and the note.
	table := mustCLI(t, db, "log", "--patient", "1")
	note := ""
	for _, m := range all {
		note = cmp.Or(note, m.Note)
	}
	if note == "" {
		t.Fatal("no message has a note: the note column is not checked")
	}
	for _, want := range []string{"PATIENT", "DUE (America/Los_Angeles)", "PATIENT'S TIME", "NOTE", "Ana Ruiz", " PST ", note} {
		if !strings.Contains(table, want) {
			t.Errorf("the log's table lacks %q:\n%s", want, table)
		}
	}
	recs, err := csv.NewReader(strings.NewReader(mustCLI(t, db, "log", "--patient", "1", "--csv"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], web.MessageCSVHeader) || len(recs) != len(all)+1 {
		t.Fatalf("log --csv: header %v and %d rows, want %v and %d", recs[0], len(recs)-1, web.MessageCSVHeader, len(all))
	}
	for i, r := range recs[1:] {
		at, _ := time.Parse(time.RFC3339, all[i].SendAt)
		if r[3] != "Ana Ruiz" || r[9] != at.In(la).Format(time.RFC3339) || r[10] != "America/Los_Angeles" || r[17] != all[i].Note {
			t.Errorf("log --csv row %d: %v", i, r)
		}
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

// TestEnrollUnusualDateWarns: a treatment more than a week ago is enrolled
// with a warning on stderr that says what will happen; a usual one has none.
func TestEnrollUnusualDateWarns(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	args := []string{"enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--protocol", "microneedling", "--sms-consent", "--treated-at"}
	out, stderr, err := cli(t, db, "", append(args, "2026-11-12T15:00")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "warning: the treatment ended Thu 12 Nov 2026, 10 days ago") || !strings.Contains(stderr, "will be skipped") || strings.Contains(out, "warning:") {
		t.Errorf("stderr %q, stdout %q: want the date warning on stderr only", stderr, out)
	}
	if _, stderr, err = cli(t, db, "", append(args, "2026-11-22T09:00")...); err != nil || strings.Contains(stderr, "warning:") {
		t.Errorf("a treatment this morning: %v, stderr %q", err, stderr)
	}
}
