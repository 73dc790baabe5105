// A hand-written fast path: the stored time text, written and read without
// the time package's layout interpreter.
//
// What it replaces: t.UTC().Format(timeFormat) and time.Parse(timeFormat, s).
// Why: a bulk import formats three times per planned message and every list
// parses several per row; Format and Parse interpret the layout on every
// call. Measured by BenchmarkTimeText (timefast_test.go): formatTime ~55 ns
// against Format's ~120-250 ns, parseTime ~25-40 ns against Parse's
// ~140-450 ns on the shared 2-core machine (docs/performance.md), and
// BenchmarkEnrollBatch is the store-level figure it feeds.
//
// What keeps it honest: TestTimesMatchTimePackage checks both functions
// against the time package over 20,000 random times of years 1 to 9999, and
// anything off the fixed layout (another year range, a damaged text) goes to
// the time package itself. To drop the fast path, replace the two bodies
// with the calls above; nothing else changes.

package sqlite

import (
	"fmt"
	"time"
)

// formatTime returns the stored text of t ("" for the zero time). It is
// t.UTC().Format(timeFormat), written out by hand because bulk imports format
// three times per message.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(timeFormat)
	}
	h, mi, sec := t.Clock()
	var b [len(timeFormat)]byte
	put := func(at, v, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, d, 2)
	b[10] = 'T'
	put(11, h, 2)
	b[13] = ':'
	put(14, mi, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, t.Nanosecond()/1e6, 3)
	b[23] = 'Z'
	return string(b[:])
}

// parseTime reads a stored time; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	// The fast path reads the fixed layout; anything else goes to time.Parse,
	// which also explains what is wrong.
	num := func(from, to int) int {
		n := 0
		for i := from; i < to; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	if len(s) == len(timeFormat) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
		s[16] == ':' && s[19] == '.' && s[23] == 'Z' {
		y, mo, d, h, mi, sec, ms := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19), num(20, 23)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h <= 23 && mi >= 0 && mi <= 59 &&
			sec >= 0 && sec <= 59 && ms >= 0 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, ms*1e6, time.UTC)
			if t.Day() == d { // not 31 April
				return t, nil
			}
		}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: stored time %q: %w", s, err)
	}
	return t, nil
}
