package sqlite

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/jmoiron/sqlx"
)

// abandonedClaims reads every sending message through messages_sending and
// keeps those whose owner's lease lapsed, or whose owner has no lease and
// that are older than the cutoff (claims made before leases existed). A
// lease that is live protects its claims however old they are: a send may
// wait for its rate, or a provider be slow, as long as the owner renews.
const abandonedClaims = `SELECT ` + messageColumns + ` FROM messages m` + messageText + ` WHERE m.status = 'sending'
	AND CASE WHEN EXISTS (SELECT 1 FROM claim_leases l WHERE l.owner = m.claimed_by)
		THEN EXISTS (SELECT 1 FROM claim_leases l WHERE l.owner = m.claimed_by AND l.expires_at <= ?)
		ELSE m.claimed_at < ? END`

// MarkUnknown takes over abandoned claims (see aftercare.DispatchStore):
// they become unknown, why is recorded as an attempt, and lapsed leases are
// forgotten, in one transaction.
func (db *DB) MarkUnknown(ctx context.Context, now, orphanCutoff time.Time) ([]*aftercare.Message, error) {
	now = db.stamp(now)
	var out []*aftercare.Message
	err := db.write(ctx, "mark unknown", func(tx *sqlx.Tx) error {
		var err error
		if out, err = queryAll(ctx, tx, scanMessage, abandonedClaims, ts(now), ts(norm(orphanCutoff))); err != nil {
			return err
		}
		const why = "the dispatcher stopped before it recorded the outcome: not resent automatically"
		for _, m := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'unknown', error = ?, updated_at = ?
				WHERE id = ? AND status = 'sending'`, why, ts(now), m.ID); err != nil {
				return err
			}
			if err := execAttempt(ctx, tx, &aftercare.Attempt{ClinicID: m.ClinicID, MessageID: m.ID, Number: m.Attempts,
				At: now, Channel: m.Channel, Sender: m.Sender, Error: why, Outcome: aftercare.StatusUnknown}); err != nil {
				return err
			}
			m.Status, m.Error = aftercare.StatusUnknown, why
		}
		// A lapsed lease protects nothing now: its claims were just taken.
		_, err = tx.ExecContext(ctx, purgeLeases, ts(now))
		return err
	})
	return out, err
}

// selectUnknown reads a page of unknown messages through messages_unknown,
// oldest claim first, from a (claimed_at, id) position.
var selectUnknown = `SELECT ` + claimColumns + claimFrom + `
	WHERE m.status = 'unknown' AND m.claimed_at >= ? AND (m.claimed_at, m.id) > (?, ?)
	ORDER BY m.claimed_at, m.id LIMIT ?`

// ListUnknown returns a page of unknown messages with their patients and
// clinics, oldest claim first.
func (db *DB) ListUnknown(ctx context.Context, q aftercare.UnknownPage) ([]*aftercare.Claimed, error) {
	if q.Limit <= 0 {
		return nil, invalid("a page of unknown messages needs a positive limit")
	}
	since := formatTime(norm(q.Since))
	afterAt, afterID := since, int64(0)
	if q.After != nil {
		afterAt, afterID = formatTime(norm(q.After.ClaimedAt)), q.After.ID
	}
	rows, err := db.reader.QueryxContext(ctx, selectUnknown, since, afterAt, afterID, q.Limit)
	if err != nil {
		return nil, dbError("list unknown", err)
	}
	defer rows.Close()
	var out []*aftercare.Claimed
	for rows.Next() {
		c, _, err := scanClaimed(rows)
		if err != nil {
			return nil, dbError("list unknown", err)
		}
		out = append(out, c)
	}
	return out, dbError("list unknown", rows.Err())
}

// giveUpUnknown notes, once, on unknown messages older than the cutoff that
// the reconciler stopped looking for them; it reads only the old end of
// messages_unknown.
const giveUpUnknown = `UPDATE messages SET note = CASE WHEN note = '' THEN ?1 ELSE note || '; ' || ?1 END, updated_at = ?2
	WHERE status = 'unknown' AND claimed_at < ?3 AND instr(note, ?1) = 0`

// GiveUpUnknown notes on unknown messages claimed before cutoff that they
// are not looked up any more.
func (db *DB) GiveUpUnknown(ctx context.Context, cutoff time.Time, note string) (int, error) {
	if note == "" {
		return 0, invalid("giving up on unknown messages needs a note")
	}
	n := 0
	err := db.write(ctx, "give up unknown", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, giveUpUnknown, note, ts(db.now()), ts(norm(cutoff)))
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n = int(k)
		return err
	})
	return n, err
}

// Resolve settles an unknown message the provider knows about.
func (db *DB) Resolve(ctx context.Context, messageID int64, a aftercare.Attempt, status aftercare.Status, providerID string) error {
	now := db.now()
	return db.write(ctx, "resolve unknown", func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET status = ?, provider_id = ?, provider_status = ?,
			sent_at = COALESCE(sent_at, ?), error = '', updated_at = ? WHERE id = ? AND status = 'unknown'`,
			string(status), providerID, a.ProviderStatus, ts(norm(a.At)), ts(now), messageID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflict("message %d is not unknown any more", messageID)
		}
		a.MessageID = messageID
		if err := execAttempt(ctx, tx, &a); err != nil {
			return err
		}
		return applyKeptReport(ctx, tx, messageID, providerID, status, now)
	})
}
