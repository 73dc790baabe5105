package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// TestEnrollNothingSent: `aftercare enroll` refuses an enrollment that
// would send nothing, saying why and exiting 1 (with --json too, as every
// error), and writes nothing; enrolling again what is stored is fine
// however much of it is left to send.
func TestEnrollNothingSent(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	ana := []string{"enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--email", "ana@example.com",
		"--tz", "America/Los_Angeles", "--lang", "es", "--protocol", "microneedling"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"NoConsent", []string{"--treated-at", "2026-11-22T15:00"}, "consent: the patient agreed to no messages"},
		{"NoConsentJSON", []string{"--treated-at", "2026-11-22T15:00", "--json"}, "consent: the patient agreed to no messages"},
		{"AllInPast", []string{"--treated-at", "2026-09-01T10:00", "--sms-consent", "--email-consent"},
			"--treated-at: every message of Microneedling aftercare was due before now (the treatment was on Tue 1 Sep 2026 at 10:00 PDT)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := cli(t, db, "", append(ana, tc.args...)...)
			if exitCode(err) != 1 || !strings.Contains(aftercare.ErrorMessage(err), tc.want) {
				t.Errorf("got exit %d, %q; want exit 1 saying %q", exitCode(err), aftercare.ErrorMessage(err), tc.want)
			}
			if out != "" {
				t.Errorf("a refused enrollment printed:\n%s", out)
			}
		})
	}
	// Enrollment 1 is the first stored: the refused ones stored nothing.
	ok := append(ana, "--treated-at", "2026-11-22T15:00", "--sms-consent")
	if out := mustCLI(t, db, ok...); !strings.Contains(out, "created enrollment 1") {
		t.Fatalf("enroll: %s", out)
	}
	// Two months on, none of it is pending: the same command finds it.
	var stdout, stderr bytes.Buffer
	later := fixedNow.AddDate(0, 2, 0)
	err := run(context.Background(), append([]string{"--db", db}, ok...), envOf(db), Streams{In: strings.NewReader(""), Out: &stdout, Err: &stderr},
		func() time.Time { return later })
	if err != nil || !strings.Contains(stdout.String(), "already enrolled: existing enrollment 1") {
		t.Errorf("enrolling again later: %v\n%s", err, stdout.String())
	}
}

// TestImportNothingSent: a row that would send nothing is reported with
// its line, field and reason; the other rows are enrolled.
func TestImportNothingSent(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	file := patientsCSV(t,
		"Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-22T15:00,yes,yes",
		"Bo Chen,+1 415 555 0101,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,no,no")
	out, _, err := cli(t, db, "", "import", file)
	if exitCode(err) != 1 || !strings.Contains(out, "line 3: sms_consent: the patient agreed to no messages") || !strings.Contains(out, "1 enrolled") {
		t.Errorf("import: exit %d, %v\n%s", exitCode(err), err, out)
	}
}

// TestEnrollZoneDefaultsToClinic: without --tz, enroll and preview read the
// treatment time in the clinic's zone and plan in it; --tz still wins.
func TestEnrollZoneDefaultsToClinic(t *testing.T) {
	t.Parallel()
	db := newDB(t) // the clinic is in America/Los_Angeles
	out := mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--protocol", "microneedling",
		"--treated-at", "2026-11-22T15:00", "--sms-consent")
	if !strings.Contains(out, "treated Sun 2026-11-22 15:00 PST (America/Los_Angeles)") {
		t.Errorf("enroll without --tz:\n%s", out)
	}
	if out := mustCLI(t, db, "preview", "--protocol", "microneedling", "--treated-at", "2026-11-22T15:00"); !strings.Contains(out, "for America/Los_Angeles") {
		t.Errorf("preview without --tz:\n%s", out)
	}
	if out := mustCLI(t, db, "preview", "--protocol", "microneedling", "--treated-at", "2026-11-22T15:00", "--tz", "Europe/Madrid"); !strings.Contains(out, "for Europe/Madrid") {
		t.Errorf("preview --tz Europe/Madrid:\n%s", out)
	}
}

// TestEnrollZoneKeepsReturningPatients: without --tz, a patient the clinic
// already has keeps their zone (the treatment time is read in it), as the
// API and the web form do; a new patient gets the clinic's.
func TestEnrollZoneKeepsReturningPatients(t *testing.T) {
	t.Parallel()
	db := newDB(t) // the clinic is in America/Los_Angeles
	who := []string{"enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--sms-consent", "--protocol", "microneedling"}
	mustCLI(t, db, append(who, "--treated-at", "2026-11-22T15:00", "--tz", "America/Denver")...)
	out := mustCLI(t, db, append(who, "--treated-at", "2026-12-20T15:00")...)
	if !strings.Contains(out, "treated Sun 2026-12-20 15:00 MST (America/Denver)") {
		t.Errorf("a returning patient enrolled without --tz:\n%s", out)
	}
	out = mustCLI(t, db, "enroll", "--name", "Ben Ode", "--phone", "+1 415 555 0101", "--sms-consent", "--protocol", "microneedling",
		"--treated-at", "2026-12-20T15:00")
	if !strings.Contains(out, "(America/Los_Angeles)") {
		t.Errorf("a new patient enrolled without --tz:\n%s", out)
	}
}
