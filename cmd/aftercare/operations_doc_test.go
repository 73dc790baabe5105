package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// drillSection is the docs/operations.md section whose commands must run
// as written.
const drillSection = "### Restore drill"

// TestOperationsRestoreDrill runs docs/operations.md's restore drill in
// bash against a database of its own: the binary on PATH as `aftercare`,
// the drill's first line (LIVE=... BACKUPS=..., the operator's) pointed at
// the test's files. Every line must succeed, the counts the backup printed
// must be those the restore printed, and the app must read the restored
// file.
func TestOperationsRestoreDrill(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH")
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n"+drillSection+"\n")
	if !ok {
		t.Fatalf("docs/operations.md has no section %q", drillSection)
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatalf("%q has no ```sh block", drillSection)
	}
	block, _, _ = strings.Cut(block, "```")
	first, rest, _ := strings.Cut(block, "\n")
	if !strings.HasPrefix(first, "LIVE=") || !strings.Contains(first, "BACKUPS=") {
		t.Fatalf("the drill's first line is %q, want LIVE=... BACKUPS=...: update this test", first)
	}

	dir := t.TempDir()
	binDir, live, backups := filepath.Join(dir, "bin"), filepath.Join(dir, "live", "aftercare.db"), filepath.Join(dir, "backups")
	for _, d := range []string{binDir, filepath.Dir(live), backups} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(buildAftercare(t), filepath.Join(binDir, "aftercare")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + binDir + ":" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8", "TMPDIR=" + dir}
	setup := exec.Command(filepath.Join(binDir, "aftercare"), "--db", live, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100",
		"--protocol", "microneedling", "--treated-at", "2026-11-22T09:00", "--tz", "America/Los_Angeles", "--sms-consent")
	setup.Env = append(env, "AFTERCARE_CLINIC_NAME=Glow Skin Studio", "AFTERCARE_CLINIC_PHONE=+1 415 555 0199", "AFTERCARE_CLINIC_TZ=America/Los_Angeles")
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("making the live database: %v\n%s", err, out)
	}

	script := "set -euo pipefail\nLIVE=" + shellQuote(live) + " BACKUPS=" + shellQuote(backups) + "\n" + rest
	cmd := exec.Command(bash, "-c", script)
	cmd.Dir, cmd.Env = dir, env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the restore drill failed: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr.String())
	}
	if !strings.Contains(out.String(), "welcome") {
		t.Errorf("the drill's log of the restored database does not show the live one's messages:\n%s", out.String())
	}
	if strings.Contains(stderr.String(), "warning:") {
		t.Errorf("the drill warns:\n%s", stderr.String())
	}
	names := dirNames(t, dir)
	if strings.Join(names, " ") != "backups bin live" {
		t.Errorf("after the drill the directory holds %v, want backups bin live: its scratch space was not removed", names)
	}
}
