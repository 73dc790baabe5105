package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestShowShort: `show` names the patient (id, contact, consent) and keeps
// to a screen, a recurring step on one line; --all prints every message
// with its text. After a reschedule no note says "when the patient was
// enrolled".
func TestShowShort(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--email", "ana@example.com", "--protocol", "microneedling",
		"--treated-at", "2026-11-21T10:00", "--sms-consent")
	if out := mustCLI(t, db, "show", "1", "--all"); !strings.Contains(out, "when the patient was enrolled") {
		t.Fatalf("the test needs messages skipped at enrollment:\n%s", out)
	}
	mustCLI(t, db, "reschedule", "1", "--treated-at", "2026-11-20T10:00")

	short := mustCLI(t, db, "show", "1")
	for _, want := range []string{"patient 1: Ana Ruiz · +1 415-555-0100 · ana@example.com", "consent: texts given 2026-11-22 (cli); emails not given",
		"when the enrollment was rescheduled", "show 1 --all"} {
		if !strings.Contains(short, want) {
			t.Errorf("show lacks %q:\n%s", want, short)
		}
	}
	if !regexp.MustCompile(`sunscreen, \d+ messages\s+sms\s+\d+ pending`).MatchString(short) {
		t.Errorf("the recurring step is not one line:\n%s", short)
	}
	all := mustCLI(t, db, "show", "1", "--all")
	if n, m := strings.Count(short, "\n"), strings.Count(all, "\n"); n > 30 || m <= 2*n {
		t.Errorf("show is %d lines and show --all %d: want it short and --all every message", n, m)
	}
	if !strings.Contains(all, "sunscreen #2") || !strings.Contains(all, "+1 415-555-0199") {
		t.Errorf("show --all lacks the occurrences or the texts:\n%s", all)
	}
	for name, out := range map[string]string{"show": short, "show --all": all} {
		if strings.Contains(out, "when the patient was enrolled") {
			t.Errorf("%s after a reschedule still says \"when the patient was enrolled\":\n%s", name, out)
		}
	}
}
