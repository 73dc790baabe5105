//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

// The crash test runs the real binary against a fake Twilio on loopback,
// kills it with SIGKILL at each point of dispatch (AFTERCARE_FAILPOINT) and
// restarts it: no message may be lost, none may reach the provider twice,
// and those whose fate cannot be known must be reported as unknown.
//
// Serve sends one message at a time (AFTERCARE_SEND_CONCURRENCY=1), so
// exactly one send is answered before the "after-send" kill, and a tick
// claims at most 8 messages (the dispatcher's default batch of 8 per
// worker): with 9 due, every kill after a claim also leaves one message that
// was never claimed, which the restarted process must send.

// Deadlines for events that normally take a second or two; generous so that
// a loaded machine does not fail the test, short enough to fail fast.
const (
	crashEventTimeout  = 20 * time.Second
	crashSettleTimeout = 30 * time.Second
	crashPoll          = 100 * time.Millisecond
	// crashLease is serve's claim lease (AFTERCARE_CLAIM_LEASE): a killed
	// serve's claims are taken over once it lapses.
	crashLease = time.Second
)

// crashProtocol has three SMS steps due at once, with texts that differ
// per step and per patient, so that a (To, Body) pair names one message.
const crashProtocol = `slug: crash
name: Crash test
languages: [en]
steps:
  - key: rinse
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, rinse with cool water tonight."
  - key: spf
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, wear SPF 50 for a week."
  - key: call
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: {{.FirstName}}, call us if redness lasts."
`

var crashPatients = []string{"Ana Ruiz", "Bo Chen", "Cy Diaz"}

func TestCrash(t *testing.T) {
	// Not parallel: its serve processes keep leases on the wall clock, and
	// the parallel tests start only once it is done.
	if testing.Short() {
		t.Skip("builds and runs the aftercare binary; skipped with -short")
	}
	bin := buildAftercare(t)

	tests := []struct {
		point    string
		claims   bool // the killed run committed claims
		answered int  // sends the provider answered before the kill
	}{
		{point: "before-claim", claims: false, answered: 0},
		{point: "after-claim", claims: true, answered: 0},
		{point: "after-send", claims: true, answered: 1},
	}
	for _, tt := range tests {
		t.Run(tt.point, func(t *testing.T) {
			w := newCrashWorld(t, bin)

			killed := w.serve(t, tt.point)
			ps := killed.waitExit(t, crashEventTimeout)
			if ws, ok := ps.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("serve with AFTERCARE_FAILPOINT=%s ended with %v, want killed by SIGKILL", tt.point, ps)
			}

			// What the kill left: claims committed (sending) and what the
			// provider took.
			claimed := map[int64]bool{}
			for _, m := range w.log(t) {
				switch m.Status {
				case "sending":
					claimed[m.MessageID] = true
				case "pending":
				default:
					t.Errorf("after the kill, message %d is %s, want pending or sending", m.MessageID, m.Status)
				}
			}
			if got := len(claimed) > 0; got != tt.claims {
				t.Errorf("after the kill, %d messages are sending; want claims: %v", len(claimed), tt.claims)
			}
			if n := w.fake.Count(); n != tt.answered {
				t.Errorf("the provider took %d messages before the kill, want %d", n, tt.answered)
			}
			answered := map[int64]string{} // message -> provider SID
			for _, fm := range w.fake.Messages() {
				id := w.messageFor(t, fm)
				if !claimed[id] {
					t.Errorf("the provider got message %d, which was not claimed", id)
				}
				answered[id] = fm.SID
			}

			restarted := w.serve(t, "")
			restarted.waitOutput(t, restarted.stdout, "aftercare: serving on", crashEventTimeout)
			w.waitSettled(t, restarted)
			restarted.stop(t)

			final := w.check(t)
			t.Logf("killed with %d of %d messages claimed, %d taken by the provider; after restart: %s",
				len(claimed), len(w.want), len(answered), countStatuses(final))
			for id := range claimed {
				if sid, ok := answered[id]; ok {
					// The provider took it but the outcome was never recorded:
					// the reconciler must find it by lookup, not send it again.
					if final[id].Status != "sent" || final[id].ProviderID != sid {
						t.Errorf("message %d, taken by the provider as %s before the kill, is %s with provider id %q; want sent, found by lookup",
							id, sid, final[id].Status, final[id].ProviderID)
					}
					if !strings.Contains(restarted.stderr.String(), sid) {
						t.Errorf("the restarted serve did not log finding %s at the provider", sid)
					}
				} else if final[id].Status != "unknown" {
					t.Errorf("message %d, claimed and never sent before the kill, is %s after restart, want unknown (not resent)", id, final[id].Status)
				}
			}
			for id, m := range final {
				if !claimed[id] && m.Status != "sent" {
					t.Errorf("message %d, never claimed before the kill, is %s after restart, want sent", id, m.Status)
				}
			}
		})
	}

	// SIGTERM while a send is in flight: the send finishes and is recorded,
	// claimed messages not yet started go back to pending, the process
	// exits 0; a restart sends the rest, each once.
	t.Run("sigterm", func(t *testing.T) {
		w := newCrashWorld(t, bin)
		p, release := w.serveHeld(t)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.waitOutput(t, p.stderr, "stopping: no new claims", crashEventTimeout)
		close(release)
		if ps := p.waitExit(t, crashEventTimeout); !ps.Success() {
			t.Fatalf("serve stopped by SIGTERM exited with %v, want exit code 0", ps)
		}
		if n := w.fake.Count(); n != 1 {
			t.Fatalf("the provider took %d messages, want the 1 in flight at SIGTERM", n)
		}
		fm := w.fake.Messages()[0]
		inFlight := w.messageFor(t, fm)
		for _, m := range w.log(t) {
			switch {
			case m.MessageID == inFlight:
				if m.Status != "sent" || m.ProviderID != fm.SID {
					t.Errorf("the send in flight at SIGTERM (message %d) is %s with provider id %q, want sent as %s", m.MessageID, m.Status, m.ProviderID, fm.SID)
				}
			case m.Status != "pending" || m.Attempts != 0:
				t.Errorf("after SIGTERM, message %d is %s after %d attempts, want pending and never attempted", m.MessageID, m.Status, m.Attempts)
			}
		}

		restarted := w.serve(t, "")
		restarted.waitOutput(t, restarted.stdout, "aftercare: serving on", crashEventTimeout)
		w.waitSettled(t, restarted)
		restarted.stop(t)
		for id, m := range w.check(t) {
			if m.Status != "sent" {
				t.Errorf("message %d is %s after a clean stop and restart, want sent", id, m.Status)
			}
		}
	})
}

// TestRollingRestart runs two serves with one instance name on one
// database, as a rolling restart does: the second starts while the first
// has a send in flight (held by the fake for twice the claim lease) and
// seven more claimed, then the first gets SIGTERM. The second must not take
// the first's live claims; the first finishes its send, releases the rest
// and ends its lease; every message is sent exactly once and none is left
// unknown.
func TestRollingRestart(t *testing.T) {
	// Not parallel: its serve processes keep leases on the wall clock, and
	// the parallel tests start only once it is done.
	if testing.Short() {
		t.Skip("builds and runs the aftercare binary; skipped with -short")
	}
	w := newCrashWorld(t, buildAftercare(t))
	first, release := w.serveHeld(t)
	second := w.serve(t, "") // same AFTERCARE_INSTANCE, same host
	second.waitOutput(t, second.stdout, "aftercare: serving on", crashEventTimeout)

	// The first's send stays in flight for two leases while the second
	// reconciles every second: the first's heartbeat must keep its claims.
	// Waiting on the wall clock is the point here: leases are real time in
	// real processes. The log is checked all along.
	held := time.Now().Add(2 * crashLease)
	for time.Now().Before(held) {
		for _, m := range w.log(t) {
			if m.Status == "unknown" {
				t.Fatalf("message %d became unknown while its claim's owner was alive and sending: %s", m.MessageID, m.Error)
			}
		}
		select {
		case <-time.After(crashPoll):
		case <-first.done:
			t.Fatalf("the first serve exited: %v", first.cmd.ProcessState)
		}
	}

	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	first.waitOutput(t, first.stderr, "stopping: no new claims", crashEventTimeout)
	close(release)
	if ps := first.waitExit(t, crashEventTimeout); !ps.Success() {
		t.Fatalf("the first serve, stopped by SIGTERM, exited with %v, want exit code 0", ps)
	}
	w.waitSettled(t, second)
	second.stop(t)
	final := w.check(t)
	t.Logf("after the rolling restart: %s", countStatuses(final))
	for id, m := range final {
		if m.Status != "sent" {
			t.Errorf("message %d is %s after a rolling restart, want sent: %s", id, m.Status, m.Error)
		}
	}
	if n := w.fake.Count(); n != len(w.want) {
		t.Errorf("the provider got %d messages, want each of the %d once", n, len(w.want))
	}
}

// buildAftercare builds the binary once for the test run.
func buildAftercare(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aftercare")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// sms is what the provider receives for one message.
type sms struct{ To, Body string }

// crashWorld is one scenario: a database with 9 due SMS, a fake Twilio and
// the binary.
type crashWorld struct {
	bin  string
	dir  string
	db   string
	fake *twiliotest.Server
	want map[int64]sms   // every message and what the provider must get for it
	byTo map[sms]int64   // the reverse
	runs []*serveProcess // in start order, for failure reports
}

func newCrashWorld(t *testing.T, bin string) *crashWorld {
	t.Helper()
	w := &crashWorld{bin: bin, db: newDB(t), dir: t.TempDir(), fake: twiliotest.NewServer(t),
		want: map[int64]sms{}, byTo: map[sms]int64{}}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, p := range w.runs {
			t.Logf("serve run %d (%s) stderr:\n%s", i+1, p.name, p.stderr.String())
		}
		for _, fm := range w.fake.Messages() {
			t.Logf("the provider got %s to %s: %q", fm.SID, fm.To, fm.Body)
		}
	})
	w.seedProtocol(t, "crash.yaml", crashProtocol)

	now := time.Now()
	treated := now.Add(-time.Minute).UTC().Format(time.RFC3339)
	for i, name := range crashPatients {
		phone := fmt.Sprintf("+1415555%04d", 101+i)
		var e enrollmentJSON
		out := w.cli(t, "enroll", "--name", name, "--phone", phone, "--tz", middayZone(now), "--protocol", "crash",
			"--treated-at", treated, "--sms-consent", "--json")
		if err := json.Unmarshal([]byte(out), &e); err != nil {
			t.Fatalf("enroll --json: %v\n%s", err, out)
		}
		for _, m := range e.Messages {
			if m.Status != "pending" || m.Channel != "sms" {
				t.Fatalf("enrolled %s: message %d (%s) is %s %s, want pending sms: %s", name, m.MessageID, m.Step, m.Channel, m.Status, m.Note)
			}
			w.want[m.MessageID] = sms{phone, m.Body}
			w.byTo[sms{phone, m.Body}] = m.MessageID
		}
	}
	if len(w.want) != 3*len(crashPatients) || len(w.byTo) != len(w.want) {
		t.Fatalf("enrolled %d messages with %d distinct texts, want %d distinct", len(w.want), len(w.byTo), 3*len(crashPatients))
	}
	return w
}

// middayZone returns a fixed-offset zone where it is about 13:00 at now, so
// that messages due now fall inside the default send window (08:00-21:00).
func middayZone(now time.Time) string {
	east := 13 - now.UTC().Hour() // -10..13
	switch {
	case east > 0:
		return fmt.Sprintf("Etc/GMT-%d", east) // POSIX signs: Etc/GMT-3 is UTC+3
	case east < 0:
		return fmt.Sprintf("Etc/GMT+%d", -east)
	}
	return "Etc/GMT"
}

// cli runs the command line in-process on the real clock.
func (w *crashWorld) cli(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"--db", w.db}, args...), envOf(w.db), Streams{In: strings.NewReader(""), Out: &out, Err: &errb}, time.Now)
	if err != nil {
		t.Fatalf("aftercare %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// log returns `aftercare log --json` with the extra flags.
func (w *crashWorld) log(t *testing.T, flags ...string) []logJSON {
	t.Helper()
	out := w.cli(t, append([]string{"log", "--json"}, flags...)...)
	var msgs []logJSON
	if err := json.Unmarshal([]byte(out), &msgs); err != nil {
		t.Fatalf("log --json: %v\n%s", err, out)
	}
	return msgs
}

// messageFor names the message the provider received.
func (w *crashWorld) messageFor(t *testing.T, fm twiliotest.Message) int64 {
	t.Helper()
	id, ok := w.byTo[sms{fm.To, fm.Body}]
	if !ok {
		t.Fatalf("the provider got a message nobody was enrolled for: to %s: %q", fm.To, fm.Body)
	}
	return id
}

// waitSettled waits until no message is pending or sending.
func (w *crashWorld) waitSettled(t *testing.T, p *serveProcess) {
	t.Helper()
	deadline := time.After(crashSettleTimeout)
	tick := time.NewTicker(crashPoll)
	defer tick.Stop()
	for {
		busy := 0
		for _, m := range w.log(t) {
			if m.Status == "pending" || m.Status == "sending" {
				busy++
			}
		}
		if busy == 0 {
			return
		}
		select {
		case <-tick.C:
		case <-p.done:
			t.Fatalf("serve exited (%v) with %d messages pending or sending", p.cmd.ProcessState, busy)
		case <-deadline:
			t.Fatalf("%d messages still pending or sending after %s", busy, crashSettleTimeout)
		}
	}
}

// check asserts what must hold after any crash and restart, and returns the
// messages by id: none lost (every enrolled message is there, sent or
// unknown); none sent twice (the provider got each text at most once);
// sent ones carry the provider's id; unknown ones were never taken by the
// provider and are listed by `aftercare log --status unknown`.
func (w *crashWorld) check(t *testing.T) map[int64]logJSON {
	t.Helper()
	got := map[sms][]string{}
	for _, fm := range w.fake.Messages() {
		k := sms{fm.To, fm.Body}
		got[k] = append(got[k], fm.SID)
		w.messageFor(t, fm)
	}
	for k, sids := range got {
		if len(sids) > 1 {
			t.Errorf("message %d reached the provider %d times (%v)", w.byTo[k], len(sids), sids)
		}
	}
	if v := w.fake.Violations(); len(v) > 0 {
		t.Errorf("requests that break Twilio's contract: %v", v)
	}

	msgs := w.log(t)
	if len(msgs) != len(w.want) {
		t.Errorf("%d messages in the log, want the %d enrolled", len(msgs), len(w.want))
	}
	final := map[int64]logJSON{}
	unknown := map[int64]bool{}
	for _, m := range msgs {
		final[m.MessageID] = m
		k, ok := w.want[m.MessageID]
		if !ok {
			t.Errorf("message %d (%s, %s) was not enrolled", m.MessageID, m.Step, m.Status)
			continue
		}
		switch m.Status {
		case "sent":
			if sids := got[k]; len(sids) != 1 || m.ProviderID != sids[0] {
				t.Errorf("message %d is sent with provider id %q; the provider has %v", m.MessageID, m.ProviderID, sids)
			}
		case "unknown":
			unknown[m.MessageID] = true
			if len(got[k]) != 0 {
				t.Errorf("message %d is unknown, but the provider has it (%v): the reconciler should have found it", m.MessageID, got[k])
			}
			if !strings.Contains(m.Error, "not resent") {
				t.Errorf("unknown message %d says %q; want why and that it is not resent", m.MessageID, m.Error)
			}
		default:
			t.Errorf("message %d ended %s, want sent or unknown", m.MessageID, m.Status)
		}
	}
	for id := range w.want {
		if _, ok := final[id]; !ok {
			t.Errorf("message %d is lost: not in the log", id)
		}
	}
	reported := map[int64]bool{}
	for _, m := range w.log(t, "--status", "unknown") {
		reported[m.MessageID] = true
		if !unknown[m.MessageID] {
			t.Errorf("log --status unknown lists message %d, which is %s", m.MessageID, m.Status)
		}
	}
	for id := range unknown {
		if !reported[id] {
			t.Errorf("unknown message %d is missing from log --status unknown", id)
		}
	}
	return final
}

// countStatuses summarizes messages for the test log, e.g. "2 sent, 7 unknown".
func countStatuses(msgs map[int64]logJSON) string {
	n := map[string]int{}
	for _, m := range msgs {
		n[m.Status]++
	}
	var parts []string
	for _, s := range []string{"sent", "unknown"} {
		parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
	}
	return strings.Join(parts, ", ")
}

// seedProtocol sets the clinic's daily cap to 50 and imports the protocol
// src as the file name, through the command line.
func (w *crashWorld) seedProtocol(t *testing.T, name, src string) {
	t.Helper()
	w.cli(t, "clinic", "set", "--daily-cap", "50")
	file := filepath.Join(w.dir, name)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	w.cli(t, "protocols", "import", file)
}

// serve starts `aftercare serve` against the world's database and fake
// Twilio, killing itself at failpoint if one is given.
func (w *crashWorld) serve(t *testing.T, failpoint string) *serveProcess {
	t.Helper()
	env := []string{
		"AFTERCARE_OUTBOX=" + filepath.Join(w.dir, "outbox.jsonl"),
		"AFTERCARE_INSTANCE=crash-test",
		"AFTERCARE_CLAIM_LEASE=" + crashLease.String(),
		"AFTERCARE_SEND_CONCURRENCY=1",
	}
	name := "no failpoint"
	if failpoint != "" {
		env = append(env, "AFTERCARE_FAILPOINT="+failpoint)
		name = "AFTERCARE_FAILPOINT=" + failpoint
	}
	return w.start(t, name, env...)
}

// serveHeld starts `aftercare serve` (no failpoint) with the fake set to
// hold the first send, and returns once that send has reached the fake:
// the process has a send in flight until release is closed.
func (w *crashWorld) serveHeld(t *testing.T) (p *serveProcess, release chan struct{}) {
	t.Helper()
	arrived := make(chan struct{}, 1)
	release = make(chan struct{})
	w.fake.Next(twiliotest.Reply{Arrived: arrived, Release: release})
	p = w.serve(t, "")
	select {
	case <-arrived:
	case <-p.done:
		t.Fatalf("serve exited before sending anything: %v", p.cmd.ProcessState)
	case <-time.After(crashEventTimeout):
		t.Fatalf("no send reached the provider within %s", crashEventTimeout)
	}
	return p, release
}

// start starts `aftercare serve` named name against the world's database
// and fake Twilio, with this process's environment minus any AFTERCARE_,
// TWILIO_ or SMTP_ setting, the world's, and then env. The process is
// killed when the test ends, if it has not ended by then.
func (w *crashWorld) start(t *testing.T, name string, env ...string) *serveProcess {
	t.Helper()
	var all []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AFTERCARE_") && !strings.HasPrefix(kv, "TWILIO_") && !strings.HasPrefix(kv, "SMTP_") {
			all = append(all, kv)
		}
	}
	all = append(all,
		"AFTERCARE_DB="+w.db,
		"AFTERCARE_HTTP_ADDR=127.0.0.1:0",
		"AFTERCARE_DISPATCH_SPEC=@every 1s",
		"AFTERCARE_RECONCILE_SPEC=@every 1s",
		"AFTERCARE_SMS_RATE=0",
		"TWILIO_ACCOUNT_SID="+w.fake.AccountSID,
		"TWILIO_AUTH_TOKEN="+w.fake.AuthToken,
		"TWILIO_FROM=+15005550006",
		"AFTERCARE_TWILIO_BASE_URL="+w.fake.URL,
	)
	cmd := exec.Command(w.bin, "serve")
	cmd.Dir, cmd.Env = w.dir, append(all, env...)
	p := &serveProcess{name: name, cmd: cmd, stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.runs = append(w.runs, p)
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// serveProcess is one run of `aftercare serve`.
type serveProcess struct {
	name   string
	cmd    *exec.Cmd
	stdout *watchedBuffer
	stderr *watchedBuffer
	done   chan struct{} // closed when the process has exited and been waited for
}

// waitExit waits for the process to end and returns how it ended.
func (p *serveProcess) waitExit(t *testing.T, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState
	case <-time.After(timeout):
		t.Fatalf("serve (%s) still running after %s", p.name, timeout)
		return nil
	}
}

// stop sends SIGTERM and asserts a clean exit.
func (p *serveProcess) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ps := p.waitExit(t, crashEventTimeout); !ps.Success() {
		t.Fatalf("serve stopped by SIGTERM exited with %v, want exit code 0", ps)
	}
}

// waitOutput waits until the process has written s to b.
func (p *serveProcess) waitOutput(t *testing.T, b *watchedBuffer, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		out, changed := b.snapshot()
		if strings.Contains(out, s) {
			return
		}
		select {
		case <-changed:
		case <-p.done:
			if out, _ := b.snapshot(); !strings.Contains(out, s) {
				t.Fatalf("serve (%s) exited (%v) without writing %q", p.name, p.cmd.ProcessState, s)
			}
			return
		case <-deadline:
			t.Fatalf("serve (%s) did not write %q within %s", p.name, s, timeout)
		}
	}
}

// watchedBuffer collects a process's output and tells waiters when it grows.
type watchedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{changed: make(chan struct{})} }

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

// snapshot returns the output so far and a channel closed at the next write.
func (w *watchedBuffer) snapshot() (string, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String(), w.changed
}

func (w *watchedBuffer) String() string {
	s, _ := w.snapshot()
	return s
}
