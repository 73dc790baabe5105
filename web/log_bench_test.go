package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver store/sqlite uses, for the bulk inserts

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/store/sqlite/sqlitetest"
	"github.com/aftercare/aftercare/web"
)

// BenchmarkLogPage times GET /log through the real handler (session
// cookie, auth middleware, store, template) on a SQLite file holding a
// million messages of the clinic (and 50,000 of another), and reports the
// median and 95th percentile per request:
//
//	go test ./web -run '^$' -bench BenchmarkLogPage -benchtime 200x
//
// The file takes a minute to build the first time; it is cached under
// os.TempDir() (aftercare-logbench-*.db), keyed by the schema the
// migrations make and by logBenchGenerator, and every run works on its own
// copy.
func BenchmarkLogPage(b *testing.B) {
	env := newLogBench(b)
	cases := []struct{ name, path string }{
		{"FirstPage", "/log"},
		{"FirstPageAllTime", "/log?since=&until="},
		{"DeepPage", "/log?since=&until=&after=" + url.QueryEscape(env.deepCursor)},
		{"State", "/log?since=&until=&state=failed"},
		{"StateDeep", "/log?since=&until=&state=failed&after=" + url.QueryEscape(env.deepCursor)},
		{"ChannelDays", "/log?since=2026-10-01&until=2026-10-07&channel=email"},
		{"RareState", "/log?since=&until=&state=unknown"},
		{"EmptyState", "/log?since=&until=&state=sending"},
		{"Patient", fmt.Sprintf("/log?since=&until=&patient=%d", env.patientID)},
		{"Protocol", "/log?since=2026-10-01&until=2026-10-07&protocol=microneedling"},
		{"Attention", "/attention"},
		{"Stats", "/stats"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			env.measure(b, c.path)
		})
	}
}

// logBenchGenerator changes whenever the rows the benchmark builds change,
// so that a stale cached file is not used.
const logBenchGenerator = 1

// The benchmark's database: clinic "main" with logBenchPatients patients,
// each enrolled once on microneedling, with logBenchPerEnrollment messages
// each; the enrollments' treatment times are spread over the year before
// logBenchNow.
const (
	logBenchPatients      = 20_000
	logBenchPerEnrollment = 50 // 1,000,000 messages
	logBenchOtherPatients = 1_000
)

var logBenchNow = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

type logBench struct {
	handler    http.Handler
	cookie     string
	deepCursor string // the "after" of a page in the middle of the whole log
	patientID  int64
}

func newLogBench(b *testing.B) *logBench {
	b.Helper()
	ctx := context.Background()
	path := logBenchFile(b)
	now := func() time.Time { return logBenchNow }
	db, err := sqlite.Open(ctx, path, sqlite.WithNow(now))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	srv := &web.Server{Store: db, Service: scheduler.NewService(db, now), Now: now}
	env := &logBench{handler: srv.Handler()}

	main, err := db.FindClinic(ctx, "main")
	if err != nil {
		b.Fatal(err)
	}
	hash, err := (&accounts.Service{PasswordCost: 4}).HashPassword("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	u := &aftercare.User{ClinicID: main.ID, Email: "manager@bench.example", Name: "Bench Manager", Role: aftercare.RoleManager, PasswordHash: hash}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	form := url.Values{"email": {u.Email}, "password": {"correct horse battery"}}
	req := httptest.NewRequest("POST", "/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	env.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == web.SessionCookie {
			env.cookie = c.Name + "=" + c.Value
		}
	}
	if env.cookie == "" {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}

	// A cursor from the middle of the log: the next page of a day half
	// way through the year.
	body := env.get(b, "/log?since=2026-05-25&until=")
	m := mgrNextRE.FindStringSubmatch(body)
	if m == nil {
		b.Fatal("no next page in the middle of the log")
	}
	next, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.Fatal(err)
	}
	env.deepCursor = next.Query().Get("after")
	env.patientID = logBenchPatients / 2
	return env
}

// get fetches path through the handler and fails unless it is 200.
func (e *logBench) get(b *testing.B, path string) string {
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Cookie", e.cookie)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s: %d\n%.2000s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// measure times GET path, one request per iteration, and reports the
// median and the 95th percentile in milliseconds.
func (e *logBench) measure(b *testing.B, path string) {
	body := e.get(b, path) // warm the page cache and check the page
	if !strings.Contains(body, "<table") {
		b.Fatalf("GET %s: no table", path)
	}
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Cookie", e.cookie)
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		times = append(times, time.Since(start))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, rec.Code)
		}
	}
	slices.Sort(times)
	pct := func(p float64) float64 {
		i := min(len(times)-1, int(float64(len(times))*p))
		return float64(times[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(float64(len(mgrIDs(body))), "rows")
}

// logBenchFile returns a new copy of the benchmark's database, building
// and caching it first if needed.
func logBenchFile(b *testing.B) string {
	b.Helper()
	name := fmt.Sprintf("logbench-g%d-%d", logBenchGenerator, logBenchPatients*logBenchPerEnrollment)
	return sqlitetest.Cached(b, name, nil, buildLogBench)
}

// Bulk inserts, in the store's time format (strftime '%Y-%m-%dT%H:%M:%fZ').
// ?1 is logBenchNow in Unix seconds.
const (
	logBenchInsertPatients = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?2)
INSERT INTO patients (clinic_id, match_key, name, phone, email, tz, lang, sms_consent_at, sms_consent_source,
	email_consent_at, email_consent_source, created_at, updated_at)
SELECT ?3, 'bench:' || ?3 || ':' || i, 'Patient ' || i || ' ' || substr('AdamsBakerClarkDavisEvansFlynnGrantHayes', 1 + (i % 8) * 5, 5),
	printf('+1415%07d', i), 'patient' || i || '@example.com', 'America/Los_Angeles', 'en', ?4, 'bench', ?4, 'bench', ?4, ?4 FROM n`
	// One enrollment per patient, treated at a time spread over the year
	// before now (patient i of n at now - 365 days + i/n of a year).
	logBenchInsertEnrollments = `INSERT INTO enrollments (clinic_id, patient_id, protocol_id, treated_at, status, idem_key, source, created_at, updated_at)
SELECT clinic_id, id, ?2, strftime('%Y-%m-%dT%H:%M:%fZ', ?1 - 365 * 86400 + (id % ?4) * (365.0 * 86400 / ?4), 'unixepoch'),
	'active', 'bench/' || id, 'bench', created_at, created_at FROM patients WHERE clinic_id = ?3`
	// Message k of each enrollment: step k/2 on SMS (even k) or email (odd),
	// due at the treatment time plus k/2 half-days and some minutes. Due
	// messages get an outcome by a hash of their id (delivered 80%, sent 6%,
	// skipped 4%, failed 3%, cancelled 2.5%, undelivered 2%, expired 2%,
	// unknown 0.5%); later ones are pending.
	logBenchInsertMessages = `WITH RECURSIVE k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < ?3 - 1),
m AS (SELECT e.clinic_id, e.id AS enrollment_id, e.patient_id, k.k,
	unixepoch(e.treated_at) + (k.k / 2) * 43200 + (k.k % 2) * 60 + (e.id % 7) * 60 AS at,
	((e.id * 50 + k.k) * 2654435761) % 1000 AS h
	FROM enrollments e, k WHERE e.clinic_id = ?2),
s AS (SELECT *, CASE WHEN at > ?1 THEN 'pending'
	WHEN h < 800 THEN 'delivered' WHEN h < 860 THEN 'sent' WHEN h < 900 THEN 'skipped' WHEN h < 930 THEN 'failed'
	WHEN h < 955 THEN 'cancelled' WHEN h < 975 THEN 'undelivered' WHEN h < 995 THEN 'expired' ELSE 'unknown' END AS status FROM m)
INSERT INTO messages (clinic_id, enrollment_id, patient_id, step_key, occurrence, channel, lang, status,
	send_at, expires_at, note, body, segments, attempts, next_attempt_at, sent_at, delivered_at, sender, provider_id,
	provider_status, error_code, error, created_at, updated_at)
SELECT clinic_id, enrollment_id, patient_id, 'step-' || (k / 2), 0, CASE k % 2 WHEN 0 THEN 'sms' ELSE 'email' END, 'en', status,
	strftime('%Y-%m-%dT%H:%M:%fZ', at, 'unixepoch'), strftime('%Y-%m-%dT%H:%M:%fZ', at + 43200, 'unixepoch'),
	CASE status WHEN 'skipped' THEN 'no consent for this channel' ELSE '' END,
	'Glow Skin Studio: Hi Pat, a reminder from your care team about your treatment. Keep the area clean, use SPF 30+ and call +1 415-555-0199 with any questions.',
	1, CASE WHEN status IN ('pending', 'skipped', 'cancelled', 'expired') THEN 0 ELSE 1 END,
	CASE status WHEN 'pending' THEN strftime('%Y-%m-%dT%H:%M:%fZ', at, 'unixepoch') END,
	CASE WHEN status IN ('delivered', 'sent', 'undelivered') THEN strftime('%Y-%m-%dT%H:%M:%fZ', at + 2, 'unixepoch') END,
	CASE status WHEN 'delivered' THEN strftime('%Y-%m-%dT%H:%M:%fZ', at + 9, 'unixepoch') END,
	CASE WHEN status IN ('pending', 'skipped', 'cancelled', 'expired') THEN '' WHEN k % 2 = 0 THEN 'twilio' ELSE 'smtp' END,
	CASE WHEN status IN ('delivered', 'sent', 'undelivered') THEN printf('SM%032x', enrollment_id * 64 + k) ELSE '' END,
	CASE WHEN status IN ('delivered', 'sent', 'undelivered') THEN status ELSE '' END,
	CASE status WHEN 'failed' THEN '21211' WHEN 'undelivered' THEN '30003' ELSE '' END,
	CASE status WHEN 'failed' THEN 'The ''To'' number is not a valid phone number.' WHEN 'undelivered' THEN 'Unreachable destination handset' ELSE '' END,
	?4, strftime('%Y-%m-%dT%H:%M:%fZ', at, 'unixepoch')
FROM s ORDER BY enrollment_id, k`
)

// buildLogBench writes the benchmark's database at path: schema, clinics
// and protocols through the store and the scheduler, the rows with bulk SQL.
func buildLogBench(path string) error {
	ctx := context.Background()
	created := logBenchNow.Add(-400 * 24 * time.Hour)
	db, err := sqlite.Open(ctx, path, sqlite.WithNow(func() time.Time { return created }))
	if err != nil {
		return err
	}
	svc := scheduler.NewService(db, func() time.Time { return created })
	if err := svc.Bootstrap(ctx, scheduler.ClinicDefaults{Slug: "main", Name: "Glow Skin Studio", Phone: "+14155550199", TZ: "America/Los_Angeles"}); err != nil {
		db.Close()
		return err
	}
	other, err := svc.AddClinic(ctx, scheduler.ClinicDefaults{Slug: "other", Name: "Other Clinic", Phone: "+14155550177", TZ: "America/New_York"}, false)
	if err != nil {
		db.Close()
		return err
	}
	main, err := db.FindClinic(ctx, "main")
	if err != nil {
		db.Close()
		return err
	}
	protocolID := map[int64]int64{}
	for _, c := range []*aftercare.Clinic{main, other} {
		p, err := db.FindProtocol(ctx, c.ID, "microneedling", 0)
		if err != nil {
			db.Close()
			return err
		}
		protocolID[c.ID] = p.ID
	}
	if err := db.Close(); err != nil {
		return err
	}

	stamp := created.Format("2006-01-02T15:04:05.000Z")
	return sqlitetest.BulkLoad(ctx, path, func(tx *sql.Tx) error {
		for _, c := range []struct {
			clinic   *aftercare.Clinic
			patients int
		}{{main, logBenchPatients}, {other, logBenchOtherPatients}} {
			if _, err := tx.ExecContext(ctx, logBenchInsertPatients, logBenchNow.Unix(), c.patients, c.clinic.ID, stamp); err != nil {
				return fmt.Errorf("patients: %w", err)
			}
			if _, err := tx.ExecContext(ctx, logBenchInsertEnrollments, logBenchNow.Unix(), protocolID[c.clinic.ID], c.clinic.ID, c.patients); err != nil {
				return fmt.Errorf("enrollments: %w", err)
			}
			if _, err := tx.ExecContext(ctx, logBenchInsertMessages, logBenchNow.Unix(), c.clinic.ID, logBenchPerEnrollment, stamp); err != nil {
				return fmt.Errorf("messages: %w", err)
			}
		}
		return nil
	})
}
