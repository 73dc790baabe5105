package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// cliAt is cli with the clock at now.
func cliAt(t *testing.T, db string, now time.Time, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"--db", db}, args...), envOf(db), Streams{In: strings.NewReader(""), Out: &out, Err: &errb},
		func() time.Time { return now })
	if err != nil {
		t.Fatalf("aftercare %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// TestConsentAndAudit: an enrollment from the command line records the
// consent it gives (source cli, no staff user) and an audit entry; a
// patient change records a withdrawn event; `audit` filters by the
// clinic's days, both included.
func TestConsentAndAudit(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--email", "ana@example.com",
		"--tz", "America/Los_Angeles", "--protocol", "microneedling", "--treated-at", "2026-11-22T09:00", "--sms-consent", "--email-consent")
	var hist struct {
		SMS    bool               `json:"sms"`
		Events []consentEventJSON `json:"events"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, "patient", "consent", "1", "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist.Events) != 2 || !hist.SMS || hist.Events[0].Source != "cli" || hist.Events[0].Action != "given" || hist.Events[0].UserID != 0 {
		t.Fatalf("consent history after enroll: %+v", hist)
	}
	if out := mustCLI(t, db, "patient", "consent", "1"); !strings.Contains(out, "2026-11-22 10:00  sms      given    cli") {
		t.Errorf("consent history:\n%s", out)
	}
	if _, _, err := cli(t, db, "", "patient", "consent", "99"); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("patient consent 99: %v, want ENOTFOUND", err)
	}

	mustCLI(t, db, "cancel", "1")
	var entries []auditJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "audit", "--json", "--since", "2026-11-22", "--until", "2026-11-22")), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != "cancel" || entries[0].Subject != "enrollment 1" || entries[1].Action != "enroll" ||
		entries[1].Actor != "cli" || !strings.Contains(entries[1].Detail, "consent: sms, email") {
		t.Fatalf("audit: %+v", entries)
	}
	// 18:00 UTC is 10:00 on the 22nd in Los Angeles: not on the 23rd, nor
	// before the 22nd.
	for _, r := range [][]string{{"--since", "2026-11-23"}, {"--until", "2026-11-21"}} {
		if out := mustCLI(t, db, append([]string{"audit", "--json"}, r...)...); strings.TrimSpace(out) != "[]" {
			t.Errorf("audit %v: %s", r, out)
		}
	}
	for _, tc := range []struct{ args []string }{
		{[]string{"audit", "--since", "22/11/2026"}},
		{[]string{"audit", "--since", "2026-11-23", "--until", "2026-11-22"}},
	} {
		_, _, err := cli(t, db, "", tc.args...)
		if aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("%v: %v, want EINVALID", tc.args, err)
		}
	}
}

// TestClinicSetRecords: the four settings of two-way messaging and records
// are set, shown and refused when wrong, naming the field.
func TestClinicSetRecords(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	out := mustCLI(t, db, "clinic")
	for _, want := range []string{"alert email             (none", "retention               keep message texts", "patient links           no"} {
		if !strings.Contains(out, want) {
			t.Errorf("a new clinic does not say %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		flag, value, field string
	}{
		{"--retention-days", "5", "--retention-days"},
		{"--retention-days", "ninety", "--retention-days"},
		{"--alert-email", "not an address", "--alert-email"},
		{"--twilio-opt-out-replies", "maybe", "--twilio-opt-out-replies"},
		{"--patient-links", "sometimes", "--patient-links"},
	} {
		_, _, err := cli(t, db, "", "clinic", "set", tc.flag, tc.value)
		var ae *aftercare.Error
		if aftercare.ErrorCode(err) != aftercare.EINVALID || !errors.As(err, &ae) || ae.Field != tc.field {
			t.Errorf("%s %q: %v, want EINVALID naming %s", tc.flag, tc.value, err, tc.field)
		}
	}
	mustCLI(t, db, "clinic", "set", "--retention-days", "90", "--alert-email", "Nurse@Glow.example",
		"--twilio-opt-out-replies", "yes", "--patient-links", "yes")
	var c clinicJSON
	if err := json.Unmarshal([]byte(mustCLI(t, db, "clinic", "--json")), &c); err != nil {
		t.Fatal(err)
	}
	if c.RetentionDays != 90 || c.AlertEmail != "nurse@glow.example" || !c.TwilioOptOutReplies || !c.PatientLinks {
		t.Errorf("after clinic set: %+v", c)
	}
	var entries []auditJSON
	json.Unmarshal([]byte(mustCLI(t, db, "audit", "--json")), &entries)
	if len(entries) != 1 || entries[0].Action != "clinic.update" ||
		entries[0].Detail != "changed alert_email, twilio_opt_out_replies, retention_days (90), patient_links" {
		t.Errorf("audit after clinic set: %+v", entries)
	}
}

// TestPurge: a dry run counts and changes nothing; a purge replaces the
// texts of messages settled before the retention with the marker, keeps
// every message, state and count, and logs itself; a clinic keeping its
// texts purges nothing.
func TestPurge(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	if out := mustCLI(t, db, "purge"); !strings.Contains(out, "keeps message texts (retention 0): nothing purged") {
		t.Errorf("purge with retention 0: %s", out)
	}
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--tz", "America/Los_Angeles",
		"--protocol", "microneedling", "--treated-at", "2026-11-22T09:00", "--sms-consent")
	mustCLI(t, db, "enroll", "--name", "Bea Diaz", "--phone", "+1 415 555 0101", "--tz", "America/Los_Angeles",
		"--protocol", "microneedling", "--treated-at", "2026-11-22T09:00", "--sms-consent")
	mustCLI(t, db, "cancel", "1") // settled now: cancelled
	mustCLI(t, db, "clinic", "set", "--retention-days", "30")
	show := func(now time.Time, id string) enrollmentJSON {
		var e enrollmentJSON
		if err := json.Unmarshal([]byte(cliAt(t, db, now, "show", id, "--json")), &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	before1, before2 := show(fixedNow, "1"), show(fixedNow, "2")

	// 29 days on: nothing is old enough.
	soon := fixedNow.AddDate(0, 0, 29)
	var rep struct {
		Messages int  `json:"messages"`
		DryRun   bool `json:"dry_run"`
	}
	json.Unmarshal([]byte(cliAt(t, db, soon, "purge", "--dry-run", "--json")), &rep)
	if rep.Messages != 0 {
		t.Errorf("29 days on, a dry run would purge %d", rep.Messages)
	}
	later := fixedNow.AddDate(0, 0, 120) // past the protocol's last message by more than 30 days
	json.Unmarshal([]byte(cliAt(t, db, later, "purge", "--dry-run", "--json")), &rep)
	settled := 0
	for _, m := range append(before1.Messages, before2.Messages...) {
		if m.Status != "pending" {
			settled++
		}
	}
	if rep.Messages != settled || settled <= len(before1.Messages)/2 || !rep.DryRun {
		t.Fatalf("dry run: %+v, want the %d settled messages", rep, settled)
	}
	if got := show(later, "1"); got.Messages[0].Body != before1.Messages[0].Body {
		t.Fatalf("a dry run purged: %q", got.Messages[0].Body)
	}
	if out := cliAt(t, db, later, "purge"); !strings.Contains(out, "Purged the texts of") {
		t.Errorf("purge: %s", out)
	}
	after1, after2 := show(later, "1"), show(later, "2")
	if len(after1.Messages) != len(before1.Messages) {
		t.Fatalf("%d messages after the purge, %d before", len(after1.Messages), len(before1.Messages))
	}
	for i, m := range after1.Messages {
		if m.Body != "[purged after 30 days]" || m.Status != before1.Messages[i].Status || m.SendAt != before1.Messages[i].SendAt {
			t.Errorf("message %d after the purge: %+v", i, m)
		}
	}
	// Enrollment 2's pending messages are owed: kept, however old.
	for i, m := range after2.Messages {
		if m.Status == "pending" && m.Body != before2.Messages[i].Body {
			t.Errorf("a pending message lost its text: %q", m.Body)
		}
	}
	var entries []auditJSON
	json.Unmarshal([]byte(cliAt(t, db, later, "audit", "--json", "--limit", "1")), &entries)
	if len(entries) != 1 || entries[0].Action != "purge" || entries[0].Actor != "cli" {
		t.Errorf("audit after the purge: %+v", entries)
	}
}
