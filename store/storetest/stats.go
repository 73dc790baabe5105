package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// statsGroups check DispatchStore.DailyStats.
var statsGroups = []testGroup{
	{"DailyStats", []testCase{
		{"ClinicDays", testDailyStatsClinicDays},
	}},
}

// testDailyStatsClinicDays counts messages on either side of local
// midnights, across New York's spring-forward night (2026-03-08) and in a
// zone half an hour off the hour, some due soon (rows in every engine) and
// some weeks ahead (which both engines keep on their enrollment): each is
// counted once, on its day in the zone given, within the range.
func testDailyStatsClinicDays(t *testing.T, s aftercare.Store) {
	c, botox := setup(t, s, "a")
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	at := func(v string) time.Time {
		t.Helper()
		x, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	ne := Enrollment(c.ID, botox.ID, 1, t0, 6)
	for k, v := range []string{
		"2026-03-02T18:29:00Z", // 13:29 in New York; 23:59 in Kolkata, 2 March
		"2026-03-02T18:30:00Z", // 13:30 in New York; 00:00 in Kolkata, 3 March
		"2026-03-08T04:30:00Z", // 23:30 EST, 7 March (UTC: the 8th)
		"2026-03-08T05:30:00Z", // 00:30 EST, 8 March
		"2026-03-09T03:30:00Z", // 23:30 EDT, 8 March (UTC: the 9th)
		"2026-03-09T04:30:00Z", // 00:30 EDT, 9 March
	} {
		m := ne.Messages[k]
		m.StepKey, m.Occurrence = "step", k
		m.SendAt = at(v)
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
	}
	ne.Messages[0].Status = aftercare.StatusSkipped
	enroll(t, s, ne)

	type row = aftercare.DayStat
	pending, skipped := aftercare.StatusPending, aftercare.StatusSkipped
	for _, tc := range []struct {
		name         string
		since, until string
		loc          *time.Location
		want         []row
	}{
		{"NewYork", "2026-03-02", "2026-03-09", ny, []row{
			{Day: "2026-03-02", Status: pending, Count: 1}, {Day: "2026-03-02", Status: skipped, Count: 1},
			{Day: "2026-03-07", Status: pending, Count: 1}, {Day: "2026-03-08", Status: pending, Count: 2},
			{Day: "2026-03-09", Status: pending, Count: 1}}},
		{"NewYorkOneDay", "2026-03-08", "2026-03-08", ny, []row{{Day: "2026-03-08", Status: pending, Count: 2}}},
		{"NewYorkNothing", "2026-03-03", "2026-03-06", ny, nil},
		{"KolkataOpen", "", "", kolkata, []row{
			{Day: "2026-03-02", Status: skipped, Count: 1}, {Day: "2026-03-03", Status: pending, Count: 1},
			{Day: "2026-03-08", Status: pending, Count: 2}, {Day: "2026-03-09", Status: pending, Count: 2}}},
		{"Instants", "2026-03-02T18:00:00Z", "2026-03-02T18:30:00Z", ny, []row{{Day: "2026-03-02", Status: skipped, Count: 1}}},
		{"InstantsFar", "2026-03-08T05:00:00Z", "2026-03-09T03:00:00Z", ny, []row{{Day: "2026-03-08", Status: pending, Count: 1}}},
		{"NilIsUTC", "2026-03-08", "", nil, []row{
			{Day: "2026-03-08", Status: pending, Count: 2}, {Day: "2026-03-09", Status: pending, Count: 2}}},
	} {
		since, until, err := aftercare.DayRange(tc.since, tc.until, tc.loc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.DailyStats(context.Background(), c.ID, since, until, tc.loc)
		if err != nil {
			t.Fatalf("%s: DailyStats: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: DailyStats(%s..%s) =\n %v\nwant\n %v", tc.name, tc.since, tc.until, got, tc.want)
		}
	}
	other, _ := setup(t, s, "b")
	if got, err := s.DailyStats(context.Background(), other.ID, time.Time{}, time.Time{}, ny); err != nil || len(got) != 0 {
		t.Errorf("another clinic's DailyStats = %v, %v; want none", got, err)
	}
}
