package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/outbox"
)

var epoch = notifytest.Epoch

func readRecords(t *testing.T, path string) []outbox.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []outbox.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r outbox.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not a JSON record: %v: %s", len(recs)+1, err, sc.Bytes())
		}
		recs = append(recs, r)
	}
	return recs
}

func TestSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		m      aftercare.Outgoing
		masked string
	}{
		{"SMS", aftercare.Outgoing{MessageID: 42, ClinicID: 7, Channel: aftercare.SMS, To: "+14155550199",
			Body: "Keep the area dry.", ClinicName: "Downtown Spa", ExpiresAt: epoch.Add(time.Hour), Attempt: 1}, "+1********99"},
		{"Email", aftercare.Outgoing{MessageID: 43, ClinicID: 7, Channel: aftercare.Email, To: "ana.perez@example.com",
			ToName: "Ana Pérez", Subject: "Day 1", Body: "Keep the area dry.", ClinicName: "Downtown Spa", ClinicPhone: "+14155550123", Attempt: 1}, "a***@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "var", "outbox")
			path := filepath.Join(dir, "outbox.jsonl")
			var logs bytes.Buffer
			s, err := outbox.New(path, slog.New(slog.NewJSONHandler(&logs, nil)))
			if err != nil {
				t.Fatal(err)
			}
			s.Now = notifytest.Clock
			r, err := s.Send(context.Background(), &tt.m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			want := aftercare.Receipt{Sender: "outbox", ProviderID: fmt.Sprintf("outbox-%d-1", tt.m.MessageID),
				ProviderStatus: outbox.StatusText, Final: aftercare.StatusUndelivered}
			if r != want {
				t.Errorf("receipt %+v; want %+v", r, want)
			}
			st, err := os.Stat(path)
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v (%v); want 0600", st.Mode(), err)
			}
			if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("dir mode %v (%v); want 0700", st.Mode(), err)
			}
			recs := readRecords(t, path)
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			rec := recs[0]
			if rec.To != tt.m.To || rec.ToMasked != tt.masked || rec.Body != tt.m.Body || rec.Subject != tt.m.Subject ||
				rec.MessageID != tt.m.MessageID || rec.ClinicID != 7 || rec.Channel != tt.m.Channel || !rec.Time.Equal(epoch) ||
				rec.Line != 1 || rec.ProviderID != r.ProviderID || rec.ToName != tt.m.ToName {
				t.Errorf("record %+v", rec)
			}
			if (rec.ExpiresAt == nil) != tt.m.ExpiresAt.IsZero() {
				t.Errorf("expires_at %v; message expires %v", rec.ExpiresAt, tt.m.ExpiresAt)
			}
			log := logs.String()
			if !strings.Contains(log, tt.masked) || strings.Contains(log, tt.m.To) || strings.Contains(log, tt.m.Body) {
				t.Errorf("log line must name the masked recipient only, not the address or text: %s", log)
			}
		})
	}
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	s, err := outbox.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			m := &aftercare.Outgoing{MessageID: int64(i + 1), Channel: aftercare.SMS, To: "+14155550199",
				Body: strings.Repeat("long text ", 200), Attempt: 1}
			_, errs[i] = s.Send(context.Background(), m)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	recs := readRecords(t, path)
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	ids := map[int64]bool{}
	for i, r := range recs {
		if r.Line != int64(i+1) || r.ProviderID != fmt.Sprintf("outbox-%d-%d", r.MessageID, i+1) {
			t.Errorf("record %d: line %d id %s", i+1, r.Line, r.ProviderID)
		}
		ids[r.MessageID] = true
	}
	if len(ids) != n {
		t.Errorf("%d distinct messages, want %d", len(ids), n)
	}
}

// An existing file keeps its records; numbering continues, a torn last
// line (a crash mid-write) is closed off, and the file is made private.
func TestNewExistingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	if err := os.WriteFile(path, []byte(`{"line":1}`+"\n"+`{"line":2}`+"\n"+`{"line":3,"bo`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := outbox.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Send(context.Background(), &aftercare.Outgoing{MessageID: 9, Channel: aftercare.SMS, To: "+14155550199", Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ProviderID != "outbox-9-4" {
		t.Errorf("ProviderID %s; want outbox-9-4", r.ProviderID)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[3], `{"time"`) {
		t.Errorf("file:\n%s", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", st.Mode())
	}
}

// The file may be moved away (rotated) while the service runs.
func TestSendAfterFileRemoved(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	s, err := outbox.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &aftercare.Outgoing{MessageID: 1, Channel: aftercare.SMS, To: "+14155550199", Body: "x"}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	r, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if r.ProviderID != "outbox-1-1" || len(readRecords(t, path)) != 1 {
		t.Errorf("ProviderID %s after rotation; want outbox-1-1 in a new file", r.ProviderID)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v; want 0600", st.Mode())
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"ErrEmptyPath": " ", "ErrParentIsFile": filepath.Join(notDir, "outbox.jsonl")} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := outbox.New(path, nil)
			if aftercare.ErrorCode(err) != aftercare.EINVALID {
				t.Errorf("New(%q) = %v; want EINVALID", path, err)
			}
		})
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.jsonl")
	s, err := outbox.New(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = s.Send(ctx, &aftercare.Outgoing{MessageID: 1, Channel: aftercare.SMS, To: "+14155550199", Body: "x"})
	var se *aftercare.SendError
	if !errors.As(err, &se) || se.Kind != aftercare.Transient || !errors.Is(err, context.Canceled) {
		t.Errorf("error %v; want transient wrapping context.Canceled", err)
	}
	if len(readRecords(t, path)) != 0 {
		t.Error("a cancelled send was written")
	}
}

// TestSendErrorHidesPath: a failed write's error, which managers see in
// the delivery log, does not name the file; the log does.
func TestSendErrorHidesPath(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "secret-place")
	path := filepath.Join(dir, "outbox.jsonl")
	var logs bytes.Buffer
	s, err := outbox.New(path, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	// Where the directory was is now a file: every open fails.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(context.Background(), &aftercare.Outgoing{MessageID: 1, Channel: aftercare.SMS, To: "+14155550199", Body: "x"})
	var se *aftercare.SendError
	if !errors.As(err, &se) || se.Kind != aftercare.Transient {
		t.Fatalf("Send: %v, want a transient SendError", err)
	}
	if strings.Contains(se.Message, "secret-place") || strings.Contains(err.Error(), "secret-place") {
		t.Errorf("the error shown to managers names the file: %q", err)
	}
	if !strings.Contains(logs.String(), "secret-place") {
		t.Errorf("the log does not say which file failed:\n%s", logs.String())
	}
	if strings.Contains(outbox.StatusText, "/") {
		t.Errorf("StatusText names a path: %q", outbox.StatusText)
	}
}
