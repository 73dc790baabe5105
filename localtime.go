package aftercare

import (
	"strings"
	"time"
)

// ParseTreatmentTime reads a treatment time as the front desk writes it:
// RFC 3339 with an offset ("2026-03-07T17:30:00-05:00", "...Z"), or a local
// "YYYY-MM-DDTHH:MM" (a space instead of T is accepted) read in loc. The
// result is UTC. A local time that does not exist (clocks went forward) is
// refused rather than guessed.
func ParseTreatmentTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, FieldErrorf("treated_at", "the treatment time is required, e.g. 2026-03-07T17:30")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	local := strings.Replace(s, " ", "T", 1)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		w, err := time.Parse(layout, local)
		if err != nil {
			continue
		}
		if loc == nil {
			return time.Time{}, FieldErrorf("treated_at", "%q has no UTC offset; give the patient's time zone or write it as RFC 3339", s)
		}
		t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, loc)
		if t.Hour() != w.Hour() || t.Minute() != w.Minute() {
			return time.Time{}, FieldErrorf("treated_at", "%s does not exist in %s (the clocks went forward); check the time", s, loc)
		}
		return t.UTC(), nil
	}
	return time.Time{}, FieldErrorf("treated_at", "%q is not a time: write 2026-03-07T17:30 (the patient's local time) or RFC 3339 such as 2026-03-07T17:30:00-05:00", s)
}

// WallTime returns the instant at which the clock in loc shows the given
// date and time. If that local time does not exist (spring forward), it
// returns the first valid minute after it and moved=true. If it happens
// twice (fall back), it returns the first of the two.
func WallTime(loc *time.Location, y int, mo time.Month, d, h, mi int) (t time.Time, moved bool) {
	t = time.Date(y, mo, d, h, mi, 0, 0, loc)
	want := time.Date(y, mo, d, h, mi, 0, 0, time.UTC) // the wall clock as a plain value
	if sameWall(t, want) {
		// Fall back: prefer the earlier of two instants with this wall time.
		if e := t.Add(-time.Hour); sameWall(e.In(loc), want) {
			return e, false
		}
		if e := t.Add(-30 * time.Minute); sameWall(e.In(loc), want) {
			return e, false
		}
		return t, false
	}
	// Spring forward: walk the wall clock forward a minute at a time until
	// it exists. Gaps are at most a few hours.
	for k := 1; k <= 24*60; k++ {
		w := want.Add(time.Duration(k) * time.Minute)
		c := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), 0, 0, loc)
		if sameWall(c, w) {
			return c, true
		}
	}
	return t, true
}

func sameWall(t, w time.Time) bool {
	y1, m1, d1 := t.Date()
	y2, m2, d2 := w.Date()
	return y1 == y2 && m1 == m2 && d1 == d2 && t.Hour() == w.Hour() && t.Minute() == w.Minute()
}
