package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProtocolsValidateJSONBadFile: with --json a bad protocol file is
// reported as JSON on stdout (valid false, each problem with its line and
// column), and the command still exits 1; so is a file that cannot be read.
func TestProtocolsValidateJSONBadFile(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("slug: peel\nname: Peel\nlanguages: [en]\nsteps:\n  - key: spf\n    chanels: [sms]\n    after: 0s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	type report struct {
		Valid    bool `json:"valid"`
		Problems []struct {
			Line    int    `json:"line"`
			Col     int    `json:"col"`
			Message string `json:"message"`
		} `json:"problems"`
		Warnings []string `json:"warnings"`
	}
	for _, tc := range []struct {
		name, file, want string
		line, col        int
	}{
		{"Unparsable", bad, "chanels", 6, 5},
		{"Missing", filepath.Join(t.TempDir(), "nope.yaml"), "cannot read", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := cli(t, db, "", "--json", "protocols", "validate", tc.file)
			if exitCode(err) != 1 {
				t.Errorf("exit %d (%v), want 1", exitCode(err), err)
			}
			var r report
			if jerr := json.Unmarshal([]byte(out), &r); jerr != nil {
				t.Fatalf("stdout is not JSON (%v):\n%s", jerr, out)
			}
			if r.Valid || r.Warnings == nil || len(r.Problems) == 0 {
				t.Fatalf("report: %+v", r)
			}
			found := false
			for _, p := range r.Problems {
				found = found || p.Line == tc.line && p.Col == tc.col && strings.Contains(p.Message, tc.want)
			}
			if !found {
				t.Errorf("problems %+v, want one at %d:%d mentioning %q", r.Problems, tc.line, tc.col, tc.want)
			}
		})
	}
}
