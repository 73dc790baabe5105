package postgres

import (
	"fmt"
	"time"
)

// norm returns t as it is stored and read back: UTC, to the millisecond
// (as store/sqlite keeps it, so that both engines give back equal times).
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// ts returns t as a stored value: norm(t), or NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return norm(t)
}

// dbTime scans a timestamptz (or NULL, the zero time) into a time.Time in
// UTC: rows.Scan((*dbTime)(&m.SendAt)). pgx gives times in the local zone.
type dbTime time.Time

// Scan implements sql.Scanner, which pgx honours.
func (d *dbTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*d = dbTime(time.Time{})
	case time.Time:
		*d = dbTime(v.UTC())
	default:
		return fmt.Errorf("postgres: cannot read a time from %T", v)
	}
	return nil
}

// timeOf is a scanned dbTime as a time.Time.
func timeOf(d dbTime) time.Time { return time.Time(d) }
