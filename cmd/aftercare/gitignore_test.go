package main

import (
	"os/exec"
	"testing"
)

// TestGitignoreCoversRunFiles checks that what `go run ./cmd/aftercare
// serve` and the README's walkthrough leave in a checkout (the database
// and its side files, the outbox) stays out of `git status`.
func TestGitignoreCoversRunFiles(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git on PATH")
	}
	if err := exec.Command("git", "-C", "../..", "rev-parse", "--git-dir").Run(); err != nil {
		t.Skip("not a git checkout")
	}
	for _, path := range []string{
		"aftercare.db", "aftercare.db-wal", "aftercare.db-shm", "aftercare.db-journal",
		"outbox.jsonl", "cmd/aftercare/aftercare.db", "cmd/aftercare/outbox.jsonl", "aftercare",
		"frontdesk.db", "frontdesk.db.before-restore-20261202T182111Z", "backups/nightly.db",
	} {
		// --no-index: judge the pattern even if someone has added the file.
		if err := exec.Command("git", "-C", "../..", "check-ignore", "-q", "--no-index", path).Run(); err != nil {
			t.Errorf("%s is not ignored by .gitignore (git check-ignore: %v)", path, err)
		}
	}
}
