package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/metrics"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/scheduler/schedtest"
)

// scrape GETs url and returns its samples: series (name and sorted labels,
// as written) -> value.
func scrape(t *testing.T, url string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s, %v\n%s", resp.Status, err, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want Prometheus's text format", ct)
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out, string(body)
}

// series writes a series as the exposition does: labels sorted by name.
func series(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name + "{")
	for i := 0; i < len(labels); i += 2 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(labels[i] + `="` + labels[i+1] + `"`)
	}
	return b.String() + "}"
}

func want(t *testing.T, got map[string]float64, s string, v float64) {
	t.Helper()
	if g, ok := got[s]; !ok || g != v {
		t.Errorf("%s = %v (present %v), want %v", s, g, ok, v)
	}
}

// TestMetricsAfterDispatch scrapes the handler before and after real
// sends through the Twilio fake: one text refused (21211), one sent late,
// emails to the outbox.
func TestMetricsAfterDispatch(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	m := metrics.New(f.DB, metrics.Options{Now: f.Clock, CacheFor: 5 * time.Second})
	f.D.Metrics = m
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	slug := f.Clinic.Slug

	f.Enroll(t, "+1 415 555 0100", true)
	due := map[aftercare.Channel]int{}
	for _, msg := range f.Messages(t) {
		if msg.Status == aftercare.StatusPending && !msg.NextAttemptAt.After(f.Now) {
			due[msg.Channel]++
		}
	}
	if due[aftercare.SMS] != 2 || due[aftercare.Email] == 0 {
		t.Fatalf("due at enrollment: %v; want the two texts and some emails", due)
	}
	// The dispatcher runs 90 s late.
	f.Now = f.Now.Add(90 * time.Second)
	got, _ := scrape(t, srv.URL)
	want(t, got, series("aftercare_messages_due", "channel", "sms", "clinic", slug), 2)
	want(t, got, series("aftercare_messages_due", "channel", "email", "clinic", slug), float64(due[aftercare.Email]))
	want(t, got, series("aftercare_messages", "channel", "sms", "clinic", slug, "state", "sent"), 0) // present at 0
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no go_goroutines: the Go collector is missing")
	}
	if _, ok := got["process_cpu_seconds_total"]; !ok {
		t.Error("no process_cpu_seconds_total: the process collector is missing")
	}

	// The first text is refused for good.
	f.Fake.Next(twiliotest.TwilioError(400, twiliotest.CodeInvalidTo, "The 'To' number +14155550100 is not valid"))
	sent := f.Tick(t)
	if sent != 2+due[aftercare.Email] {
		t.Fatalf("tick handled %d, want %d", sent, 2+due[aftercare.Email])
	}
	// Within CacheFor the scrape serves the counts it read before.
	got, _ = scrape(t, srv.URL)
	want(t, got, series("aftercare_messages_due", "channel", "sms", "clinic", slug), 2)
	// The counters are live.
	want(t, got, series("aftercare_send_attempts_total", "channel", "sms", "outcome", "failed", "provider", "twilio"), 1)
	want(t, got, series("aftercare_send_attempts_total", "channel", "sms", "outcome", "sent", "provider", "twilio"), 1)
	want(t, got, series("aftercare_send_attempts_total", "channel", "email", "outcome", "undelivered", "provider", "outbox"), float64(due[aftercare.Email]))
	want(t, got, series("aftercare_send_errors_total", "code", "21211", "kind", "permanent", "provider", "twilio"), 1)
	want(t, got, series("aftercare_provider_latency_seconds_count", "provider", "twilio"), 2)
	want(t, got, series("aftercare_provider_latency_seconds_count", "provider", "outbox"), float64(due[aftercare.Email]))
	// Lateness: the sent text and the outbox's emails (taken, if not
	// delivered), each 90 s after its due time.
	want(t, got, series("aftercare_send_lateness_seconds_count", "channel", "sms"), 1)
	want(t, got, series("aftercare_send_lateness_seconds_sum", "channel", "sms"), 90)
	want(t, got, series("aftercare_send_lateness_seconds_bucket", "channel", "sms", "le", "60"), 0)
	want(t, got, series("aftercare_send_lateness_seconds_bucket", "channel", "sms", "le", "120"), 1)
	want(t, got, series("aftercare_send_lateness_seconds_sum", "channel", "email"), 90*float64(due[aftercare.Email]))

	// After CacheFor the counts are read again.
	f.Now = f.Now.Add(5 * time.Second)
	got, body := scrape(t, srv.URL)
	want(t, got, series("aftercare_messages_due", "channel", "sms", "clinic", slug), 0)
	want(t, got, series("aftercare_messages_due", "channel", "email", "clinic", slug), 0)
	want(t, got, series("aftercare_messages", "channel", "sms", "clinic", slug, "state", "sent"), 1)
	want(t, got, series("aftercare_messages", "channel", "sms", "clinic", slug, "state", "failed"), 1)
	want(t, got, series("aftercare_messages", "channel", "email", "clinic", slug, "state", "undelivered"), float64(due[aftercare.Email]))
	// No patient data in any label or value.
	for _, leak := range []string{"4155550100", "415 555", "Ana", "ana@", "example.com"} {
		if strings.Contains(body, leak) {
			t.Errorf("the scrape shows %q", leak)
		}
	}
	if v := f.Fake.Violations(); len(v) > 0 {
		t.Fatalf("requests broke Twilio's contract: %v", v)
	}
}

// TestMetricsTakeovers: claims of a dispatcher whose lease lapsed are
// counted when the reconciler takes them over.
func TestMetricsTakeovers(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	m := metrics.New(f.DB, metrics.Options{Now: f.Clock})
	f.Enroll(t, "+1 415 555 0100", false) // two texts due now
	ctx := context.Background()
	if err := f.DB.RenewLease(ctx, "dead/1", f.Now, f.Now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	claimed, err := f.DB.ClaimDue(ctx, f.Now, "dead/1", 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claimed %d, %v; want the two texts", len(claimed), err)
	}
	rec := &dispatch.Reconciliation{Store: f.DB, Routes: f.D.Routes, Now: f.Clock, Metrics: m}
	if _, err := rec.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "aftercare_claim_takeovers_total"); n != 1 {
		t.Fatalf("%d aftercare_claim_takeovers_total series, want 1", n)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	mustTakeovers := func(want float64) {
		t.Helper()
		got, _ := scrape(t, srv.URL)
		if v := got["aftercare_claim_takeovers_total"]; v != want {
			t.Errorf("takeovers %v, want %v", v, want)
		}
	}
	mustTakeovers(0) // the lease is live
	f.Now = f.Now.Add(31 * time.Second)
	if _, err := rec.Run(ctx); err != nil {
		t.Fatal(err)
	}
	mustTakeovers(2)
}

// TestMetricsStoreDown: when the counts cannot be read the scrape still
// serves the rest.
func TestMetricsStoreDown(t *testing.T) {
	t.Parallel()
	f := schedtest.NewSend(t)
	m := metrics.New(f.DB, metrics.Options{Now: f.Clock})
	if err := f.DB.Close(); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	got, body := scrape(t, srv.URL)
	if _, ok := got["go_goroutines"]; !ok || regexp.MustCompile(`(?m)^aftercare_messages\{`).MatchString(body) {
		t.Errorf("with the database closed, want the runtime's metrics and no message counts:\n%s", body)
	}
}

// slowStore takes two seconds of the fixture's clock to count.
type slowStore struct {
	*schedtest.Fixture
	reads int
}

func (s *slowStore) ListClinics(ctx context.Context) ([]*aftercare.Clinic, error) {
	return s.DB.ListClinics(ctx)
}

func (s *slowStore) CountMessages(ctx context.Context, now time.Time) ([]aftercare.MessageCount, error) {
	s.reads++
	s.Now = s.Now.Add(2 * time.Second)
	return s.DB.CountMessages(ctx, now)
}

// TestMetricsSlowCountCachedLonger: a count that took 2 s is served for
// 20 s (ten times as long), not the 5 s of CacheFor.
func TestMetricsSlowCountCachedLonger(t *testing.T) {
	t.Parallel()
	st := &slowStore{Fixture: schedtest.New(t)}
	m := metrics.New(st, metrics.Options{Now: st.Clock, CacheFor: 5 * time.Second})
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		after time.Duration
		reads int
	}{
		{0, 1},                // read at t, done at t+2s
		{10 * time.Second, 1}, // t+12s
		{5 * time.Second, 1},  // t+17s: past CacheFor, within 10 x 2 s
		{3 * time.Second, 2},  // t+20s
	} {
		st.Now = st.Now.Add(tt.after)
		scrape(t, srv.URL)
		if st.reads != tt.reads {
			t.Errorf("%s more: %d reads of the counts, want %d", tt.after, st.reads, tt.reads)
		}
	}
}

// BenchmarkAttempt is what the Prometheus metrics add to each send: one
// call on the dispatcher's hot path.
//
//	go test ./metrics -run '^$' -bench Attempt
func BenchmarkAttempt(b *testing.B) {
	m := metrics.New(nil, metrics.Options{})
	a := dispatch.AttemptStats{Provider: "twilio", Channel: aftercare.SMS, Status: aftercare.StatusSent, Called: true,
		Latency: 80 * time.Millisecond, Sent: true, Late: 2 * time.Second}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Attempt(a)
		}
	})
}
