package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/internal/plan"
)

var _ aftercare.DispatchStore = (*DB)(nil)

// claimColumns reads a message with its patient, clinic and enrollment state.
var claimColumns = messageColumns + `, ` + prefixed("p", patientColumns) + `, ` + prefixed("c", clinicColumns) + `, e.status`

// claimFrom joins a message's patient, clinic, enrollment and text.
const claimFrom = ` FROM messages m
	JOIN patients p ON p.id = m.patient_id
	JOIN clinics c ON c.id = m.clinic_id
	JOIN enrollments e ON e.id = m.enrollment_id` + messageText

func scanClaimed(s scanner) (*aftercare.Claimed, string, error) {
	var m aftercare.Message
	var p aftercare.Patient
	var c aftercare.Clinic
	var enrollmentStatus string
	dest := clinicDest(patientDest(messageDest(make([]any, 0, 64), &m), &p), &c)
	if err := s.Scan(append(dest, &enrollmentStatus)...); err != nil {
		return nil, "", err
	}
	return &aftercare.Claimed{Message: &m, Patient: &p, Clinic: &c}, enrollmentStatus, nil
}

// selectDue reads a batch of due messages through messages_due, oldest
// first, locking them. SKIP LOCKED is what lets replicas claim at once:
// rows another replica's claim holds are passed over rather than waited
// for, and a row whose lock is won is re-read (read committed), so one
// another claim moved out of pending meanwhile is dropped from the result.
// Only the message rows are locked (OF m): patients, clinics and
// enrollments are shared by many claims.
var selectDue = `SELECT ` + claimColumns + claimFrom + `
	WHERE m.status = 'pending' AND m.next_attempt_at <= $1
	ORDER BY m.next_attempt_at, m.id LIMIT $2
	FOR UPDATE OF m SKIP LOCKED`

const (
	claimMessages = `UPDATE messages SET status = 'sending', claimed_by = $1, claimed_at = $2,
	attempts = attempts + 1, updated_at = $2 WHERE id = ANY($3) AND status = 'pending' RETURNING id`
	settleMessage = `UPDATE messages SET status = $1, note = CASE WHEN note = '' THEN $2 ELSE note || '; ' || $2 END,
	updated_at = $3 WHERE id = $4 AND status = 'pending'`
)

// ClaimDue claims due messages for owner in one committed transaction (see
// aftercare.DispatchStore). The rows it reads are locked FOR UPDATE SKIP
// LOCKED, so replicas claiming at the same moment take disjoint batches.
//
// First, in the same transaction, the messages kept on enrollments
// (plan.go) that come within plan.Horizon of now become rows, of at most
// plan.MaxThawPerClaim enrollments, soonest first: the enrollments are
// locked SKIP LOCKED too, so two replicas never thaw one enrollment, and a
// claim that fails or dies leaves the messages kept, none lost.
func (db *DB) ClaimDue(ctx context.Context, now time.Time, owner string, limit int) ([]*aftercare.Claimed, error) {
	if owner == "" || limit <= 0 {
		return nil, invalid("claiming needs an owner and a positive limit")
	}
	now = norm(now)
	var out []*aftercare.Claimed
	err := db.write(ctx, "claim due messages", func(tx pgx.Tx) error {
		out = nil
		type settle struct {
			id     int64
			status aftercare.Status
			note   string
		}
		var settles []settle
		var claims []*aftercare.Claimed
		if _, err := thawDue(ctx, tx, now.Add(plan.Horizon), plan.MaxThawPerClaim); err != nil {
			return err
		}
		err := eachRow(ctx, tx, func(rows pgx.Rows) error {
			c, enrollmentStatus, err := scanClaimed(rows)
			if err != nil {
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
			return nil
		}, selectDue, now, limit)
		if err != nil {
			return err
		}
		if err := markFirst(ctx, tx, claims); err != nil {
			return err
		}
		for _, s := range settles {
			if _, err := tx.Exec(ctx, settleMessage, string(s.status), s.note, now, s.id); err != nil {
				return err
			}
		}
		if len(claims) == 0 {
			return nil
		}
		ids := make([]int64, len(claims))
		for i, c := range claims {
			ids[i] = c.Message.ID
		}
		// Only what the UPDATE moved is claimed. The row locks make that
		// every row read; RETURNING keeps it so should they ever not.
		moved := make(map[int64]bool, len(ids))
		err = eachRow(ctx, tx, func(rows pgx.Rows) error {
			var id int64
			err := rows.Scan(&id)
			moved[id] = true
			return err
		}, claimMessages, owner, now, ids)
		if err != nil {
			return err
		}
		for _, c := range claims {
			if m := c.Message; moved[m.ID] {
				m.Status, m.ClaimedBy, m.ClaimedAt, m.Attempts = aftercare.StatusSending, owner, now, m.Attempts+1
				out = append(out, c)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const (
	// lockFirsts serializes, per enrollment, the claims that decide which
	// message is an enrollment's first to reach a provider: without it two
	// replicas claiming two messages of one enrollment at once would both
	// say first. The lock lasts until the claim commits; the query after it
	// reads a new snapshot (read committed), so it sees what a claim that
	// held the lock before committed. Locks are taken in id order: no
	// deadlock between claims.
	lockFirsts = `SELECT count(pg_advisory_xact_lock(hashtextextended('aftercare first ' || id, 0)))
	FROM (SELECT DISTINCT id FROM unnest($1::bigint[]) AS u(id) ORDER BY id) AS ids`
	// reachedProvider lists the enrollments among $1, with the channel,
	// that have a message a provider has (or may have) taken. Undelivered
	// messages do not count: the patient never saw their notice or
	// calendar.
	reachedProvider = `SELECT DISTINCT enrollment_id, channel FROM messages WHERE enrollment_id = ANY($1)
	AND channel IN ('sms', 'email') AND status IN ('sending', 'sent', 'delivered', 'unknown')`
)

// markFirst sets FirstSMS on the SMS claims, and FirstEmail on the email
// claims, that are the first of their enrollment on their channel to reach
// a provider. It runs before the claims become sending, so only earlier
// messages count, and within the claim only the first of an enrollment's
// messages on each channel.
func markFirst(ctx context.Context, tx pgx.Tx, claims []*aftercare.Claimed) error {
	var ids []int64
	for _, c := range claims {
		if ch := c.Message.Channel; ch == aftercare.SMS || ch == aftercare.Email {
			ids = append(ids, c.Message.EnrollmentID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ids = dedupe(ids)
	var n int
	if err := tx.QueryRow(ctx, lockFirsts, ids).Scan(&n); err != nil {
		return err
	}
	type key struct {
		enrollment int64
		channel    aftercare.Channel
	}
	seen := make(map[key]bool, len(ids))
	err := eachRow(ctx, tx, func(rows pgx.Rows) error {
		var k key
		if err := rows.Scan(&k.enrollment, &k.channel); err != nil {
			return err
		}
		seen[k] = true
		return nil
	}, reachedProvider, ids)
	if err != nil {
		return err
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

func whyNot(p *aftercare.Patient, ch aftercare.Channel) string {
	switch {
	case ch == aftercare.SMS && !p.SMSOptOutAt.IsZero(), ch == aftercare.Email && !p.EmailOptOut.IsZero():
		return "skipped: the patient opted out of " + string(ch)
	case ch == aftercare.SMS && p.Phone == "", ch == aftercare.Email && p.Email == "":
		return "skipped: the patient has no " + map[aftercare.Channel]string{aftercare.SMS: "phone number", aftercare.Email: "email address"}[ch]
	}
	return "skipped: no consent for " + string(ch)
}

const (
	recordOutcome = `UPDATE messages SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at),
	sent_at = COALESCE($3, sent_at), sender = $4, provider_id = $5, provider_status = $6,
	error_code = $7, error = $8, updated_at = $9
	WHERE id = $10 AND clinic_id = $11 AND status = 'sending' AND claimed_by = $12`
	insertAttempt = `INSERT INTO attempts (clinic_id, message_id, number, at, channel, sender, provider_id,
	provider_status, error_code, error, latency_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	// A fallback already planned (the same step, occurrence and channel)
	// is left as it is.
	insertFallback = `INSERT INTO messages (clinic_id, enrollment_id, patient_id, step_key, occurrence,
	channel, lang, status, send_at, expires_at, note, text_id, segments, attempts, next_attempt_at,
	created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, 0, 0, $12, $13, $13)
	ON CONFLICT ON CONSTRAINT messages_natural_key DO NOTHING`
	deleteText    = `DELETE FROM message_texts WHERE id = $1`
	optOutPatient = `UPDATE patients SET %[1]s = COALESCE(%[1]s, $1), updated_at = $1
	WHERE id = (SELECT patient_id FROM messages WHERE id = $2)`
)

func execAttempt(ctx context.Context, tx pgx.Tx, a *aftercare.Attempt) error {
	_, err := tx.Exec(ctx, insertAttempt, attemptArgs(a)...)
	return err
}

// attemptArgs are insertAttempt's arguments for a.
func attemptArgs(a *aftercare.Attempt) []any {
	return []any{a.ClinicID, a.MessageID, max(a.Number, 1), ts(a.At), string(a.Channel), a.Sender,
		a.ProviderID, a.ProviderStatus, a.ErrorCode, a.Error, a.Latency.Milliseconds(), string(a.Outcome)}
}

// RecordOutcome stores an attempt and moves its message, if the message is
// still sending and claimed by o.ClaimedBy; ECONFLICT otherwise. It is
// RecordOutcomes' transaction (dispatch_batch.go) for one outcome.
func (db *DB) RecordOutcome(ctx context.Context, o *aftercare.Outcome) error {
	if err := checkOutcome(o); err != nil {
		return err
	}
	now := db.now()
	return db.write(ctx, "record outcome", func(tx pgx.Tx) error {
		conflicts, err := recordOutcomesTx(ctx, tx, []*aftercare.Outcome{o}, now)
		if err != nil {
			return err
		}
		return conflicts[0]
	})
}

// checkOutcome refuses what is not an outcome.
func checkOutcome(o *aftercare.Outcome) error {
	if !o.Status.Valid() || o.Status == aftercare.StatusSending {
		return invalid("an outcome cannot be %q", o.Status)
	}
	return nil
}

// insertFallbackTx inserts f, pending, unless the enrollment has that
// message already.
func insertFallbackTx(ctx context.Context, tx pgx.Tx, f *aftercare.Message, now time.Time) error {
	// The fallback's twin may be kept on the enrollment (plan.go): make it
	// a row, so that ON CONFLICT sees it.
	if err := thawEnrollment(ctx, tx, f.ClinicID, f.EnrollmentID); err != nil {
		return err
	}
	textID, err := newTextWriter(tx).id(ctx, f.Subject, f.Body)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, insertFallback, f.ClinicID, f.EnrollmentID, f.PatientID, f.StepKey, f.Occurrence,
		string(f.Channel), f.Lang, norm(f.SendAt), ts(f.ExpiresAt), f.Note, textID, ts(f.NextAttemptAt), now)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 { // the fallback was planned already: its text is not needed
		_, err = tx.Exec(ctx, deleteText, textID)
	}
	return err
}

const releaseClaims = `UPDATE messages SET status = 'pending', claimed_by = '', claimed_at = NULL,
	attempts = GREATEST(attempts - 1, 0), updated_at = $1 WHERE id = ANY($2) AND status = 'sending' AND claimed_by = $3`

// Release puts messages claimed by owner back to pending, undoing the
// attempt count (their send never started).
func (db *DB) Release(ctx context.Context, owner string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	now := db.now()
	return db.write(ctx, "release claims", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, releaseClaims, now, ids, owner)
		return err
	})
}

// Claim leases: one row per running dispatcher.
const (
	renewLease = `INSERT INTO claim_leases (owner, expires_at, renewed_at) VALUES ($1, $2, $3)
	ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at, renewed_at = excluded.renewed_at`
	endLease    = `UPDATE claim_leases SET expires_at = $1 WHERE owner = $2 AND expires_at > $1`
	purgeLeases = `DELETE FROM claim_leases WHERE expires_at <= $1`
)

// RenewLease makes owner's lease last until until (see
// aftercare.DispatchStore): one row written, whatever owner has claimed.
func (db *DB) RenewLease(ctx context.Context, owner string, now, until time.Time) error {
	if owner == "" || !until.After(now) {
		return invalid("a lease needs an owner and an expiry after now")
	}
	_, err := db.pool.Exec(ctx, renewLease, owner, norm(until), norm(now))
	return dbError("renew lease", err)
}

// EndLease makes owner's lease expire at now.
func (db *DB) EndLease(ctx context.Context, owner string, now time.Time) error {
	_, err := db.pool.Exec(ctx, endLease, db.stamp(now), owner)
	return dbError("end lease", err)
}

const listAttempts = `SELECT id, clinic_id, message_id, number, at, channel, sender, provider_id,
	provider_status, error_code, error, latency_ms, outcome FROM attempts WHERE clinic_id = $1 AND message_id = $2 ORDER BY id`

// ListAttempts returns a message's attempts, oldest first.
func (db *DB) ListAttempts(ctx context.Context, clinicID, messageID int64) ([]*aftercare.Attempt, error) {
	var out []*aftercare.Attempt
	err := eachRow(ctx, db.pool, func(rows pgx.Rows) error {
		var a aftercare.Attempt
		var ms int64
		if err := rows.Scan(&a.ID, &a.ClinicID, &a.MessageID, &a.Number, (*dbTime)(&a.At), &a.Channel, &a.Sender, &a.ProviderID,
			&a.ProviderStatus, &a.ErrorCode, &a.Error, &ms, &a.Outcome); err != nil {
			return err
		}
		a.Latency = time.Duration(ms) * time.Millisecond
		out = append(out, &a)
		return nil
	}, listAttempts, clinicID, messageID)
	if err != nil {
		return nil, dbError("list attempts", err)
	}
	return out, nil
}

const (
	// dailyStats counts the rows per day in the zone $4 (an IANA name,
	// which PostgreSQL's own zone data reads as Go's does).
	dailyStats = `SELECT to_char(send_at AT TIME ZONE $4, 'YYYY-MM-DD') AS day, status, count(*) FROM messages
	WHERE clinic_id = $1 AND send_at >= $2 AND send_at < $3
	GROUP BY day, status`
	// keptForStats reads the planned column of the clinic's enrollments
	// that keep a message due before $2 (enrollments_planned).
	keptForStats = `SELECT planned FROM enrollments
	WHERE clinic_id = $1 AND planned_next IS NOT NULL AND planned_next < $2`
)

// DailyStats counts a clinic's messages per send day in loc (nil is UTC)
// and state: the rows, and the pending messages kept on enrollments
// (plan.go), read from one snapshot so that a message a claim thaws
// meanwhile is counted once.
func (db *DB) DailyStats(ctx context.Context, clinicID int64, since, until time.Time, loc *time.Location) ([]aftercare.DayStat, error) {
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	zone, zoneLoc := "UTC", time.UTC
	if loc != nil && loc != time.Local && loc.String() != "" {
		zone, zoneLoc = loc.String(), loc
	}
	since, until = norm(since), norm(until)
	counts := map[aftercare.DayStat]int{} // Day and Status
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		err := eachRow(ctx, tx, func(rows pgx.Rows) error {
			var d aftercare.DayStat
			var n int
			if err := rows.Scan(&d.Day, &d.Status, &n); err != nil {
				return err
			}
			counts[d] += n
			return nil
		}, dailyStats, clinicID, since, until, zone)
		if err != nil {
			return err
		}
		return eachRow(ctx, tx, func(rows pgx.Rows) error {
			var planned []byte
			if err := rows.Scan(&planned); err != nil {
				return err
			}
			return plan.CountDays(counts, planned, since, until, zoneLoc)
		}, keptForStats, clinicID, until)
	})
	if err != nil {
		return nil, dbError("daily stats", err)
	}
	return plan.DayStats(counts), nil
}
