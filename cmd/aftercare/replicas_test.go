//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

// TestReplicas runs three `aftercare serve` processes on one PostgreSQL
// database with 20,000 due SMS against the Twilio fake, kills one with
// SIGKILL once about a third have gone out, and lets the other two finish:
// every message must reach the provider exactly once, or be reported
// unknown; no more are unknown than the killed replica had claimed when it
// died; none is lost. It needs AFTERCARE_TEST_POSTGRES_URL (it works in a
// schema of its own there) and is skipped with -short.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs three aftercare serves; skipped with -short")
	}
	const (
		patients = 5000
		steps    = 4 // SMS steps of replicaProtocol, all due at once
		total    = patients * steps
		killAt   = total / 3
		lease    = 2 * time.Second
		settle   = 5 * time.Minute
	)
	ctx := context.Background()
	db := pgDB(t) // skips without AFTERCARE_TEST_POSTGRES_URL
	w := &crashWorld{bin: buildAftercare(t), db: db, dir: t.TempDir(), fake: twiliotest.NewServer(t)}
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	// Seed through the command line: the protocol, then one import.
	w.seedProtocol(t, "replicas.yaml", replicaProtocol)
	now := time.Now()
	zone := middayZone(now)
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	treated := now.Add(-time.Minute).In(loc).Format("2006-01-02T15:04")
	var csv strings.Builder
	csv.WriteString("name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n")
	for i := range patients {
		fmt.Fprintf(&csv, "Pat%05d Test,+1415555%04d,,%s,en,replicas,%s,yes,no\n", i, i, zone, treated)
	}
	csvFile := filepath.Join(w.dir, "patients.csv")
	if err := os.WriteFile(csvFile, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	importStart := time.Now()
	w.cli(t, "import", csvFile)
	t.Logf("imported %d patients (%d messages) in %s", patients, total, time.Since(importStart).Round(time.Millisecond))
	if n := countWhere(t, conn, `status = 'pending'`); n != total {
		t.Fatalf("%d pending messages after the import, want %d", n, total)
	}

	serve := func(name string) *serveProcess {
		t.Helper()
		return w.start(t, name,
			"AFTERCARE_OUTBOX="+filepath.Join(w.dir, name+"-outbox.jsonl"),
			"AFTERCARE_INSTANCE="+name,
			"AFTERCARE_CLAIM_LEASE="+lease.String(),
			"AFTERCARE_SEND_CONCURRENCY=8",
		)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range w.runs {
				t.Logf("serve %s stderr (last 3000 bytes):\n%s", p.name, tail(p.stderr.String(), 3000))
			}
		}
	})
	sendStart := time.Now()
	replicas := []*serveProcess{serve("replica-a"), serve("replica-b"), serve("replica-c")}
	for _, p := range replicas {
		p.waitOutput(t, p.stdout, "aftercare: serving on", crashEventTimeout)
	}

	// Kill replica-b once a third has gone out, and count what it had
	// claimed then: its lease has not lapsed yet, so nobody took them over.
	victim := replicas[1]
	deadline := time.After(settle)
	// Kill it while it has sends claimed and not recorded: a third out,
	// and replica-b holding claims.
	for w.fake.Count() < killAt || countWhere(t, conn, `status = 'sending' AND claimed_by LIKE 'replica-b:%'`) == 0 {
		select {
		case <-time.After(crashPoll):
		case <-victim.done:
			t.Fatalf("replica-b exited before the kill: %v", victim.cmd.ProcessState)
		case <-deadline:
			t.Fatalf("only %d of %d messages sent after %s", w.fake.Count(), total, settle)
		}
	}
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.waitExit(t, crashEventTimeout)
	inFlight := countWhere(t, conn, `status = 'sending' AND claimed_by LIKE 'replica-b:%'`)
	byVictim := countWhere(t, conn, `claimed_by LIKE 'replica-b:%'`)
	t.Logf("killed replica-b after %d sends in all; it had claimed %d messages, %d of them still sending", w.fake.Count(), byVictim, inFlight)
	if byVictim == inFlight {
		t.Errorf("replica-b recorded no outcome before the kill (%d claimed, all sending): it was not sending alongside the others", byVictim)
	}

	// The other two finish, taking over replica-b's claims when its lease lapses.
	tick := time.NewTicker(crashPoll)
	defer tick.Stop()
	for busy := -1; busy != 0; {
		busy = countWhere(t, conn, `status IN ('pending', 'sending')`)
		if busy == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-replicas[0].done:
			t.Fatalf("replica-a exited with %d messages pending or sending: %v", busy, replicas[0].cmd.ProcessState)
		case <-replicas[2].done:
			t.Fatalf("replica-c exited with %d messages pending or sending: %v", busy, replicas[2].cmd.ProcessState)
		case <-deadline:
			t.Fatalf("%d messages still pending or sending after %s", busy, settle)
		}
	}
	t.Logf("every message settled %s after the replicas started (lease %s, including the takeover)", time.Since(sendStart).Round(time.Millisecond), lease)
	replicas[0].stop(t)
	replicas[2].stop(t)

	// What the provider got, by (number, step).
	type key struct{ to, step string }
	got := map[key][]string{}
	for _, fm := range w.fake.Messages() {
		step := ""
		for _, s := range []string{"rinse", "spf", "cool", "call"} {
			if strings.Contains(fm.Body, "step "+s+":") {
				step = s
			}
		}
		if step == "" {
			t.Errorf("the provider got a text of no step: %q", fm.Body)
		}
		k := key{fm.To, step}
		got[k] = append(got[k], fm.SID)
	}
	if v := w.fake.Violations(); len(v) > 0 {
		t.Errorf("requests that break Twilio's contract: %v", v[:min(len(v), 5)])
	}
	rows, err := conn.Query(ctx, `SELECT m.id, p.phone, m.step_key, m.status, m.provider_id, m.claimed_by
		FROM messages m JOIN patients p ON p.id = m.patient_id ORDER BY m.id`)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	sentBy := map[string]int{}
	seen := 0
	for rows.Next() {
		var id int64
		var phone, step, status, sid, owner string
		if err := rows.Scan(&id, &phone, &step, &status, &sid, &owner); err != nil {
			t.Fatal(err)
		}
		seen++
		states[status]++
		sids := got[key{phone, step}]
		switch status {
		case "sent":
			sentBy[strings.SplitN(owner, ":", 2)[0]]++
			if len(sids) != 1 || sids[0] != sid {
				t.Errorf("message %d is sent as %q; the provider got it %d times %v", id, sid, len(sids), sids)
			}
		case "unknown":
			if !strings.HasPrefix(owner, "replica-b:") {
				t.Errorf("message %d is unknown, but its claim was %s's, which was not killed", id, owner)
			}
			if len(sids) != 0 {
				t.Errorf("message %d is unknown, but the provider has it %v: the reconciler should have found it", id, sids)
			}
		default:
			t.Errorf("message %d ended %s, want sent or unknown", id, status)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != total {
		t.Errorf("%d messages in the database, want the %d imported: some are lost", seen, total)
	}
	if n := w.fake.Count(); n != states["sent"] {
		t.Errorf("the provider got %d texts, and %d messages are sent", n, states["sent"])
	}
	if states["unknown"] > inFlight {
		t.Errorf("%d messages unknown, more than the %d replica-b had in flight when killed", states["unknown"], inFlight)
	}
	t.Logf("final: %v; sent by replica: %v", states, sentBy)
}

// replicaProtocol has four SMS steps due at once; the step's name is in
// its text, so that a text at the provider names its message (with the
// number it went to).
const replicaProtocol = `slug: replicas
name: Replicas test
languages: [en]
steps:
  - key: rinse
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, step rinse: cool water tonight."
  - key: spf
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, step spf: SPF 50 for a week."
  - key: cool
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, step cool: no hot showers."
  - key: call
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, step call: call us if redness lasts."
`

// countWhere counts the messages matching cond.
func countWhere(t *testing.T, conn *pgx.Conn, cond string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM messages WHERE `+cond).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
