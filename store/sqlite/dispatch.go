package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

var _ aftercare.DispatchStore = (*DB)(nil)

// claimColumns reads a message with its patient, clinic and enrollment state.
var claimColumns = messageColumns + `, ` + prefixed("p", patientColumns) + `, ` + prefixed("c", clinicColumns) + `, e.status`

// claimFrom joins a message's patient, clinic, enrollment and text. CROSS JOIN
// is SQLite's inner join that keeps the written order of the loops:
// messages stay the outer loop, read through the partial index of the
// status asked for (messages_due, messages_unknown) in ORDER BY order, so a
// query reads only the rows it returns. With a plain JOIN and statistics
// saying there is one clinic, SQLite loops over clinics and reads every
// message of the clinic through messages_log, then sorts them: 2.3 s per
// claim with a million pending instead of 1 ms (TestQueryPlans,
// BenchmarkDueQuery).
const claimFrom = ` FROM messages m
	CROSS JOIN patients p ON p.id = m.patient_id
	CROSS JOIN clinics c ON c.id = m.clinic_id
	CROSS JOIN enrollments e ON e.id = m.enrollment_id` + messageText

func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + "." + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

func scanClaimed(rows *sqlx.Rows) (*aftercare.Claimed, string, error) {
	var m aftercare.Message
	var p aftercare.Patient
	var c aftercare.Clinic
	var enrollmentStatus string
	dest := clinicDest(patientDest(messageDest(make([]any, 0, 64), &m), &p), &c)
	err := rows.Scan(append(dest, &enrollmentStatus)...)
	if err != nil {
		return nil, "", err
	}
	return &aftercare.Claimed{Message: &m, Patient: &p, Clinic: &c}, enrollmentStatus, nil
}

// selectDue is the due-message query: a range of messages_due, in index
// order, at most a batch (TestQueryPlans checks the plan).
var selectDue = `SELECT ` + claimColumns + claimFrom + `
	WHERE m.status = 'pending' AND m.next_attempt_at <= ?
	ORDER BY m.next_attempt_at, m.id LIMIT ?`

const claimMessage = `UPDATE messages SET status = 'sending', claimed_by = ?, claimed_at = ?,
	attempts = attempts + 1, updated_at = ? WHERE id = ? AND status = 'pending'`

const settleMessage = `UPDATE messages SET status = ?, note = CASE WHEN note = '' THEN ? ELSE note || '; ' || ? END,
	updated_at = ? WHERE id = ? AND status = 'pending'`

// ClaimDue claims due messages for owner in one committed transaction (see
// aftercare.DispatchStore). SQLite runs one writer at a time (BEGIN
// IMMEDIATE), so two processes sharing the file never claim the same row.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, owner string, limit int) ([]*aftercare.Claimed, error) {
	if owner == "" || limit <= 0 {
		return nil, invalid("claiming needs an owner and a positive limit")
	}
	now = norm(now)
	var out []*aftercare.Claimed
	err := db.write(ctx, "claim due messages", func(tx *sqlx.Tx) error {
		out = out[:0]
		// Messages kept on their enrollments that come within Horizon
		// become rows (plan.go), at most plan.MaxThawPerClaim enrollments' worth
		// per claim, soonest first.
		if _, err := thawDue(ctx, tx, now.Add(Horizon), plan.MaxThawPerClaim); err != nil {
			return err
		}
		rows, err := tx.QueryxContext(ctx, selectDue, ts(now), limit)
		if err != nil {
			return err
		}
		type settle struct {
			id     int64
			status aftercare.Status
			note   string
		}
		var settles []settle
		var claims []*aftercare.Claimed
		for rows.Next() {
			c, enrollmentStatus, err := scanClaimed(rows)
			if err != nil {
				rows.Close()
				return err
			}
			m := c.Message
			switch {
			case enrollmentStatus == aftercare.EnrollmentCancelled:
				settles = append(settles, settle{m.ID, aftercare.StatusCancelled, "enrollment cancelled"})
			case !c.Patient.CanReceive(m.Channel):
				settles = append(settles, settle{m.ID, aftercare.StatusSkipped, whyNot(c.Patient, m.Channel)})
			case !m.ExpiresAt.IsZero() && !m.ExpiresAt.After(now):
				settles = append(settles, settle{m.ID, aftercare.StatusExpired, "expired before it could be sent"})
			default:
				claims = append(claims, c)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if err := markFirstSMS(ctx, tx, claims); err != nil {
			return err
		}
		for _, s := range settles {
			if _, err := tx.ExecContext(ctx, settleMessage, string(s.status), s.note, s.note, ts(now), s.id); err != nil {
				return err
			}
		}
		stmt, err := tx.PreparexContext(ctx, claimMessage)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, c := range claims {
			if _, err := stmt.ExecContext(ctx, owner, ts(now), ts(now), c.Message.ID); err != nil {
				return err
			}
			m := c.Message
			m.Status, m.ClaimedBy, m.ClaimedAt, m.Attempts = aftercare.StatusSending, owner, now, m.Attempts+1
		}
		out = claims
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// markFirstSMS sets FirstSMS on the SMS claims, and FirstEmail on the email
// claims, that are the first of their enrollment on their channel to reach
// a provider. It runs before the claims become sending, so only earlier
// messages count, and within the claim only the first of an enrollment's
// messages on each channel.
func markFirstSMS(ctx context.Context, tx *sqlx.Tx, claims []*aftercare.Claimed) error {
	var ids []int64
	for _, c := range claims {
		if ch := c.Message.Channel; ch == aftercare.SMS || ch == aftercare.Email {
			ids = append(ids, c.Message.EnrollmentID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	q, args, err := sqlx.In(reachedProvider, ids)
	if err != nil {
		return err
	}
	var reached []struct {
		EnrollmentID int64  `db:"enrollment_id"`
		Channel      string `db:"channel"`
	}
	if err := tx.SelectContext(ctx, &reached, q, args...); err != nil {
		return err
	}
	type key struct {
		enrollment int64
		channel    aftercare.Channel
	}
	seen := make(map[key]bool, len(ids))
	for _, r := range reached {
		seen[key{r.EnrollmentID, aftercare.Channel(r.Channel)}] = true
	}
	for _, c := range claims {
		m := c.Message
		k := key{m.EnrollmentID, m.Channel}
		if seen[k] {
			continue
		}
		switch m.Channel {
		case aftercare.SMS:
			c.FirstSMS, seen[k] = true, true
		case aftercare.Email:
			c.FirstEmail, seen[k] = true, true
		}
	}
	return nil
}

// reachedProvider lists the enrollments among ids, with the channel, that
// have a message a provider has (or may have) taken. Undelivered messages
// do not count: the patient never saw their notice or calendar.
const reachedProvider = `SELECT DISTINCT enrollment_id, channel FROM messages WHERE enrollment_id IN (?)
	AND channel IN ('sms', 'email') AND status IN ('sending', 'sent', 'delivered', 'unknown')`

func whyNot(p *aftercare.Patient, ch aftercare.Channel) string {
	switch {
	case ch == aftercare.SMS && !p.SMSOptOutAt.IsZero(), ch == aftercare.Email && !p.EmailOptOut.IsZero():
		return "skipped: the patient opted out of " + string(ch)
	case ch == aftercare.SMS && p.Phone == "", ch == aftercare.Email && p.Email == "":
		return "skipped: the patient has no " + map[aftercare.Channel]string{aftercare.SMS: "phone number", aftercare.Email: "email address"}[ch]
	}
	return "skipped: no consent for " + string(ch)
}

const recordOutcome = `UPDATE messages SET status = ?, next_attempt_at = COALESCE(?, next_attempt_at),
	sent_at = COALESCE(?, sent_at), sender = ?, provider_id = ?, provider_status = ?,
	error_code = ?, error = ?, updated_at = ?
	WHERE id = ? AND clinic_id = ? AND status = 'sending' AND claimed_by = ?`

const insertAttempt = `INSERT INTO attempts (clinic_id, message_id, number, at, channel, sender, provider_id,
	provider_status, error_code, error, latency_ms, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const (
	insertFallback = `INSERT OR IGNORE INTO messages (id, clinic_id, enrollment_id, patient_id, step_key, occurrence,
	channel, lang, status, send_at, expires_at, note, text_id, segments, attempts, next_attempt_at,
	created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, 0, 0, ?, ?, ?)`
	deleteText = `DELETE FROM message_texts WHERE id = ?`
)

func execAttempt(ctx context.Context, tx *sqlx.Tx, a *aftercare.Attempt) error {
	number := a.Number
	if number < 1 {
		number = 1
	}
	_, err := tx.ExecContext(ctx, insertAttempt, a.ClinicID, a.MessageID, number, ts(norm(a.At)), string(a.Channel), a.Sender,
		a.ProviderID, a.ProviderStatus, a.ErrorCode, a.Error, a.Latency.Milliseconds(), string(a.Outcome))
	return err
}

// RecordOutcome stores an attempt and moves its message, if the message is
// still sending and claimed by o.ClaimedBy; ECONFLICT otherwise.
func (db *DB) RecordOutcome(ctx context.Context, o *aftercare.Outcome) error {
	if !o.Status.Valid() || o.Status == aftercare.StatusSending {
		return invalid("an outcome cannot be %q", o.Status)
	}
	now := db.now()
	return db.write(ctx, "record outcome", func(tx *sqlx.Tx) error { return recordOutcomeTx(ctx, tx, o, now, true) })
}

// recordOutcomeTx is RecordOutcome inside tx. Its first statement finds
// whether the message is still o.ClaimedBy's; when it is not (ECONFLICT)
// nothing has been written.
//
// reports false says provider_reports is empty in tx (RecordOutcomes asks
// once for its group): no report can have come before o's provider id did.
func recordOutcomeTx(ctx context.Context, tx *sqlx.Tx, o *aftercare.Outcome, now time.Time, reports bool) error {
	res, err := tx.ExecContext(ctx, recordOutcome, string(o.Status), ts(norm(o.NextAttemptAt)), ts(norm(o.SentAt)), o.Sender,
		o.ProviderID, o.ProviderState, o.ErrorCode, o.Error, ts(now), o.MessageID, o.ClinicID, o.ClaimedBy)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return conflict("message %d is no longer sending under claim %q", o.MessageID, o.ClaimedBy)
	}
	if o.Body != "" {
		if err := replaceText(ctx, tx, o.MessageID, o.Body, o.Segments); err != nil {
			return err
		}
	}
	a := o.Attempt
	a.ClinicID, a.MessageID = o.ClinicID, o.MessageID
	if err := execAttempt(ctx, tx, &a); err != nil {
		return err
	}
	if reports {
		if err := applyKeptReport(ctx, tx, o.MessageID, o.ProviderID, o.Status, now); err != nil {
			return err
		}
	}
	if o.OptOut {
		col := "sms_opt_out_at"
		if a.Channel == aftercare.Email {
			col = "email_opt_out_at"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE patients SET `+col+` = COALESCE(`+col+`, ?), updated_at = ?
			WHERE id = (SELECT patient_id FROM messages WHERE id = ?)`, ts(now), ts(now), o.MessageID); err != nil {
			return err
		}
		if err := recordProviderOptOut(ctx, tx, o, a.Channel, now); err != nil {
			return err
		}
	}
	if f := o.Fallback; f != nil {
		texts := newTextWriter(tx)
		defer texts.close()
		textID, err := texts.stored(ctx, f.Subject, f.Body)
		if err != nil {
			return err
		}
		// The fallback's twin may be kept on the enrollment (plan.go):
		// make it a row, so that INSERT OR IGNORE sees it.
		if err := thawEnrollment(ctx, tx, f.ClinicID, f.EnrollmentID); err != nil {
			return err
		}
		id, err := messageIDs(ctx, tx, 1)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, insertFallback, id, f.ClinicID, f.EnrollmentID, f.PatientID, f.StepKey, f.Occurrence,
			string(f.Channel), f.Lang, ts(norm(f.SendAt)), ts(norm(f.ExpiresAt)), f.Note, textID,
			ts(norm(f.NextAttemptAt)), ts(now), ts(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 { // the fallback was planned already: its text is not needed
			if _, err := tx.ExecContext(ctx, deleteText, textID); err != nil {
				return err
			}
		}
	}
	return nil
}

// replaceText makes body the text of an SMS (which has no subject): the
// text actually sent, kept for the log.
func replaceText(ctx context.Context, tx *sqlx.Tx, messageID int64, body string, segments int) error {
	texts := newTextWriter(tx)
	defer texts.close()
	id, err := texts.stored(ctx, "", body)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE messages SET text_id = ?, segments = ? WHERE id = ?`, id, segments, messageID)
	return err
}

// Release puts messages claimed by owner back to pending, undoing the
// attempt count (their send never started).
func (db *DB) Release(ctx context.Context, owner string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := db.now()
	return db.write(ctx, "release claims", func(tx *sqlx.Tx) error {
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'pending', claimed_by = '', claimed_at = NULL,
				attempts = MAX(attempts - 1, 0), updated_at = ? WHERE id = ? AND status = 'sending' AND claimed_by = ?`,
				ts(now), id, owner); err != nil {
				return err
			}
		}
		return nil
	})
}

// Claim leases (migration 0016): one row per running dispatcher.
const (
	renewLease = `INSERT INTO claim_leases (owner, expires_at, renewed_at) VALUES (?, ?, ?)
	ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at, renewed_at = excluded.renewed_at`
	endLease    = `UPDATE claim_leases SET expires_at = ? WHERE owner = ? AND expires_at > ?`
	purgeLeases = `DELETE FROM claim_leases WHERE expires_at <= ?`
)

// RenewLease makes owner's lease last until until (see
// aftercare.DispatchStore): one row written, whatever owner has claimed.
func (db *DB) RenewLease(ctx context.Context, owner string, now, until time.Time) error {
	if owner == "" || !until.After(now) {
		return invalid("a lease needs an owner and an expiry after now")
	}
	return db.write(ctx, "renew lease", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, renewLease, owner, ts(norm(until)), ts(norm(now)))
		return err
	})
}

// EndLease makes owner's lease expire at now.
func (db *DB) EndLease(ctx context.Context, owner string, now time.Time) error {
	now = db.stamp(now)
	return db.write(ctx, "end lease", func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, endLease, ts(now), owner, ts(now))
		return err
	})
}

// ListAttempts returns a message's attempts, oldest first.
func (db *DB) ListAttempts(ctx context.Context, clinicID, messageID int64) ([]*aftercare.Attempt, error) {
	rows, err := db.reader.QueryxContext(ctx, `SELECT id, clinic_id, message_id, number, at, channel, sender, provider_id,
		provider_status, error_code, error, latency_ms, outcome FROM attempts WHERE clinic_id = ? AND message_id = ? ORDER BY id`,
		clinicID, messageID)
	if err != nil {
		return nil, dbError("list attempts", err)
	}
	defer rows.Close()
	var out []*aftercare.Attempt
	for rows.Next() {
		var a aftercare.Attempt
		var ms int64
		if err := rows.Scan(&a.ID, &a.ClinicID, &a.MessageID, &a.Number, (*dbTime)(&a.At), &a.Channel, &a.Sender, &a.ProviderID,
			&a.ProviderStatus, &a.ErrorCode, &a.Error, &ms, &a.Outcome); err != nil {
			return nil, dbError("list attempts", err)
		}
		a.Latency = time.Duration(ms) * time.Millisecond
		out = append(out, &a)
	}
	return out, dbError("list attempts", rows.Err())
}

// dailyStats counts one day of messages_log_status per state: the IN list
// names every state so that SQLite can use the index, whose second column
// is the state (migration 0003 dropped the one without it), and counts each
// state's range of the index in order, with no expression per row.
// DailyStats runs it once per day of the clinic's zone.
var dailyStats = `SELECT status, count(*) FROM messages
	WHERE clinic_id = ? AND status IN ('` + strings.Join(statusNames(), "', '") + `') AND send_at >= ? AND send_at < ?
	GROUP BY status`

// statsSpan is the first and last send time of the clinic's messages in a
// range: an open range of DailyStats is counted over the days it spans.
var statsSpan = `SELECT min(send_at), max(send_at) FROM messages
	WHERE clinic_id = ? AND status IN ('` + strings.Join(statusNames(), "', '") + `') AND send_at >= ? AND send_at < ?`

// keptForStats reads the planned column of the clinic's enrollments that
// keep a message due before ? (enrollments_planned).
const keptForStats = `SELECT planned FROM enrollments
	WHERE clinic_id = ? AND planned_next IS NOT NULL AND planned_next < ?`

func statusNames() []string {
	names := make([]string, len(aftercare.Statuses))
	for i, s := range aftercare.Statuses {
		names[i] = string(s)
	}
	return names
}

// DailyStats counts a clinic's messages per send day in loc and state:
// the rows, by quarter hour, and the pending messages kept on enrollments
// (see Horizon).
func (db *DB) DailyStats(ctx context.Context, clinicID int64, since, until time.Time, loc *time.Location) ([]aftercare.DayStat, error) {
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if loc == nil {
		loc = time.UTC
	}
	counts := map[aftercare.DayStat]int{} // Day and Status
	if err := db.countRows(ctx, counts, clinicID, since, until, loc); err != nil {
		return nil, dbError("daily stats", err)
	}
	if err := db.countKept(ctx, counts, clinicID, since, until, loc); err != nil {
		return nil, dbError("daily stats", err)
	}
	return plan.DayStats(counts), nil
}

// countRows adds the message rows of [since, until) to counts, a local day
// at a time.
func (db *DB) countRows(ctx context.Context, counts map[aftercare.DayStat]int, clinicID int64, since, until time.Time, loc *time.Location) error {
	var first, last dbTime
	if err := db.reader.QueryRowxContext(ctx, statsSpan, clinicID, formatTime(norm(since)), formatTime(norm(until))).Scan(&first, &last); err != nil {
		return err
	}
	if time.Time(first).IsZero() {
		return nil
	}
	stmt, err := db.reader.PreparexContext(ctx, dailyStats)
	if err != nil {
		return err
	}
	defer stmt.Close()
	y, m, d := time.Time(first).In(loc).Date()
	for day := time.Date(y, m, d, 12, 0, 0, 0, time.UTC); ; day = day.AddDate(0, 0, 1) {
		start := aftercare.DayStart(day.Year(), day.Month(), day.Day(), loc)
		if start.After(time.Time(last)) {
			return nil
		}
		next := day.AddDate(0, 0, 1)
		end := aftercare.DayStart(next.Year(), next.Month(), next.Day(), loc)
		if err := db.countDay(ctx, stmt, counts, clinicID, maxTime(start, since), minTime(end, until), day.Format(time.DateOnly)); err != nil {
			return err
		}
	}
}

// countDay adds the rows of [start, end), one day, to counts.
func (db *DB) countDay(ctx context.Context, stmt *sqlx.Stmt, counts map[aftercare.DayStat]int, clinicID int64, start, end time.Time, day string) error {
	rows, err := stmt.QueryxContext(ctx, clinicID, formatTime(norm(start)), formatTime(norm(end)))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var st aftercare.Status
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return err
		}
		counts[aftercare.DayStat{Day: day, Status: st}] += n
	}
	return rows.Err()
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// countKept adds the pending messages kept on enrollments, due in
// [since, until), to counts.
func (db *DB) countKept(ctx context.Context, counts map[aftercare.DayStat]int, clinicID int64, since, until time.Time, loc *time.Location) error {
	rows, err := db.reader.QueryxContext(ctx, keptForStats, clinicID, formatTime(norm(until)))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var planned []byte
		if err := rows.Scan(&planned); err != nil {
			return err
		}
		if err := plan.CountDays(counts, planned, since, until, loc); err != nil {
			return err
		}
	}
	return rows.Err()
}
