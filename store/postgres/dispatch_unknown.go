package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aftercare/aftercare"
)

// abandonedClaims reads every sending message through messages_sending and
// keeps those whose owner's lease lapsed, or whose owner has no lease and
// that are older than the cutoff (claims made before leases existed). A
// lease that is live protects its claims however old they are. The rows
// are locked, skipping those a live claim's transaction holds (a claim or
// an outcome being recorded: not abandoned), so two replicas taking over
// at once take each message once.
var abandonedClaims = `SELECT ` + messageColumns + ` FROM messages m` + messageText + ` WHERE m.status = 'sending'
	AND CASE WHEN EXISTS (SELECT 1 FROM claim_leases l WHERE l.owner = m.claimed_by)
		THEN EXISTS (SELECT 1 FROM claim_leases l WHERE l.owner = m.claimed_by AND l.expires_at <= $1)
		ELSE m.claimed_at < $2 END
	FOR UPDATE OF m SKIP LOCKED`

const (
	markUnknown = `UPDATE messages SET status = 'unknown', error = $1, updated_at = $2
	WHERE id = $3 AND status = 'sending'`
	whyUnknown = "the dispatcher stopped before it recorded the outcome: not resent automatically"
)

// MarkUnknown takes over abandoned claims (see aftercare.DispatchStore):
// they become unknown, why is recorded as an attempt, and lapsed leases are
// forgotten, in one transaction.
func (db *DB) MarkUnknown(ctx context.Context, now, orphanCutoff time.Time) ([]*aftercare.Message, error) {
	now = db.stamp(now)
	var out []*aftercare.Message
	err := db.write(ctx, "mark unknown", func(tx pgx.Tx) error {
		var err error
		out, err = queryAll(ctx, tx, scanMessage, abandonedClaims, now, norm(orphanCutoff))
		if err != nil {
			return err
		}
		for _, m := range out {
			if _, err := tx.Exec(ctx, markUnknown, whyUnknown, now, m.ID); err != nil {
				return err
			}
			if err := execAttempt(ctx, tx, &aftercare.Attempt{ClinicID: m.ClinicID, MessageID: m.ID, Number: m.Attempts,
				At: now, Channel: m.Channel, Sender: m.Sender, Error: whyUnknown, Outcome: aftercare.StatusUnknown}); err != nil {
				return err
			}
			m.Status, m.Error = aftercare.StatusUnknown, whyUnknown
		}
		// A lapsed lease protects nothing now: its claims were just taken.
		_, err = tx.Exec(ctx, purgeLeases, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		out = nil
	}
	return out, nil
}

// selectUnknown reads a page of unknown messages through messages_unknown,
// oldest claim first, from a (claimed_at, id) position.
var selectUnknown = `SELECT ` + claimColumns + claimFrom + `
	WHERE m.status = 'unknown' AND m.claimed_at >= $1 AND (m.claimed_at, m.id) > ($2, $3)
	ORDER BY m.claimed_at, m.id LIMIT $4`

// ListUnknown returns a page of unknown messages with their patients and
// clinics, oldest claim first.
func (db *DB) ListUnknown(ctx context.Context, q aftercare.UnknownPage) ([]*aftercare.Claimed, error) {
	if q.Limit <= 0 {
		return nil, invalid("a page of unknown messages needs a positive limit")
	}
	since := norm(q.Since)
	afterAt, afterID := since, int64(0)
	if q.After != nil {
		afterAt, afterID = norm(q.After.ClaimedAt), q.After.ID
	}
	var out []*aftercare.Claimed
	err := eachRow(ctx, db.pool, func(rows pgx.Rows) error {
		c, _, err := scanClaimed(rows)
		if err == nil {
			out = append(out, c)
		}
		return err
	}, selectUnknown, since, afterAt, afterID, q.Limit)
	if err != nil {
		return nil, dbError("list unknown", err)
	}
	return out, nil
}

// giveUpUnknown notes, once, on unknown messages older than the cutoff that
// the reconciler stopped looking for them; it reads only the old end of
// messages_unknown.
const giveUpUnknown = `UPDATE messages SET note = CASE WHEN note = '' THEN $1 ELSE note || '; ' || $1 END, updated_at = $2
	WHERE status = 'unknown' AND claimed_at < $3 AND strpos(note, $1) = 0`

// GiveUpUnknown notes on unknown messages claimed before cutoff that they
// are not looked up any more.
func (db *DB) GiveUpUnknown(ctx context.Context, cutoff time.Time, note string) (int, error) {
	if note == "" {
		return 0, invalid("giving up on unknown messages needs a note")
	}
	tag, err := db.pool.Exec(ctx, giveUpUnknown, note, db.now(), norm(cutoff))
	if err != nil {
		return 0, dbError("give up unknown", err)
	}
	return int(tag.RowsAffected()), nil
}

const resolveUnknown = `UPDATE messages SET status = $1, provider_id = $2, provider_status = $3,
	sent_at = COALESCE(sent_at, $4), error = '', updated_at = $5 WHERE id = $6 AND status = 'unknown'`

// Resolve settles an unknown message the provider knows about.
func (db *DB) Resolve(ctx context.Context, messageID int64, a aftercare.Attempt, status aftercare.Status, providerID string) error {
	now := db.now()
	return db.write(ctx, "resolve unknown", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, resolveUnknown, string(status), providerID, a.ProviderStatus, ts(a.At), now, messageID)
		if err := oneRow(tag, err, conflict("message %d is not unknown any more", messageID)); err != nil {
			return err
		}
		a.MessageID = messageID
		if err := execAttempt(ctx, tx, &a); err != nil {
			return err
		}
		return applyKeptReport(ctx, tx, messageID, providerID, status, now)
	})
}
