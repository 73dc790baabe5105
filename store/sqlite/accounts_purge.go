package sqlite

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

const (
	purgeSessions = `DELETE FROM sessions WHERE expires_at <= ? OR created_at <= ?`
	purgeLinks    = `DELETE FROM signin_links WHERE used_at IS NOT NULL OR expires_at <= ?`
)

// PurgeSignIns deletes the sessions that expired at or before now or were
// created at or before createdBefore (their whole lifetime is over), and
// the sign-in links that were used or have expired (cancelled ones too).
// It returns how many rows went, and only internal errors.
func (db *DB) PurgeSignIns(ctx context.Context, now, createdBefore time.Time) (int64, error) {
	now = db.stamp(now)
	var n int64
	err := db.write(ctx, "purge sign-ins", func(tx *sqlx.Tx) error {
		for _, q := range []struct {
			sql  string
			args []any
		}{{purgeSessions, []any{ts(now), ts(norm(createdBefore))}}, {purgeLinks, []any{ts(now)}}} {
			res, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
