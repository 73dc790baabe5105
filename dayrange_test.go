package aftercare_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

func TestDayRange(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	santiago, err := time.LoadLocation("America/Santiago") // clocks skip midnight
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		name         string
		since, until string
		loc          *time.Location
		from, to     string // RFC 3339, "" for open
	}{
		{"OneDay", "2026-11-22", "2026-11-22", ny, "2026-11-22T05:00:00Z", "2026-11-23T05:00:00Z"},
		{"SpringForwardIs23Hours", "2026-03-08", "2026-03-08", ny, "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"},
		{"FallBackIs25Hours", "2026-11-01", "2026-11-01", ny, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"},
		{"AcrossTheChange", "2026-10-31", "2026-11-02", ny, "2026-10-31T04:00:00Z", "2026-11-03T05:00:00Z"},
		{"MidnightSkipped", "2026-09-06", "2026-09-06", santiago, "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z"},
		{"OpenStart", "", "2026-11-22", ny, "", "2026-11-23T05:00:00Z"},
		{"OpenEnd", "2026-11-22", "", ny, "2026-11-22T05:00:00Z", ""},
		{"NilZoneIsUTC", "2026-11-22", "2026-11-22", nil, "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"},
		{"InstantsAsGiven", "2026-11-22T09:00:00-05:00", "2026-11-22T14:00:00Z", ny, "2026-11-22T14:00:00Z", "2026-11-22T14:00:00Z"},
		{"DayThenInstant", " 2026-11-22 ", "2026-11-22T18:00:00Z", ny, "2026-11-22T05:00:00Z", "2026-11-22T18:00:00Z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from, to, err := aftercare.DayRange(tc.since, tc.until, tc.loc)
			if err != nil {
				t.Fatal(err)
			}
			var wantFrom, wantTo time.Time
			if tc.from != "" {
				wantFrom = utc(tc.from)
			}
			if tc.to != "" {
				wantTo = utc(tc.to)
			}
			if !from.Equal(wantFrom) || !to.Equal(wantTo) {
				t.Errorf("DayRange(%q, %q) = [%v, %v), want [%v, %v)", tc.since, tc.until, from, to, wantFrom, wantTo)
			}
			if from.Location() != time.UTC || to.Location() != time.UTC {
				t.Errorf("not UTC: %v %v", from.Location(), to.Location())
			}
		})
	}
	for _, tc := range []struct {
		name, since, until, field, says string
	}{
		{"ErrUntilBeforeSince", "2026-11-22", "2026-11-21", "until", "is before since"},
		{"ErrInstantBeforeDay", "2026-11-22", "2026-11-22T04:59:00Z", "until", "is before since"},
		{"ErrUntilDayEndsAtSinceInstant", "2026-11-23T05:00:00Z", "2026-11-22", "until", "is before since"},
		{"ErrSinceNotADate", "22/11/2026", "", "since", "YYYY-MM-DD"},
		{"ErrUntilNotADate", "", "2026-02-30", "until", "not a date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := aftercare.DayRange(tc.since, tc.until, ny)
			e, ok := err.(*aftercare.Error)
			if !ok || e.Code != aftercare.EINVALID || e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
				t.Fatalf("DayRange(%q, %q) = %v, want EINVALID on %s saying %q", tc.since, tc.until, err, tc.field, tc.says)
			}
		})
	}
}
