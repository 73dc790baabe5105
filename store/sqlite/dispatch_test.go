package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
	"github.com/aftercare/aftercare/store/storetest"
)

// bigStats are the planner statistics (sqlite_stat1) of a database with one
// clinic, 1,000 patients and 1,000,000 pending messages, as ANALYZE with
// Open's analysis_limit wrote them (sqlitetest.Backlog{Pending: 1_000_000}).
var bigStats = [][3]string{
	{"messages", "messages_unknown", "0 0"},
	{"messages", "messages_sending", "0 0"},
	{"messages", "messages_provider", "0 0"},
	{"messages", "messages_patient", "1000000 501 1"},
	{"messages", "messages_log", "1000000 1001 1 1"},
	{"messages", "messages_due", "1000000 1"},
	{"messages", "sqlite_autoindex_messages_1", "1000000 501 501 1 1"},
	{"patients", "sqlite_autoindex_patients_2", "1000 1000 1"},
	{"patients", "sqlite_autoindex_patients_1", "1000 1000 1"},
	{"enrollments", "enrollments_protocol", "1000 1000"},
	{"enrollments", "sqlite_autoindex_enrollments_2", "1000 1000 1"},
	{"enrollments", "sqlite_autoindex_enrollments_1", "1000 1000 1"},
	{"clinics", "clinics_default", "1 1"},
	{"clinics", "sqlite_autoindex_clinics_1", "1 1"},
	{"protocols", "sqlite_autoindex_protocols_2", "1 1 1"},
	{"protocols", "sqlite_autoindex_protocols_1", "1 1 1 1"},
}

// explain returns the lines of EXPLAIN QUERY PLAN for query, run on the
// writer connection (where ClaimDue and the callbacks run).
func explain(t *testing.T, db *DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.writer.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The dispatcher's queries read only the rows they return, through their
// index, whatever the planner's statistics say: with a million pending
// messages a full scan or a sort of the backlog costs a second per tick or
// per status callback (docs/performance.md). Each plan is checked on a new
// file (no statistics) and with the statistics of a big one.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	now, sid := "2026-03-02T15:00:00.000Z", "SM00000000000000000000000000000001"
	queries := []struct {
		name  string
		query string
		args  []any
		// first is the plan's first line: how messages are read.
		first string
	}{
		{"ClaimDue", selectDue, []any{now, 32}, "SEARCH m USING INDEX messages_due (next_attempt_at<?)"},
		{"ListUnknown", selectUnknown, []any{now, now, 7, 200}, "SEARCH m USING INDEX messages_unknown (claimed_at>?)"},
		{"MarkUnknown", abandonedClaims, []any{now, now}, "SCAN m USING INDEX messages_sending"},
		{"GiveUpUnknown", giveUpUnknown, []any{"note", now, now}, "SEARCH messages USING INDEX messages_unknown (claimed_at<?)"},
		{"ApplyProviderStatus", messageByProvider, []any{sid}, "SEARCH messages USING INDEX messages_provider (provider_id=?)"},
		{"KeptReport", keptReport, []any{sid}, "SEARCH provider_reports USING PRIMARY KEY (provider_id=?)"},
		// ClaimDue's thaw (plan.go): enrollments keeping a message due
		// soon, in planned_next order, read through the partial index
		// (IS NOT NULL is planned_next>NULL).
		{"ThawDue", ownersDue, []any{now, plan.MaxThawPerClaim}, "SEARCH e USING INDEX enrollments_planned (planned_next>? AND planned_next<?)"},
	}
	check := func(t *testing.T, db *DB) {
		for _, q := range queries {
			plan := explain(t, db, q.query, q.args...)
			if len(plan) == 0 || plan[0] != q.first {
				t.Errorf("%s: plan %q, want it to start %q", q.name, plan, q.first)
				continue
			}
			for _, line := range plan[1:] {
				if strings.Contains(line, "TEMP B-TREE") || strings.HasPrefix(line, "SCAN m") || strings.HasPrefix(line, "SCAN e") ||
					strings.Contains(line, "messages_log") {
					t.Errorf("%s: plan %q sorts or scans messages", q.name, plan)
				}
			}
		}
	}

	t.Run("NoStatistics", func(t *testing.T) {
		t.Parallel()
		check(t, openTest(t))
	})
	t.Run("MillionPending", func(t *testing.T) {
		t.Parallel()
		db := openTest(t)
		ctx := context.Background()
		if _, err := db.writer.ExecContext(ctx, `ANALYZE; DELETE FROM sqlite_stat1`); err != nil {
			t.Fatal(err)
		}
		for _, s := range bigStats {
			if _, err := db.writer.ExecContext(ctx, `INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)`, s[0], s[1], s[2]); err != nil {
				t.Fatal(err)
			}
		}
		// Makes the connection load the statistics just written.
		if _, err := db.writer.ExecContext(ctx, `ANALYZE sqlite_schema`); err != nil {
			t.Fatal(err)
		}
		check(t, db)
	})
}

// Kept provider reports are deleted once applied, and a week after they
// came when no message ever gets their id.
func TestKeptReportsForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	c, p := setup(t, db)
	if _, err := db.Enroll(ctx, storetest.Enrollment(c.ID, p.ID, 1, t0, 1)); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(13 * time.Hour)
	claimed, err := db.ClaimDue(ctx, now, "test/1", 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %d: %v", len(claimed), err)
	}
	for _, sid := range []string{"SMa", "SMb"} {
		if _, err := db.ApplyProviderStatus(ctx, sid, aftercare.StatusDelivered, "", now); err != nil {
			t.Fatal(err)
		}
	}
	m := claimed[0].Message
	if err := db.RecordOutcome(ctx, &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: "test/1",
		Status: aftercare.StatusSent, SentAt: now, ProviderID: "SMa", Attempt: aftercare.Attempt{Number: 1, At: now, Channel: m.Channel, Outcome: aftercare.StatusSent}}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "provider_reports"); n != 1 {
		t.Errorf("%d reports kept after one was applied, want 1", n)
	}
	if _, err := db.ApplyProviderStatus(ctx, "SMc", aftercare.StatusSent, "", now.Add(earlyReportTTL+time.Second)); err != nil {
		t.Fatal(err)
	}
	var kept string
	if err := db.reader.GetContext(ctx, &kept, `SELECT group_concat(provider_id) FROM provider_reports`); err != nil || kept != "SMc" {
		t.Errorf("kept %q (%v) a week later, want only the new SMc", kept, err)
	}
}
