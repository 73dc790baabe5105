package sqlite

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The hand-written time text functions agree with the time package.
func TestTimesMatchTimePackage(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
	for range 20000 {
		x := time.Unix(lo+r.Int64N(hi-lo), r.Int64N(1e9)).In(time.FixedZone("z", (r.IntN(28)-14)*3600))
		want := x.UTC().Format(timeFormat)
		if got := formatTime(x); got != want {
			t.Fatalf("formatTime(%v) = %s, want %s", x, got, want)
		}
		back, err := parseTime(want)
		if want, _ := time.Parse(timeFormat, want); err != nil || !back.Equal(want) || back.Location() != time.UTC {
			t.Fatalf("parseTime(%s) = %v, %v; want %v", want, back, err, want)
		}
	}
	for _, bad := range []string{"2026-02-30T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-01-01T24:00:00.000Z",
		"2026-01-01T00:00:00.000+", "2026-01-01 00:00:00.000Z", "２026-01-01T00:00:00.000Z", "2026-1-01T00:00:00.000Z"} {
		if x, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", bad, x)
		}
	}
}

// BenchmarkTimeText compares the hand-written time text functions with the
// time package's Format and Parse they replace (timefast.go).
func BenchmarkTimeText(b *testing.B) {
	t := time.Date(2026, 3, 2, 15, 30, 12, 345e6, time.FixedZone("z", 3600))
	s := t.UTC().Format(timeFormat)
	b.Run("format/hand", func(b *testing.B) {
		for b.Loop() {
			_ = formatTime(t)
		}
	})
	b.Run("format/time", func(b *testing.B) {
		for b.Loop() {
			_ = t.UTC().Format(timeFormat)
		}
	})
	b.Run("parse/hand", func(b *testing.B) {
		for b.Loop() {
			_, _ = parseTime(s)
		}
	})
	b.Run("parse/time", func(b *testing.B) {
		for b.Loop() {
			_, _ = time.Parse(timeFormat, s)
		}
	})
}
