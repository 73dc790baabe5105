package postgres

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
)

// countMessages reads the whole messages table once (channel is in no
// index); the metrics cache its answer.
const countMessages = `SELECT clinic_id, status, channel, count(*),
	count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= $1)
	FROM messages GROUP BY clinic_id, status, channel`

// CountMessages counts messages per clinic, state and channel, with the
// pending ones due at now (see aftercare.DispatchStore).
func (db *DB) CountMessages(ctx context.Context, now time.Time) ([]aftercare.MessageCount, error) {
	out, err := queryAll(ctx, db.pool, func(s scanner) (aftercare.MessageCount, error) {
		var c aftercare.MessageCount
		err := s.Scan(&c.ClinicID, &c.Status, &c.Channel, &c.Count, &c.Due)
		return c, err
	}, countMessages, norm(now))
	return out, dbError("count messages", err)
}
