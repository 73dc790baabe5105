package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// walkthroughSection is the README section whose commands must run as
// written on a fresh clone.
const walkthroughSection = "## Trying it as the front desk"

// walkthrough returns the commands of the first ```sh block of the
// README's walkthrough section, one per entry, with continued lines
// joined.
func walkthrough(t *testing.T) []string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n"+walkthroughSection+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", walkthroughSection)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	_, block, ok := strings.Cut(section, "```sh\n")
	if !ok {
		t.Fatalf("README.md's %q has no ```sh block", walkthroughSection)
	}
	block, _, _ = strings.Cut(block, "```")
	var cmds []string
	for _, c := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		if c = strings.TrimSpace(c); c != "" && !strings.HasPrefix(c, "#") {
			cmds = append(cmds, c)
		}
	}
	return cmds
}

var serveLine = regexp.MustCompile(`^\./aftercare( --\S+)* serve\b`)

// TestREADMEWalkthrough runs the README's walkthrough as a front desk
// would, in bash, in a directory like a fresh clone's root (the docs, and
// the binary at ./aftercare as its `go build` line leaves it), with an
// environment that has none of the developer's AFTERCARE_*, TWILIO_* or
// SMTP_* variables. Every command must exit 0 and warn about nothing;
// `serve`, which runs until stopped, is left out. The walkthrough's dates
// are today's (`$(date +%F)`), so the binary runs on the real clock: it
// is the user's clock this checks.
func TestREADMEWalkthrough(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on PATH")
	}
	cmds := walkthrough(t)
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "docs", "examples"), os.DirFS("../../docs/examples")); err != nil {
		t.Fatal(err)
	}
	bin := buildAftercare(t)
	built, served := false, false
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"}
	var script strings.Builder
	for i, c := range cmds {
		switch {
		case strings.HasPrefix(c, "go build -o aftercare "):
			// The test built the binary already; put it where this line would.
			c = fmt.Sprintf("cp %q ./aftercare", bin)
			built = true
		case serveLine.MatchString(c):
			served = true
			continue
		}
		// The check goes on a line of its own: c may end in a comment.
		fmt.Fprintf(&script, "echo %s >&2\n%s\nrc=$?; [ $rc = 0 ] || { echo \"FAILED (exit $rc): command %d\" >&2; exit 1; }\n",
			shellQuote("$ "+c), c, i+1)
	}
	if !built || !served {
		t.Fatalf("the walkthrough lost its `go build -o aftercare ./cmd/aftercare` (%v) or `./aftercare serve` (%v) line: update this test", built, served)
	}
	cmd := exec.Command(bash, "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the README's walkthrough failed: %v\n%s\nstdout:\n%s", err, stderr.String(), out.String())
	}
	for _, line := range strings.Split(stderr.String()+out.String(), "\n") {
		if strings.Contains(line, "warning:") {
			t.Errorf("the walkthrough warns: %s\n(all of stderr:\n%s)", line, stderr.String())
		}
	}
}
