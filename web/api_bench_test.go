package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/web"
)

// BenchmarkAPIEnroll is issue 4's load figure: enrollments per second
// through POST /api/v1/enrollments with 50 concurrent clients while the
// dispatcher sends the messages that fall due (the first steps of each
// treatment are due at once). Any 5xx, or an SQLITE_BUSY/"database is
// locked" reaching a client, fails the benchmark.
//
//	go test ./web -run '^$' -bench APIEnroll -benchtime 5000x
func BenchmarkAPIEnroll(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "load.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := scheduler.NewService(db, time.Now)
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Slug: "main", Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		b.Fatal(err)
	}
	clinic, _ := db.FindClinic(ctx, "main")
	token, _, err := (&accounts.Service{Store: db}).CreateToken(ctx, clinic.ID, "load", aftercare.RoleFrontDesk, "bench")
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer((&web.Server{Store: db, Service: svc, Now: time.Now}).Handler())
	defer srv.Close()

	// The dispatcher runs as `serve` runs it, ticking through the outbox.
	box, err := outbox.New(filepath.Join(b.TempDir(), "outbox.jsonl"), nil)
	if err != nil {
		b.Fatal(err)
	}
	d := &dispatch.Dispatcher{Store: db, Owner: "bench/1", Concurrency: 4, Routes: map[aftercare.Channel]dispatch.Route{
		aftercare.SMS: {Name: "outbox", Sender: box}, aftercare.Email: {Name: "outbox", Sender: box}}}
	dctx, stop := context.WithCancel(ctx)
	var sent atomic.Int64
	var dwg sync.WaitGroup
	dwg.Add(1)
	go func() {
		defer dwg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			n, err := d.Tick(dctx)
			if err != nil && dctx.Err() == nil {
				b.Errorf("dispatch tick: %v", err)
			}
			sent.Add(int64(n))
			select {
			case <-dctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	const clients = 50
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failures []string
	treated := time.Now().UTC().Add(-30 * time.Minute).Format(time.RFC3339)
	// A patient zone where it is daytime now, so that the first messages
	// are due at once and the dispatcher has work while clients enroll.
	zone := "UTC"
	for _, z := range []string{"America/New_York", "Europe/London", "Asia/Kolkata", "Asia/Tokyo", "Australia/Sydney", "America/Los_Angeles", "Pacific/Honolulu"} {
		loc, _ := time.LoadLocation(z)
		if h := time.Now().In(loc).Hour(); h >= 10 && h < 19 {
			zone = z
			break
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					break
				}
				body, _ := json.Marshal(map[string]any{
					"name": fmt.Sprintf("Load Patient %d", i), "phone": fmt.Sprintf("+1 415 %03d %04d", 200+i/10000%800, i%10000),
					"email": fmt.Sprintf("load%d@example.com", i), "tz": zone, "lang": "en",
					"protocol": "microneedling", "treated_at": treated, "sms_consent": true, "email_consent": true,
				})
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/enrollments", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mine = append(mine, time.Since(t0))
				if resp.StatusCode != http.StatusCreated || strings.Contains(string(out), "locked") || strings.Contains(string(out), "BUSY") {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, out))
					mu.Unlock()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	dwg.Wait()
	if len(failures) > 0 {
		b.Fatalf("%d of %d requests failed; first: %s", len(failures), b.N, failures[0])
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "enrollments/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(sent.Load()), "dispatched")
}
