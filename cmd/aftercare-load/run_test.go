package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readSent takes the rate from the first send to the last, counts the same
// text to the same phone twice as a duplicate, and measures lateness from
// each phone's enrollment.
func TestReadSent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sent.jsonl")
	lines := []string{
		`{"to":"+14152000000","body":"a","t":100.0}`,
		`{"to":"+14152000000","body":"b","t":100.5}`,
		`{"to":"+14152000001","body":"a","t":101.0}`,
		`{"to":"+14152000001","body":"a","t":102.0}`,
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	enrolled := map[string]time.Time{"+14152000000": time.Unix(99, 0), "+14152000001": time.Unix(100, 0)}
	var rep Report
	if err := readSent(path, enrolled, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Sent != 4 || rep.Duplicates != 1 || rep.MessagesPerSec != 1.5 {
		t.Errorf("sent %d, duplicates %d, %.2f msg/s; want 4, 1, 1.50", rep.Sent, rep.Duplicates, rep.MessagesPerSec)
	}
	if rep.LatenessP50MS != 1500 || rep.LatenessP99MS != 2000 {
		t.Errorf("lateness p50 %.0f ms, p99 %.0f ms; want 1500 and 2000 (of 1, 1.5, 1 and 2 s)", rep.LatenessP50MS, rep.LatenessP99MS)
	}
}

// Flags that cannot work are refused with the flag to fix.
func TestCheckOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{replicas: 0, enrollments: 1, clients: 1, sendConc: 1}, "--replicas"},
		{options{replicas: 1, enrollments: 0, clients: 1, sendConc: 1}, "--enrollments"},
		{options{replicas: 1, enrollments: 1, clients: 1, sendConc: 1, delay: -time.Second}, "--delay"},
	} {
		if err := tc.o.check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("check(%+v) = %v, want an error naming %s", tc.o, err, tc.want)
		}
	}
	ok := options{replicas: 1, enrollments: 1, clients: 1, sendConc: 1}
	if err := ok.check(); err != nil {
		t.Errorf("check(%+v) = %v", ok, err)
	}
}
