package sqlite

import (
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
	"github.com/aftercare/aftercare/store/storetest"
)

// A file written before migration 0003 (messages holding their own text)
// keeps every text when it is migrated, whether 0003 comes right after 0002
// or after the later migrations; ListMessages, ClaimDue and Reschedule
// then work on those messages as on new ones.
func TestMigrationKeepsTexts(t *testing.T) {
	t.Parallel()
	// Rows as the schema of 0001 holds them, written with plain SQL.
	const old = `
INSERT INTO clinics (id, slug, name, country, tz, window_start, window_end, daily_cap, created_at, updated_at)
	VALUES (1, 'a', 'Clinic a', 'US', 'America/New_York', 480, 1260, 3, '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z');
INSERT INTO protocols (id, clinic_id, slug, version, name, source, yaml, sha256, created_at)
	VALUES (1, 1, 'botox', 1, 'Botox', 'clinic', 'slug: botox', 'x', '2026-03-01T00:00:00.000Z');
INSERT INTO patients (id, clinic_id, match_key, name, phone, email, tz, lang, sms_consent_at, email_consent_at, created_at, updated_at)
	VALUES (1, 1, 'ana|+14155550100|ana@example.com', 'Ana', '+14155550100', 'ana@example.com', 'America/New_York', 'en',
	'2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z');
INSERT INTO enrollments (id, clinic_id, patient_id, protocol_id, treated_at, status, idem_key, created_at, updated_at)
	VALUES (1, 1, 1, 1, '2026-03-02T15:00:00.000Z', 'active', 'k1', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z');
INSERT INTO messages (id, clinic_id, enrollment_id, patient_id, step_key, channel, status, send_at, subject, body, next_attempt_at, created_at, updated_at)
	VALUES (1, 1, 1, 1, 'welcome', 'email', 'pending', '2026-03-02T15:10:00.000Z', 'Welcome', 'Hello Ana.', '2026-03-02T15:10:00.000Z',
	'2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z'),
	(2, 1, 1, 1, 'tips', 'sms', 'pending', '2026-03-03T15:00:00.000Z', '', 'Tips for day 1.', '2026-03-03T15:00:00.000Z',
	'2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z');`
	before := func(t *testing.T, skip func(name string) bool) fs.FS {
		t.Helper()
		m := fstest.MapFS{}
		names, err := fs.Glob(embedded, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if skip(name) {
				continue
			}
			b, err := fs.ReadFile(embedded, name)
			if err != nil {
				t.Fatal(err)
			}
			m[name] = &fstest.MapFile{Data: b}
		}
		return m
	}
	for _, c := range []struct {
		name string
		skip func(name string) bool
	}{
		{"After0002", func(name string) bool { return name >= "0003" }},
		{"AfterLater", func(name string) bool { return strings.HasPrefix(name, "0003") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "old.db")
			db, err := Open(ctx, path, WithNow(newClock(t0).Now), withMigrations(before(t, c.skip)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.writer.ExecContext(ctx, old); err != nil {
				t.Fatal(err)
			}
			db.Close()

			db, err = Open(ctx, path, WithNow(newClock(t0).Now))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ms, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 2 || ms[0].Subject != "Welcome" || ms[0].Body != "Hello Ana." || ms[1].Body != "Tips for day 1." {
				t.Fatalf("messages after the migration: %+v", ms)
			}

			claimed, err := db.ClaimDue(ctx, time.Date(2026, 3, 2, 15, 11, 0, 0, time.UTC), "test/1", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(claimed) != 1 || claimed[0].Message.Body != "Hello Ana." || claimed[0].Message.Subject != "Welcome" {
				t.Fatalf("claimed %+v, want the welcome email with its text", claimed)
			}

			// Rescheduling gives the pending message a text of its own.
			e, err := db.FindEnrollment(ctx, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			e.TreatedAt, e.Key = e.TreatedAt.Add(time.Hour), "k2"
			tips := &aftercare.Message{StepKey: "tips", Channel: aftercare.SMS, Status: aftercare.StatusPending,
				SendAt: time.Date(2026, 3, 3, 16, 0, 0, 0, time.UTC), Body: "Tips for day 1, an hour later."}
			if err := db.Reschedule(ctx, e, []*aftercare.Message{tips}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			ms, err = db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: 1, EnrollmentID: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 2 || ms[1].Body != "Tips for day 1, an hour later." || ms[0].Body != "Hello Ana." {
				t.Fatalf("messages after Reschedule: %+v", ms)
			}
			var inline string
			if err := db.reader.GetContext(ctx, &inline, `SELECT body FROM messages WHERE id = 2`); err != nil {
				t.Fatal(err)
			}
			if inline != "" {
				t.Fatalf("the rescheduled message still holds its old text %q itself", inline)
			}
		})
	}
}

// A batch stores each distinct text once; a message's text is read back
// whatever the other messages of the batch hold.
func TestEnrollBatchStoresTextsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	var batch []*aftercare.NewEnrollment
	for i := range 10 {
		batch = append(batch, storetest.Enrollment(c.ID, p.ID, i, t0, 6)) // the same SMS and email texts
	}
	batch[3].Messages[4].Body = "another text"
	if _, err := db.EnrollBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "message_texts"); n != 3 {
		t.Fatalf("%d texts stored for 60 messages with 3 distinct texts, want 3", n)
	}
	for _, ne := range batch {
		ms, err := db.ListMessages(ctx, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID})
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			if m.Body != ne.Messages[i].Body || m.Subject != ne.Messages[i].Subject {
				t.Fatalf("message %s: text %q %q, want %q %q", m.Ident(), m.Subject, m.Body, ne.Messages[i].Subject, ne.Messages[i].Body)
			}
		}
	}
	var orphans int
	if err := db.reader.GetContext(ctx, &orphans, `SELECT COUNT(*) FROM message_texts t
		WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.text_id = t.id)
		AND t.id NOT IN (SELECT value FROM json_each(?))`, keptTextIDs(t, db)); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Fatalf("%d texts no message refers to", orphans)
	}
}

// keptTextIDs returns, as a JSON array, the text ids of the messages kept
// on enrollments (plan.go).
func keptTextIDs(t *testing.T, db *DB) string {
	t.Helper()
	var blobs [][]byte
	if err := db.reader.Select(&blobs, `SELECT planned FROM enrollments WHERE planned IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, b := range blobs {
		ks, err := plan.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ks {
			ids = append(ids, k.TextID)
		}
	}
	j, _ := json.Marshal(ids)
	return string(j)
}
