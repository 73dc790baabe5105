package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/postgres"
	"github.com/aftercare/aftercare/store/postgres/pgtest"
	"github.com/aftercare/aftercare/store/storetest"
)

// TestCopyDB copies a real SQLite file with an enrolled patient (most of
// whose messages SQLite keeps on the enrollment) into a fresh PostgreSQL
// schema, and reads the same patient and messages back from PostgreSQL;
// new rows there get new ids; a second copy is refused.
func TestCopyDB(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--email", "ana@example.com",
		"--tz", "America/Los_Angeles", "--protocol", "microneedling", "--treated-at", "2026-11-22T09:00", "--sms-consent", "--email-consent")
	// Rows of the accounts' tables too: a user (with a sign-in link) and a
	// revoked token (times set and NULL).
	mustCLI(t, db, "user", "add", "ana@glowskin.example", "--role", "manager", "--name", "Ana Ruiz")
	mustCLI(t, db, "token", "create", "--role", "manager", "--name", "Delivery reports")
	mustCLI(t, db, "token", "revoke", "1")
	src := openTestStore(t, db)
	clinic, err := src.FindClinic(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	wantMsgs, err := src.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID, PatientID: 1})
	if err != nil || len(wantMsgs) < 10 {
		t.Fatalf("the SQLite patient's messages: %d, %v", len(wantMsgs), err)
	}
	// The clinic's log lists rows only: most messages are kept on the
	// enrollment, and stay kept in PostgreSQL.
	logRows, err := src.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID})
	if err != nil || len(logRows) >= len(wantMsgs) {
		t.Fatalf("SQLite has %d message rows of %d messages (%v): want some kept on the enrollment", len(logRows), len(wantMsgs), err)
	}
	wantPatient, err := src.FindPatient(ctx, clinic.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	wantProtocols, err := src.ListProtocols(ctx, clinic.ID)
	if err != nil {
		t.Fatal(err)
	}

	to := pgtest.URL(t)
	var got struct {
		To     string                `json:"to"`
		Tables []postgres.TableCount `json:"tables"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, db, "copy-db", "--to", to, "--json")), &got); err != nil {
		t.Fatal(err)
	}
	rows := map[string]int64{}
	for _, tc := range got.Tables {
		rows[tc.Table] = tc.Rows
	}
	for table, want := range map[string]int64{"clinics": 1, "patients": 1, "enrollments": 1, "messages": int64(len(logRows)),
		"consent_events": 2, "users": 1, "signin_links": 1, "tokens": 1} {
		if rows[table] != want {
			t.Errorf("copy-db copied %d rows of %s, want %d (all: %v)", rows[table], table, want, got.Tables)
		}
	}

	dst, err := postgres.Open(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	gotMsgs, err := dst.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID, PatientID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMsgs, wantMsgs) {
		t.Errorf("messages on PostgreSQL differ from SQLite's:\n got %d: %+v\nwant %d: %+v", len(gotMsgs), gotMsgs[0], len(wantMsgs), wantMsgs[0])
	}
	if p, err := dst.FindPatient(ctx, clinic.ID, 1); err != nil || !reflect.DeepEqual(p, wantPatient) {
		t.Errorf("patient on PostgreSQL: %+v %v\nwant %+v", p, err, wantPatient)
	}
	if ps, err := dst.ListProtocols(ctx, clinic.ID); err != nil || !reflect.DeepEqual(ps, wantProtocols) {
		t.Errorf("protocols on PostgreSQL: %d %v, want %d", len(ps), err, len(wantProtocols))
	}

	// The sequences start after the copied ids.
	c2 := storetest.Clinic("second")
	if err := dst.CreateClinic(ctx, c2); err != nil || c2.ID != clinic.ID+1 {
		t.Errorf("a new clinic after the copy: id %d, %v; want %d", c2.ID, err, clinic.ID+1)
	}
	ne := storetest.Enrollment(clinic.ID, wantProtocols[0].ID, 7, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), 3)
	if _, err := dst.Enroll(ctx, ne); err != nil {
		t.Fatal(err)
	}
	maxID := wantMsgs[0].ID
	for _, m := range wantMsgs {
		maxID = max(maxID, m.ID)
	}
	if ne.Patient.ID != 2 || ne.Messages[0].ID <= maxID {
		t.Errorf("after the copy, a new patient got id %d (want 2) and a new message %d (want > %d)", ne.Patient.ID, ne.Messages[0].ID, maxID)
	}

	// The kept messages become rows on PostgreSQL with their own ids, as
	// their times come: a claim at the last one's time thaws them all.
	last := wantMsgs[0].SendAt
	for _, m := range wantMsgs {
		last = maxTime(last, m.SendAt)
	}
	if _, err := dst.ClaimDue(ctx, last, "copy-test/1", 1000); err != nil {
		t.Fatalf("claiming after the copy: %v", err)
	}
	if all, err := dst.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinic.ID}); err != nil || len(all) != len(wantMsgs)+len(ne.Messages) {
		t.Errorf("after a claim at the last message's time PostgreSQL has %d message rows (%v), want %d: the copied ones and the new enrollment's",
			len(all), err, len(wantMsgs)+len(ne.Messages))
	}

	_, _, err = cli(t, db, "", "copy-db", "--to", to)
	wantErr(t, "copy-db into a database with rows", err, aftercare.ECONFLICT, "not empty")
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// TestCopyDBErrors: what copy-db refuses before it copies anything.
func TestCopyDBErrors(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	_, _, err := cli(t, db, "", "copy-db")
	wantErr(t, "copy-db without --to", err, usageCode, "--to")
	_, _, err = cli(t, db, "", "copy-db", "--to", "other.db")
	wantErr(t, "copy-db --to a file", err, aftercare.EINVALID, "PostgreSQL URL")
	missing := filepath.Join(t.TempDir(), "none.db")
	_, _, err = cli(t, missing, "", "copy-db", "--to", "postgres://127.0.0.1:1/x")
	wantErr(t, "copy-db from a file that does not exist", err, aftercare.EINVALID, "no SQLite file")
}

// TestCopyDBRefusesWhileServing: a SQLite file with a live claim lease (a
// serve running on it) is not copied, and PostgreSQL is left empty; with
// --force (a serve that died) it is.
func TestCopyDBRefusesWhileServing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := madeDB(t)
	to := pgtest.URL(t)
	st := openTestStore(t, db)
	if err := st.RenewLease(ctx, "serve-1", fixedNow, fixedNow.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	_, _, err := cli(t, db, "", "copy-db", "--to", to)
	wantErr(t, "copy-db while a serve runs", err, aftercare.ECONFLICT, "a serve is running", "serve-1", "--force")
	wantNoClinic(t, to)
	if out := mustCLI(t, db, "copy-db", "--to", to, "--force"); !strings.Contains(out, "clinics") {
		t.Errorf("copy-db --force:\n%s", out)
	}
}

// TestCopyDBDamagedPlan: an enrollment whose kept messages do not read (a
// damaged planned column) stops the copy with the enrollment named, and
// PostgreSQL is left empty: a claim there would fail on it later.
func TestCopyDBDamagedPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newDB(t)
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--tz", "America/Los_Angeles",
		"--protocol", "microneedling", "--treated-at", "2026-11-22T09:00", "--sms-consent")
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	res, err := raw.ExecContext(ctx, `UPDATE enrollments SET planned = x'01ff' WHERE planned IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("damaging the planned column: %d rows, want the one enrollment's", n)
	}
	raw.Close()

	to := pgtest.URL(t)
	_, _, err = cli(t, db, "", "copy-db", "--to", to)
	wantErr(t, "copy-db of a damaged plan", err, aftercare.EINVALID, "enrollment 1", "do not read", "nothing was copied")
	wantNoClinic(t, to)
}

// wantNoClinic fails t unless the PostgreSQL database at url has no
// clinic: a refused copy left it empty.
func wantNoClinic(t *testing.T, url string) {
	t.Helper()
	pg, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.FindClinic(context.Background(), ""); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("PostgreSQL after the refused copy: %v, want no clinic", err)
	}
}
