package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
	"github.com/aftercare/aftercare/store/storetest"
)

// planClock is a test clock that stands still until it is set.
type planClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *planClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *planClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// openPlanned opens a database whose clock stands at t0 until set, with a
// clinic and a protocol.
func openPlanned(t *testing.T) (*DB, *planClock, *aftercare.Clinic, *aftercare.Protocol) {
	t.Helper()
	clk := &planClock{t: t0}
	db := openTest(t, WithNow(clk.Now))
	c, p := setup(t, db)
	return db, clk, c, p
}

// openPlannedAnHourIn is openPlanned with the clock set an hour after t0,
// the moment most of these tests enroll at.
func openPlannedAnHourIn(t *testing.T) (*DB, *planClock, *aftercare.Clinic, *aftercare.Protocol, time.Time) {
	t.Helper()
	db, clk, c, p := openPlanned(t)
	now := t0.Add(time.Hour)
	clk.set(now)
	return db, clk, c, p, now
}

// mustEnroll enrolls ne, failing the test on an error.
func mustEnroll(t *testing.T, db *DB, ne *aftercare.NewEnrollment) {
	t.Helper()
	if _, err := db.Enroll(context.Background(), ne); err != nil {
		t.Fatal(err)
	}
}

// movedAnHour is a fresh plan of ms (no ids, pending), each an hour later:
// what Reschedule is given when a treatment moves by an hour.
func movedAnHour(ms []*aftercare.Message) []*aftercare.Message {
	plan := make([]*aftercare.Message, 0, len(ms))
	for _, m := range ms {
		plan = append(plan, &aftercare.Message{StepKey: m.StepKey, Channel: m.Channel, Lang: m.Lang, Status: aftercare.StatusPending,
			SendAt: m.SendAt.Add(time.Hour), ExpiresAt: m.ExpiresAt.Add(time.Hour), Subject: m.Subject, Body: m.Body, Segments: m.Segments})
	}
	return plan
}

// msgString shows every field of m, times in UTC.
func msgString(m *aftercare.Message) string {
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("id=%d clinic=%d enrollment=%d patient=%d %s#%d/%s lang=%q status=%s send=%s expires=%s "+
		"note=%q subject=%q body=%q segments=%d attempts=%d next=%s claimed=%s/%q sent=%s delivered=%s "+
		"sender=%q provider=%q/%q error=%q/%q created=%s updated=%s",
		m.ID, m.ClinicID, m.EnrollmentID, m.PatientID, m.StepKey, m.Occurrence, m.Channel, m.Lang, m.Status,
		tm(m.SendAt), tm(m.ExpiresAt), m.Note, m.Subject, m.Body, m.Segments, m.Attempts, tm(m.NextAttemptAt),
		tm(m.ClaimedAt), m.ClaimedBy, tm(m.SentAt), tm(m.DeliveredAt), m.Sender, m.ProviderID, m.ProviderState,
		m.ErrorCode, m.Error, tm(m.CreatedAt), tm(m.UpdatedAt))
}

func diffMessages(t *testing.T, what string, got, want []*aftercare.Message) {
	t.Helper()
	gs, ws := make([]string, len(got)), make([]string, len(want))
	for i, m := range got {
		gs[i] = msgString(m)
	}
	for i, m := range want {
		ws[i] = msgString(m)
	}
	if slices.Equal(gs, ws) {
		return
	}
	t.Errorf("%s: got %d messages, want %d", what, len(got), len(want))
	for i := range max(len(gs), len(ws)) {
		var g, w string
		if i < len(gs) {
			g = gs[i]
		}
		if i < len(ws) {
			w = ws[i]
		}
		if g != w {
			t.Errorf("  [%d] got  %s\n       want %s", i, g, w)
		}
	}
}

func listMsgs(t *testing.T, db *DB, f aftercare.MessageFilter) []*aftercare.Message {
	t.Helper()
	ms, err := db.ListMessages(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func ids(ms []*aftercare.Message) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// rowIDs returns the ids of the messages rows matching where, in id order.
func rowIDs(t *testing.T, db *DB, where string, args ...any) []int64 {
	t.Helper()
	out := []int64{}
	if err := db.reader.SelectContext(context.Background(), &out, `SELECT id FROM messages WHERE `+where+` ORDER BY id`, args...); err != nil {
		t.Fatal(err)
	}
	return out
}

// plannedOf returns an enrollment's planned and planned_next columns.
func plannedOf(t *testing.T, db *DB, enrollmentID int64) ([]byte, sql.NullString) {
	t.Helper()
	var planned []byte
	var next sql.NullString
	err := db.reader.QueryRowContext(context.Background(), `SELECT planned, planned_next FROM enrollments WHERE id = ?`, enrollmentID).
		Scan(&planned, &next)
	if err != nil {
		t.Fatal(err)
	}
	return planned, next
}

// boundary enrolls, at now, one patient with three messages due just before
// Horizon (a row), at Horizon (kept) and ten days later (kept).
func boundary(t *testing.T) (db *DB, clk *planClock, c *aftercare.Clinic, ne *aftercare.NewEnrollment, now time.Time) {
	t.Helper()
	db, clk, c, p := openPlanned(t)
	now = t0.Add(time.Hour + 250*time.Millisecond)
	clk.set(now)
	ne = storetest.Enrollment(c.ID, p.ID, 1, now, 3)
	ms := ne.Messages
	ms[0].SendAt, ms[0].ExpiresAt = now.Add(Horizon-time.Millisecond), now.Add(Horizon+2*time.Hour)
	ms[0].Note = "déplacé — fermeture 🎄"
	ms[1].SendAt, ms[1].ExpiresAt, ms[1].Lang = now.Add(Horizon), time.Time{}, "es"
	ms[2].SendAt = now.Add(10*24*time.Hour + 123*time.Millisecond)
	ms[2].ExpiresAt, ms[2].Note, ms[2].Segments, ms[2].Lang = ms[2].SendAt.Add(48*time.Hour+7*time.Millisecond), "", 3, "pt-BR"
	ms[2].Body = "Olá {{name}}: protetor solar hoje ☀️"
	if ms[0].Channel != aftercare.SMS || ms[1].Channel != aftercare.Email || ms[2].Channel != aftercare.SMS {
		t.Fatalf("the fixture's channels changed: %s %s %s", ms[0].Channel, ms[1].Channel, ms[2].Channel)
	}
	created, err := db.Enroll(context.Background(), ne)
	if err != nil || !created {
		t.Fatalf("Enroll: %v, %v", created, err)
	}
	for _, m := range ms {
		if m.ID == 0 {
			t.Fatal("Enroll left a message without an id")
		}
	}
	return db, clk, c, ne, now
}

// A message due Horizon or more after it is planned is kept on its
// enrollment; one due a millisecond sooner is a row. Lists of the
// enrollment's and the patient's messages show both, as the caller's
// structs hold them; the clinic's log shows rows.
func TestHorizonBoundary(t *testing.T) {
	t.Parallel()
	db, _, c, ne, _ := boundary(t)
	ms := ne.Messages
	e := ne.Enrollment

	if got, want := rowIDs(t, db, `1`), []int64{ms[0].ID}; !slices.Equal(got, want) {
		t.Errorf("rows of messages: %v, want %v (only the message due before Horizon)", got, want)
	}
	planned, next := plannedOf(t, db, e.ID)
	if want := formatTime(ms[1].SendAt); !next.Valid || next.String != want {
		t.Errorf("planned_next = %v, want %s", next, want)
	}
	kept, err := plan.Parse(planned)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []int64{kept[0].ID, kept[len(kept)-1].ID}, []int64{ms[1].ID, ms[2].ID}; len(kept) != 2 || !slices.Equal(got, want) {
		t.Errorf("kept %d messages %v, want ids %v", len(kept), got, want)
	}
	if ids := []int64{ms[0].ID, ms[1].ID, ms[2].ID}; ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Errorf("message ids %v are not distinct", ids)
	}

	want := slices.Clone(ms)
	slices.SortFunc(want, plan.CompareSendID)
	diffMessages(t, "the enrollment's messages", listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID}), want)
	diffMessages(t, "the patient's messages", listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, PatientID: e.PatientID}), want)
	diffMessages(t, "the patient's pending messages",
		listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, PatientID: e.PatientID, Statuses: []aftercare.Status{aftercare.StatusPending}}), want)
	diffMessages(t, "the enrollment's emails",
		listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID, Channel: aftercare.Email}), want[1:2])
	diffMessages(t, "the enrollment's sent messages",
		listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID, Statuses: []aftercare.Status{aftercare.StatusSent}}), nil)

	// Page by page, one message at a time.
	var paged []*aftercare.Message
	f := aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID, Limit: 1}
	for range 5 {
		page := listMsgs(t, db, f)
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		f.AfterSendAt, f.AfterID = page[len(page)-1].SendAt, page[len(page)-1].ID
	}
	diffMessages(t, "the enrollment's messages a page of 1 at a time", paged, want)

	// The clinic's log lists the row only.
	for _, f := range []aftercare.MessageFilter{
		{ClinicID: c.ID},
		{ClinicID: c.ID, Statuses: []aftercare.Status{aftercare.StatusPending}},
		{ClinicID: c.ID, Statuses: []aftercare.Status{aftercare.StatusPending, aftercare.StatusSent}, Limit: 10},
	} {
		if got := ids(listMsgs(t, db, f)); !slices.Equal(got, []int64{ms[0].ID}) {
			t.Errorf("the clinic's log (statuses %v): %v, want only the row %d", f.Statuses, got, ms[0].ID)
		}
	}
}

// ClaimDue makes a kept message a row once it is due within Horizon of
// the now it is given, not a millisecond sooner, with its id, text and the
// enrollment's creation time, and claims it once it is due.
func TestThawWhenDue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, c, ne, now := boundary(t)
	ms, e := ne.Messages, ne.Enrollment
	want := slices.Clone(ms)
	slices.SortFunc(want, plan.CompareSendID)
	claim := func(at time.Time, limit int) []int64 {
		t.Helper()
		claimed, err := db.ClaimDue(ctx, at, "test/1", limit)
		if err != nil {
			t.Fatalf("ClaimDue(%s): %v", at.Format(time.RFC3339Nano), err)
		}
		out := []int64{}
		for _, cl := range claimed {
			out = append(out, cl.Message.ID)
		}
		return out
	}

	// Just before the second message is within Horizon: nothing moves.
	if got := claim(ms[1].SendAt.Add(-Horizon), 10); len(got) != 0 {
		t.Errorf("claimed %v a day before anything is due", got)
	}
	if got := rowIDs(t, db, `1`); !slices.Equal(got, []int64{ms[0].ID}) {
		t.Errorf("rows %v after a claim at send time - Horizon, want only %d", got, ms[0].ID)
	}
	if _, next := plannedOf(t, db, e.ID); next.String != formatTime(ms[1].SendAt) {
		t.Errorf("planned_next %v, want %s", next, formatTime(ms[1].SendAt))
	}

	// A millisecond later it is a row, pending and unclaimed, as it was listed.
	if got := claim(ms[1].SendAt.Add(-Horizon+time.Millisecond), 10); len(got) != 0 {
		t.Errorf("claimed %v a day before anything is due", got)
	}
	if got := rowIDs(t, db, `1`); !slices.Equal(got, []int64{ms[0].ID, ms[1].ID}) {
		t.Errorf("rows %v, want %v: the second message is due within Horizon", got, []int64{ms[0].ID, ms[1].ID})
	}
	var row struct {
		Status    string `db:"status"`
		Attempts  int    `db:"attempts"`
		Created   string `db:"created_at"`
		Updated   string `db:"updated_at"`
		ECreated  string `db:"e_created"`
		ClaimedBy string `db:"claimed_by"`
	}
	if err := db.reader.GetContext(ctx, &row, `SELECT m.status, m.attempts, m.created_at, m.updated_at, m.claimed_by,
		e.created_at AS e_created FROM messages m JOIN enrollments e ON e.id = m.enrollment_id WHERE m.id = ?`, ms[1].ID); err != nil {
		t.Fatal(err)
	}
	if row.Status != "pending" || row.Attempts != 0 || row.ClaimedBy != "" || row.Created != row.ECreated || row.Updated != row.ECreated ||
		row.ECreated != formatTime(now) {
		t.Errorf("the thawed row: %+v, want pending, never tried, created and updated at the enrollment's creation %s", row, formatTime(now))
	}
	diffMessages(t, "the enrollment's messages once one is thawed", listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID}), want)
	if got := ids(listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID})); !slices.Equal(got, []int64{ms[0].ID, ms[1].ID}) {
		t.Errorf("the clinic's log: %v, want %v", got, []int64{ms[0].ID, ms[1].ID})
	}
	planned, next := plannedOf(t, db, e.ID)
	if next.String != formatTime(ms[2].SendAt) {
		t.Errorf("planned_next %v, want the third message's %s", next, formatTime(ms[2].SendAt))
	}
	if kept, err := plan.Parse(planned); err != nil || len(kept) != 1 || kept[0].ID != ms[2].ID {
		t.Errorf("kept %d messages (%v), want only %d", len(kept), err, ms[2].ID)
	}

	// At its send time it is claimed, with its id and its text.
	claimed, err := db.ClaimDue(ctx, ms[1].SendAt, "test/1", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(claimed) != 2 {
		var got []int64
		for _, cl := range claimed {
			got = append(got, cl.Message.ID)
		}
		t.Fatalf("claimed %v at the second message's send time, want %v", got, []int64{ms[0].ID, ms[1].ID})
	}
	if m := claimed[1].Message; m.ID != ms[1].ID || m.Subject != ms[1].Subject || m.Body != ms[1].Body || m.Lang != "es" ||
		!m.SendAt.Equal(ms[1].SendAt) || !m.ExpiresAt.IsZero() || m.Channel != aftercare.Email {
		t.Errorf("claimed %s, want the kept %s", msgString(m), msgString(ms[1]))
	}
	if claimed[0].Message.ID != ms[0].ID {
		t.Errorf("claimed %d first, want %d", claimed[0].Message.ID, ms[0].ID)
	}

	// The last one becomes a row in its turn, and the enrollment keeps none.
	if got := claim(ms[2].SendAt.Add(-Horizon), 10); len(got) != 0 {
		t.Errorf("claimed %v", got)
	}
	if n := count(t, db, "messages"); n != 2 {
		t.Errorf("%d rows a day before the third message, want 2", n)
	}
	if got := claim(ms[2].SendAt.Add(-Horizon+time.Millisecond), 10); len(got) != 0 {
		t.Errorf("claimed %v", got)
	}
	if got := rowIDs(t, db, `1`); !slices.Equal(got, []int64{ms[0].ID, ms[1].ID, ms[2].ID}) {
		t.Errorf("rows %v, want all three", got)
	}
	if planned, next := plannedOf(t, db, e.ID); planned != nil || next.Valid {
		t.Errorf("planned %x, planned_next %v once every message is a row, want NULL, NULL", planned, next)
	}
	got := listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID})
	if len(got) != 3 || got[2].ID != ms[2].ID || got[2].Body != ms[2].Body || got[2].Note != "" || got[2].Segments != 3 ||
		got[2].Lang != "pt-BR" || !got[2].ExpiresAt.Equal(ms[2].ExpiresAt) || got[2].Status != aftercare.StatusPending {
		t.Errorf("the enrollment's messages once all are rows: %v", ids(got))
	} else {
		diffMessages(t, "the third message as a row", got[2:], ms[2:])
	}
}

// One claim thaws the kept messages of at most plan.MaxThawPerClaim enrollments,
// the soonest; the next claim thaws the rest.
func TestThawLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, c, p, now := openPlannedAnHourIn(t)
	const n = plan.MaxThawPerClaim + 1
	perm := rand.New(rand.NewPCG(5, 6)).Perm(n) // batch order is not send time order
	batch := make([]*aftercare.NewEnrollment, n)
	latest := -1
	for j, i := range perm {
		batch[j] = storetest.Enrollment(c.ID, p.ID, i, now.Add(48*time.Hour+time.Duration(i)*time.Minute), 1)
		if i == n-1 {
			latest = j
		}
	}
	if _, err := db.EnrollBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "messages"); got != 0 {
		t.Fatalf("%d rows, want every message kept", got)
	}
	if got := count(t, db, "enrollments WHERE planned_next IS NOT NULL"); got != n {
		t.Fatalf("%d enrollments keep messages, want %d", got, n)
	}
	last := batch[latest].Messages[0].SendAt
	at := last.Add(-Horizon + time.Millisecond) // every message is within Horizon
	claimed, err := db.ClaimDue(ctx, at, "test/1", 5)
	if err != nil || len(claimed) != 0 {
		t.Fatalf("ClaimDue: %d claimed, %v", len(claimed), err)
	}
	if got := count(t, db, "messages"); got != plan.MaxThawPerClaim {
		t.Errorf("%d rows after one claim, want %d", got, plan.MaxThawPerClaim)
	}
	var left []int64
	if err := db.reader.SelectContext(ctx, &left, `SELECT id FROM enrollments WHERE planned_next IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []int64{batch[latest].Enrollment.ID}) {
		t.Errorf("enrollments still keeping messages: %v, want only the latest %d", left, batch[latest].Enrollment.ID)
	}
	var want []int64
	for j, ne := range batch {
		if j != latest {
			want = append(want, ne.Messages[0].ID)
		}
	}
	slices.Sort(want)
	if got := rowIDs(t, db, `1`); !slices.Equal(got, want) {
		t.Errorf("the thawed rows are not the 500 soonest messages with their ids")
	}

	if _, err := db.ClaimDue(ctx, at, "test/1", 5); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "messages"); got != n {
		t.Errorf("%d rows after the second claim, want %d", got, n)
	}
	if got := count(t, db, "enrollments WHERE planned_next IS NOT NULL OR planned IS NOT NULL"); got != 0 {
		t.Errorf("%d enrollments still keep messages", got)
	}
	if got := rowIDs(t, db, `enrollment_id = ?`, batch[latest].Enrollment.ID); !slices.Equal(got, []int64{batch[latest].Messages[0].ID}) {
		t.Errorf("the latest enrollment's rows: %v, want %d", got, batch[latest].Messages[0].ID)
	}
}

// Ids of kept messages are never given again: not by a later Enroll, not by
// Reschedule inserting a message, and thawing them later conflicts with
// nothing.
func TestKeptIDsNotReused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, clk, c, p, now := openPlannedAnHourIn(t)

	a := storetest.Enrollment(c.ID, p.ID, 1, now, 6) // 2 rows (12h), 4 kept (24h, 36h)
	mustEnroll(t, db, a)
	var keptIDs []int64
	for _, m := range a.Messages {
		if !m.SendAt.Before(now.Add(Horizon)) {
			keptIDs = append(keptIDs, m.ID)
		}
	}
	if len(keptIDs) != 4 || count(t, db, "messages") != 2 {
		t.Fatalf("%d kept, %d rows; want 4 and 2", len(keptIDs), count(t, db, "messages"))
	}
	maxKept := slices.Max(keptIDs)

	clk.set(now.Add(time.Minute))
	b := storetest.Enrollment(c.ID, p.ID, 2, now, 2) // 2 rows
	mustEnroll(t, db, b)
	plan := append(movedAnHour(b.Messages), &aftercare.Message{StepKey: "step-99", Channel: aftercare.SMS, Lang: "en", Status: aftercare.StatusPending,
		SendAt: now.Add(2 * time.Hour), Body: "A new step", Segments: 1})
	e := *b.Enrollment
	e.TreatedAt = e.TreatedAt.Add(time.Hour)
	e.Key += "/moved"
	if err := db.Reschedule(ctx, &e, plan, time.Time{}); err != nil {
		t.Fatal(err)
	}
	bIDs := []int64{b.Messages[0].ID, b.Messages[1].ID, plan[2].ID}
	if plan[0].ID != b.Messages[0].ID || plan[1].ID != b.Messages[1].ID {
		t.Errorf("Reschedule gave the twins ids %d %d, want %d %d", plan[0].ID, plan[1].ID, b.Messages[0].ID, b.Messages[1].ID)
	}
	for _, id := range bIDs {
		if id <= maxKept {
			t.Errorf("B's message id %d is not above A's kept ids %v", id, keptIDs)
		}
	}

	// A's kept messages become rows, with their ids.
	if _, err := db.ClaimDue(ctx, a.Messages[5].SendAt.Add(-Horizon+time.Millisecond), "test/1", 1); err != nil {
		t.Fatalf("thawing A: %v", err)
	}
	var all []int64
	for _, m := range a.Messages {
		all = append(all, m.ID)
	}
	all = append(all, bIDs...)
	slices.Sort(all)
	if len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("ids given twice: %v", all)
	}
	if got := rowIDs(t, db, `1`); !slices.Equal(got, all) {
		t.Errorf("rows %v, want %v", got, all)
	}
	if got, want := rowIDs(t, db, `enrollment_id = ?`, a.Enrollment.ID), ids(a.Messages); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("A's rows %v, want its messages %v", got, want)
	}
	// Thawed together, each with its own text.
	byID := map[int64]*aftercare.Message{}
	for _, m := range listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: a.Enrollment.ID}) {
		byID[m.ID] = m
	}
	for _, want := range a.Messages {
		got := byID[want.ID]
		if got == nil || got.Ident() != want.Ident() || got.Subject != want.Subject || got.Body != want.Body ||
			got.Segments != want.Segments || !got.SendAt.Equal(want.SendAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			if got == nil {
				t.Errorf("A's message %d is not listed after the thaw", want.ID)
			} else {
				t.Errorf("A's message %d after the thaw: %s, want %s", want.ID, msgString(got), msgString(want))
			}
		}
	}
}

// A row written with an id beyond the sequence (by hand, or by a version
// before it) is not given again.
func TestKeptIDsAboveExplicitRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, c, p, now := openPlannedAnHourIn(t)
	a := storetest.Enrollment(c.ID, p.ID, 1, now, 6)
	mustEnroll(t, db, a)
	maxA := slices.Max(ids(a.Messages))
	explicit := maxA + 1000
	if _, err := db.writer.ExecContext(ctx, `INSERT INTO messages (id, clinic_id, enrollment_id, patient_id, step_key, occurrence,
		channel, lang, status, send_at, text_id, created_at, updated_at)
		SELECT ?, clinic_id, enrollment_id, patient_id, 'by-hand', 0, channel, lang, 'sent', send_at, text_id, created_at, updated_at
		FROM messages WHERE id = ?`, explicit, a.Messages[0].ID); err != nil {
		t.Fatal(err)
	}
	b := storetest.Enrollment(c.ID, p.ID, 2, now, 6) // rows and kept
	mustEnroll(t, db, b)
	for _, m := range b.Messages {
		if m.ID <= explicit {
			t.Errorf("B's message %s got id %d, not above the row written with id %d", m.Ident(), m.ID, explicit)
		}
	}
	// and the sequence moved on: a third enrollment is above B.
	d := storetest.Enrollment(c.ID, p.ID, 3, now, 2)
	mustEnroll(t, db, d)
	if d.Messages[0].ID <= slices.Max(ids(b.Messages)) {
		t.Errorf("D's ids %v are not above B's %v", ids(d.Messages), ids(b.Messages))
	}
	// Everything thaws without a conflict.
	if _, err := db.ClaimDue(ctx, now.Add(36*time.Hour-Horizon+time.Millisecond), "test/1", 1); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "messages"); got != 6+1+6+2 {
		t.Errorf("%d rows, want %d", got, 6+1+6+2)
	}
}

// Cancelling an enrollment cancels its kept messages too, as rows.
func TestCancelEnrollmentWithKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, clk, c, p, now := openPlannedAnHourIn(t)
	a := storetest.Enrollment(c.ID, p.ID, 1, now, 6) // 2 rows, 4 kept
	other := storetest.Enrollment(c.ID, p.ID, 2, now, 6)
	if _, err := db.EnrollBatch(ctx, []*aftercare.NewEnrollment{a, other}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "messages"); n != 4 {
		t.Fatalf("%d rows, want 4", n)
	}
	clk.set(now.Add(time.Minute))
	n, err := db.CancelEnrollment(ctx, c.ID, a.Enrollment.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Errorf("CancelEnrollment cancelled %d messages, want 6 (2 rows and 4 kept)", n)
	}
	type row struct {
		ID     int64  `db:"id"`
		Status string `db:"status"`
		Note   string `db:"note"`
	}
	var rows []row
	if err := db.reader.SelectContext(ctx, &rows, `SELECT id, status, note FROM messages WHERE enrollment_id = ? ORDER BY id`, a.Enrollment.ID); err != nil {
		t.Fatal(err)
	}
	want := slices.Sorted(slices.Values(ids(a.Messages)))
	var got []int64
	for _, r := range rows {
		got = append(got, r.ID)
		if r.Status != "cancelled" || r.Note != cancelledNote {
			t.Errorf("message %d: %s %q, want cancelled %q", r.ID, r.Status, r.Note, cancelledNote)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("the cancelled enrollment's rows: %v, want %v", got, want)
	}
	if planned, next := plannedOf(t, db, a.Enrollment.ID); planned != nil || next.Valid {
		t.Errorf("planned %x, planned_next %v after cancelling, want NULL, NULL", planned, next)
	}
	listed := listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: a.Enrollment.ID})
	if len(listed) != 6 {
		t.Errorf("ListMessages lists %d messages of the cancelled enrollment, want 6", len(listed))
	}
	for _, m := range listed {
		if m.Status != aftercare.StatusCancelled {
			t.Errorf("listed %s", msgString(m))
		}
	}
	// The other enrollment still keeps its messages.
	if _, next := plannedOf(t, db, other.Enrollment.ID); !next.Valid {
		t.Error("the other enrollment's kept messages are gone")
	}
	// Nothing of the cancelled enrollment is claimed later.
	claimed, err := db.ClaimDue(ctx, now.Add(40*time.Hour), "test/1", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, cl := range claimed {
		if cl.Message.EnrollmentID == a.Enrollment.ID {
			t.Errorf("claimed %d of the cancelled enrollment", cl.Message.ID)
		}
	}
}

// ListEnrollments counts kept messages as pending, and NextSendAt is the
// earliest pending message, row or kept.
func TestListEnrollmentsCountsKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, c, p, now := openPlannedAnHourIn(t)

	e1 := storetest.Enrollment(c.ID, p.ID, 1, now, 6) // 2 pending rows (12h), 4 kept
	e2 := storetest.Enrollment(c.ID, p.ID, 2, now.Add(5*24*time.Hour), 4)
	e3 := storetest.Enrollment(c.ID, p.ID, 3, now.Add(3*24*time.Hour), 4)
	e3.Messages[0].SendAt, e3.Messages[0].Status = now.Add(-time.Hour), aftercare.StatusSent // a row, done
	e4 := storetest.Enrollment(c.ID, p.ID, 4, now, 2)
	// A pending row far ahead (its next attempt is not its send time) and
	// a kept message sooner than it.
	e4.Messages[0].SendAt, e4.Messages[0].NextAttemptAt = now.Add(10*24*time.Hour), now.Add(10*24*time.Hour+time.Hour)
	e4.Messages[1].SendAt = now.Add(5 * 24 * time.Hour)
	if _, err := db.EnrollBatch(ctx, []*aftercare.NewEnrollment{e1, e2, e3, e4}); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "messages"); n != 2+0+1+1 {
		t.Fatalf("%d rows, want 4", n)
	}
	type want struct {
		name          string
		ne            *aftercare.NewEnrollment
		pending, done int
		next          time.Time
	}
	check := func(when string, wants []want) {
		t.Helper()
		list, err := db.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]*aftercare.EnrollmentSummary{}
		for _, s := range list {
			byID[s.Enrollment.ID] = s
		}
		for _, w := range wants {
			s := byID[w.ne.Enrollment.ID]
			if s == nil {
				t.Errorf("%s, %s: enrollment %d not listed", when, w.name, w.ne.Enrollment.ID)
				continue
			}
			if s.Pending != w.pending || s.Done != w.done || !s.NextSendAt.Equal(w.next) {
				t.Errorf("%s, %s: pending %d, done %d, next %s; want %d, %d, %s", when, w.name, s.Pending, s.Done,
					s.NextSendAt.Format(time.RFC3339Nano), w.pending, w.done, w.next.Format(time.RFC3339Nano))
			}
		}
	}
	wants := []want{
		{"rows and kept", e1, 6, 0, e1.Messages[0].SendAt},
		{"kept only", e2, 4, 0, e2.Messages[0].SendAt},
		{"a sent row and kept", e3, 3, 1, e3.Messages[1].SendAt},
		{"kept before a pending row", e4, 2, 0, e4.Messages[1].SendAt},
	}
	check("as enrolled", wants)

	// Thawing some (e1's messages due at 24h) changes nothing of the counts.
	if _, err := db.ClaimDue(ctx, now.Add(time.Hour), "test/1", 1); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "messages"); n != 4+2 {
		t.Errorf("%d rows after a claim that thaws e1's messages due at 24h, want 6", n)
	}
	check("once some are thawed", wants)
	if _, err := db.CancelEnrollment(ctx, c.ID, e2.Enrollment.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	list, err := db.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID, PatientID: e2.Enrollment.PatientID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("%d enrollments of e2's patient", len(list))
	}
	if list[0].Pending != 0 || !list[0].NextSendAt.IsZero() {
		t.Errorf("a cancelled enrollment that kept messages: %+v, want nothing pending", list[0])
	}
}

// Reschedule finds the twins of the plan among the kept messages: they keep
// their ids, a kept message the plan drops is cancelled, and the
// enrollment keeps nothing afterwards.
func TestRescheduleWithKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, clk, c, p, now := openPlannedAnHourIn(t)
	a := storetest.Enrollment(c.ID, p.ID, 1, now, 6) // 2 rows (12h), 4 kept (24h, 36h)
	mustEnroll(t, db, a)
	clk.set(now.Add(time.Minute))
	plan := movedAnHour(a.Messages[:5]) // the last (kept) is dropped
	e := *a.Enrollment
	e.TreatedAt = e.TreatedAt.Add(time.Hour)
	if err := db.Reschedule(ctx, &e, plan, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for i, m := range plan {
		if m.ID != a.Messages[i].ID || !m.SendAt.Equal(a.Messages[i].SendAt.Add(time.Hour)) {
			t.Errorf("plan message %s: id %d, send %s; want its twin's id %d, moved an hour", m.Ident(), m.ID, m.SendAt, a.Messages[i].ID)
		}
	}
	if planned, next := plannedOf(t, db, a.Enrollment.ID); planned != nil || next.Valid {
		t.Errorf("planned %x, planned_next %v after Reschedule, want NULL, NULL", planned, next)
	}
	if got, want := rowIDs(t, db, `1`), slices.Sorted(slices.Values(ids(a.Messages))); !slices.Equal(got, want) {
		t.Errorf("rows %v, want the enrollment's messages %v", got, want)
	}
	listed := listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: a.Enrollment.ID})
	if len(listed) != 6 {
		t.Fatalf("%d messages listed, want 6", len(listed))
	}
	for _, m := range listed {
		want := aftercare.StatusPending
		if m.ID == a.Messages[5].ID {
			want = aftercare.StatusCancelled
			if m.Note != rescheduledNote {
				t.Errorf("the dropped message's note is %q, want %q", m.Note, rescheduledNote)
			}
		}
		if m.Status != want {
			t.Errorf("message %d (%s) is %s, want %s", m.ID, m.Ident(), m.Status, want)
		}
	}
	if _, err := db.ClaimDue(ctx, now.Add(48*time.Hour), "test/1", 50); err != nil {
		t.Errorf("ClaimDue after Reschedule: %v", err)
	}
}

// An email fallback whose twin is kept on the enrollment is the twin: it
// is not inserted again, and later claims find nothing to conflict with.
func TestFallbackThawsKeptTwin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, c, p, now := openPlannedAnHourIn(t)
	ne := storetest.Enrollment(c.ID, p.ID, 1, now, 3)
	sms, email, later := ne.Messages[0], ne.Messages[1], ne.Messages[2]
	email.SendAt, email.ExpiresAt = now.Add(5*24*time.Hour), time.Time{} // step-00's email, kept
	later.SendAt, later.ExpiresAt = now.Add(6*24*time.Hour), time.Time{} // step-01's SMS, kept
	mustEnroll(t, db, ne)
	if got := rowIDs(t, db, `1`); !slices.Equal(got, []int64{sms.ID}) {
		t.Fatalf("rows %v, want only the SMS %d", got, sms.ID)
	}
	at := sms.SendAt
	claimed, err := db.ClaimDue(ctx, at, "test/1", 10)
	if err != nil || len(claimed) != 1 || claimed[0].Message.ID != sms.ID {
		t.Fatalf("ClaimDue: %d claimed, %v", len(claimed), err)
	}
	texts := count(t, db, "message_texts")
	fb := &aftercare.Message{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID, PatientID: ne.Enrollment.PatientID,
		StepKey: sms.StepKey, Occurrence: sms.Occurrence, Channel: aftercare.Email, Lang: "en", Status: aftercare.StatusPending,
		SendAt: at, NextAttemptAt: at, Subject: "A fallback", Body: "The SMS failed"}
	err = db.RecordOutcome(ctx, &aftercare.Outcome{MessageID: sms.ID, ClinicID: c.ID, ClaimedBy: "test/1", Status: aftercare.StatusFailed,
		Error: "unreachable", Attempt: aftercare.Attempt{Number: 1, At: at, Channel: aftercare.SMS, Outcome: aftercare.StatusFailed},
		Fallback: fb})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rowIDs(t, db, `1`), []int64{sms.ID, email.ID, later.ID}; !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("rows %v, want %v: the kept twin is the fallback, no new message", got, want)
	}
	if n := count(t, db, "message_texts"); n != texts {
		t.Errorf("%d texts after the fallback, want %d: the fallback's text is not needed", n, texts)
	}
	listed := listMsgs(t, db, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID})
	if got := ids(listed); !slices.Equal(got, []int64{sms.ID, email.ID, later.ID}) {
		t.Errorf("the enrollment's messages: %v, want %v", got, []int64{sms.ID, email.ID, later.ID})
	}
	for _, at := range []time.Time{email.SendAt, later.SendAt} {
		if _, err := db.ClaimDue(ctx, at, "test/1", 10); err != nil {
			t.Errorf("ClaimDue(%s): %v", at, err)
		}
	}
}

// An enrollment that keeps nothing has NULL in both planned columns.
func TestPlannedColumnsNone(t *testing.T) {
	t.Parallel()
	if planned, next := plannedColumns(nil); planned != nil || next != nil {
		t.Errorf("plannedColumns(nil) = %v, %v; want NULL, NULL", planned, next)
	}
}
