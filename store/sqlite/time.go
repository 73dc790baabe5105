// Stored times: UTC text to the millisecond in a fixed width, so that text
// order is time order and an index on a time column is a time index. The
// hand-written formatting and parsing are in timefast.go.

package sqlite

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// timeFormat is how times are stored: UTC, fixed width, so that text order
// is time order.
const timeFormat = "2006-01-02T15:04:05.000Z"

// norm returns t as it is stored and read back: UTC, to the millisecond.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Millisecond)
}

// ts returns t as a stored value: its text, or NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// dbTime scans a stored time (text or NULL) into a time.Time:
// rows.Scan((*dbTime)(&m.SendAt)).
type dbTime time.Time

// Scan implements sql.Scanner.
func (d *dbTime) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case nil:
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("sqlite: cannot read a time from %T", v)
	}
	t, err := parseTime(s)
	*d = dbTime(t)
	return err
}

// Value implements driver.Valuer.
func (d dbTime) Value() (driver.Value, error) { return ts(time.Time(d)), nil }
