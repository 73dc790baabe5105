package aftercare

import (
	"strings"
	"time"
)

// DayRange is the one rule for a typed range of days, used by the web log,
// `aftercare log` and `stats`, the API and the audit log: since and until
// are whole days in the clinic's zone loc (YYYY-MM-DD), both included, so
// since=until is that one day. It returns the UTC half-open interval
// [from, to): from is the first instant of day since in loc, to the first
// instant of the day after until (a day is 23 or 25 hours across a DST
// change). "" leaves that side open (the zero time).
//
// For machines, either side may be an RFC 3339 instant instead, taken as
// it is (an until instant is excluded).
//
// EINVALID names the field to fix: "since" or "until" for a value that is
// neither, "until" when the range ends before it starts.
func DayRange(since, until string, loc *time.Location) (from, to time.Time, err error) {
	if loc == nil {
		loc = time.UTC
	}
	since, until = strings.TrimSpace(since), strings.TrimSpace(until)
	from, _, err = rangeEnd("since", since, loc, false)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	to, untilDay, err := rangeEnd("until", until, loc, true)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if !from.IsZero() && !to.IsZero() && (to.Before(from) || untilDay && !to.After(from)) {
		return time.Time{}, time.Time{}, FieldErrorf("until", "until (%s) is before since (%s): give a last day on or after the first (the same day twice for one day)", until, since)
	}
	return from, to, nil
}

// rangeEnd reads one side of DayRange: the first instant of the day (or of
// the day after it, for end), or an RFC 3339 instant. day reports a date.
func rangeEnd(field, s string, loc *time.Location, end bool) (t time.Time, day bool, err error) {
	if s == "" {
		return time.Time{}, false, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return DayStart(d.Year(), d.Month(), d.Day(), loc), true, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), false, nil
	}
	return time.Time{}, false, FieldErrorf(field, "%q is not a date: write it as YYYY-MM-DD, e.g. 2026-11-22 (a day in %s), or as an RFC 3339 time such as 2026-11-22T09:00:00Z", s, loc)
}

// DayStart returns the first instant of a day in loc, in UTC: its local
// midnight, or the first minute after it where the clocks skip midnight.
func DayStart(y int, mo time.Month, d int, loc *time.Location) time.Time {
	t, _ := WallTime(loc, y, mo, d, 0, 0)
	return t.UTC()
}
