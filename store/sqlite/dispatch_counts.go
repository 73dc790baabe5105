package sqlite

import (
	"context"
	"time"

	"github.com/aftercare/aftercare"
)

// countMessages reads the whole messages table once (channel is in no
// index): on the reader pool, so in WAL mode it holds up no writer. With a
// million rows it takes well under a second (BenchmarkCountMessages); the
// metrics cache its answer for seconds.
const countMessages = `SELECT clinic_id, status, channel, count(*),
	coalesce(sum(status = 'pending' AND next_attempt_at <= ?), 0)
	FROM messages GROUP BY clinic_id, status, channel`

// CountMessages counts messages per clinic, state and channel, with the
// pending ones due at now (see aftercare.DispatchStore).
func (db *DB) CountMessages(ctx context.Context, now time.Time) ([]aftercare.MessageCount, error) {
	rows, err := db.reader.QueryxContext(ctx, countMessages, formatTime(norm(now)))
	if err != nil {
		return nil, dbError("count messages", err)
	}
	defer rows.Close()
	var out []aftercare.MessageCount
	for rows.Next() {
		var c aftercare.MessageCount
		if err := rows.Scan(&c.ClinicID, &c.Status, &c.Channel, &c.Count, &c.Due); err != nil {
			return nil, dbError("count messages", err)
		}
		out = append(out, c)
	}
	return out, dbError("count messages", rows.Err())
}
