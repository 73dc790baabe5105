package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// summaryGroups check aftercare.SummaryStore and the clinic's summary
// settings.
var summaryGroups = []testGroup{
	{"CountDay", []testCase{
		{"OnlyTheRangeAndTheClinic", testCountDay},
		{"ErrInvalid", testCountDayErrInvalid},
	}},
	{"ClaimSummary", []testCase{
		{"OncePerClinicAndDay", testClaimSummaryOnce},
		{"RacersOneWins", testClaimSummaryRace},
		{"ErrInvalidAndNotFound", testClaimSummaryErrors},
	}},
	{"FinishSummary", []testCase{
		{"SentOrWhyNot", testFinishSummary},
		{"ErrNotFound", testFinishSummaryErrNotFound},
		{"RetryClaimedAgainAfterWait", testSummaryRetry},
	}},
	{"ClinicSummarySettings", []testCase{
		{"RoundTrip", testClinicSummarySettings},
	}},
}

// testCountDay: messages due in the range are counted by state, skipped
// and expired ones by reason; opt-outs and replies of the range; nothing
// from before or after it, nor another clinic's.
func testCountDay(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	since, until := t0.Add(-12*time.Hour), t0.Add(12*time.Hour)
	ne := Enrollment(c.ID, proto.ID, 1, t0.Add(-48*time.Hour), 0)
	add := func(step string, st aftercare.Status, at time.Time, note string) {
		m := &aftercare.Message{StepKey: step, Channel: aftercare.SMS, Lang: "en", Status: st, SendAt: at, Body: smsBody, Segments: 2, Note: note}
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
		ne.Messages = append(ne.Messages, m)
	}
	add("before", aftercare.StatusSent, since.Add(-time.Second), "")
	add("first", aftercare.StatusDelivered, since, "") // the start is included
	add("d2", aftercare.StatusDelivered, t0.Add(-3*time.Hour), "")
	add("f", aftercare.StatusFailed, t0.Add(-2*time.Hour), "")
	add("u", aftercare.StatusUnknown, t0.Add(-time.Hour), "")
	add("s1", aftercare.StatusSkipped, t0.Add(-50*time.Minute), "skipped: no consent for sms")
	add("s2", aftercare.StatusSkipped, t0.Add(-40*time.Minute), "skipped: no consent for sms")
	add("s3", aftercare.StatusSkipped, t0.Add(-30*time.Minute), "skipped: daily cap")
	add("last", aftercare.StatusSent, until.Add(-time.Second), "")
	add("after", aftercare.StatusSent, until, "") // the end is not
	enroll(t, s, ne)
	other, oproto := setup(t, s, "b")
	one := Enrollment(other.ID, oproto.ID, 1, t0.Add(-48*time.Hour), 0)
	m := *ne.Messages[1]
	m.ID, m.ClinicID, m.EnrollmentID, m.PatientID = 0, 0, 0, 0
	one.Messages = []*aftercare.Message{&m}
	enroll(t, s, one)

	quiet := Enrollment(c.ID, proto.ID, 2, t0.Add(-48*time.Hour), 0)
	enroll(t, s, quiet)
	for i, at := range []time.Time{since.Add(-time.Minute), t0, t0.Add(time.Minute)} {
		ch := aftercare.SMS
		if i == 2 {
			ch = aftercare.Email
		}
		if _, err := s.SetConsent(ctx, &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: quiet.Patient.ID, Channel: ch,
			Action: aftercare.ConsentWithdrawn, At: at, Source: "sms:STOP"}); err != nil {
			t.Fatal(err)
		}
	}
	addReply(t, s, reply(c, "SMa", "thanks", t0))
	addReply(t, s, reply(c, "SMb", "a question", t0.Add(time.Hour)))
	addReply(t, s, reply(c, "SMc", "old", since.Add(-time.Hour)))
	addReply(t, s, reply(other, "SMd", "elsewhere", t0))

	d, err := s.CountDay(ctx, c.ID, since.In(elsewhere), until)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "messages", d.Messages, map[aftercare.Status]int{aftercare.StatusDelivered: 2, aftercare.StatusFailed: 1,
		aftercare.StatusUnknown: 1, aftercare.StatusSkipped: 3, aftercare.StatusSent: 1})
	same(t, "reasons", d.Reasons, []aftercare.ReasonCount{
		{Status: aftercare.StatusSkipped, Reason: "skipped: no consent for sms", Count: 2},
		{Status: aftercare.StatusSkipped, Reason: "skipped: daily cap", Count: 1}})
	same(t, "opt-outs", d.OptOuts, map[aftercare.Channel]int{aftercare.SMS: 1, aftercare.Email: 1})
	same(t, "replies", d.Replies, 2)
}

func testCountDayErrInvalid(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	_, err := s.CountDay(context.Background(), 0, t0, t0.Add(time.Hour))
	wantCode(t, "no clinic", err, aftercare.EINVALID)
	_, err = s.CountDay(context.Background(), c.ID, t0, t0)
	wantCode(t, "empty range", err, aftercare.EINVALID)
}

// testClaimSummaryOnce: a day is claimed once per clinic; another day or
// another clinic is claimed apart; the ledger lists the newest day first.
func testClaimSummaryOnce(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, _ := setup(t, s, "a")
	b, _ := setup(t, s, "b")
	claim := func(c *aftercare.Clinic, day string, want bool) {
		t.Helper()
		got, err := s.ClaimSummary(ctx, c.ID, day, t0.In(elsewhere))
		if err != nil || got != want {
			t.Fatalf("ClaimSummary(%s, %s) = %v, %v; want %v", c.Slug, day, got, err, want)
		}
	}
	claim(a, "2026-03-01", true)
	claim(a, "2026-03-01", false)
	claim(b, "2026-03-01", true)
	claim(a, "2026-03-02", true)
	rs, err := s.ListSummaries(ctx, a.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ledger", rs, []*aftercare.SummaryRecord{
		{ClinicID: a.ID, Day: "2026-03-02", ClaimedAt: t0},
		{ClinicID: a.ID, Day: "2026-03-01", ClaimedAt: t0}})
	if rs, _ := s.ListSummaries(ctx, a.ID, 1); len(rs) != 1 {
		t.Errorf("limit 1: %d rows", len(rs))
	}
}

// testClaimSummaryRace: serves claiming the same day at once: exactly one
// wins.
func testClaimSummaryRace(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.ClaimSummary(context.Background(), c.ID, "2026-03-01", t0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won, want 1", wins)
	}
}

func testClaimSummaryErrors(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	for _, day := range []string{"", "2026-3-1", "2026-02-30", "yesterday"} {
		_, err := s.ClaimSummary(context.Background(), c.ID, day, t0)
		wantCode(t, "day "+day, err, aftercare.EINVALID)
	}
	_, err := s.ClaimSummary(context.Background(), c.ID+100, "2026-03-01", t0)
	wantCode(t, "no clinic", err, aftercare.ENOTFOUND)
}

// testFinishSummary: the outcome is kept, sent (UTC) or why not.
func testFinishSummary(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	for _, day := range []string{"2026-03-01", "2026-03-02"} {
		if ok, err := s.ClaimSummary(ctx, c.ID, day, t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	if err := s.FinishSummary(ctx, c.ID, "2026-03-01", t0.Add(time.Second).In(elsewhere), ""); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishSummary(ctx, c.ID, "2026-03-02", time.Time{}, "not sent: no SMTP server"); err != nil {
		t.Fatal(err)
	}
	rs, err := s.ListSummaries(ctx, c.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ledger", rs, []*aftercare.SummaryRecord{
		{ClinicID: c.ID, Day: "2026-03-02", ClaimedAt: t0, Error: "not sent: no SMTP server"},
		{ClinicID: c.ID, Day: "2026-03-01", ClaimedAt: t0, SentAt: t0.Add(time.Second)}})
	wantUTC(t, "sent at", rs[1].SentAt, rs[1].ClaimedAt)
}

func testFinishSummaryErrNotFound(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	err := s.FinishSummary(context.Background(), c.ID, "2026-03-01", t0, "")
	wantCode(t, "unclaimed day", err, aftercare.ENOTFOUND)
}

// testClinicSummarySettings: the summary's time and addresses are saved
// and read back; bad ones are refused.
func testClinicSummarySettings(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	if c.SummaryEnabled() {
		t.Fatalf("a new clinic gets a summary: %q", c.SummaryTo)
	}
	c.SummaryAt, c.SummaryTo = aftercare.Clock(7*60+30), "manager@clinic.example, owner@clinic.example"
	if err := s.UpdateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClinicByID(ctx, c.ID)
	if err != nil || got.SummaryAt != c.SummaryAt || got.SummaryTo != c.SummaryTo {
		t.Fatalf("read back %v %q (%v)", got.SummaryAt, got.SummaryTo, err)
	}
	got.SummaryTo = "Manager@Clinic.example"
	wantCode(t, "upper-case address", s.UpdateClinic(ctx, got), aftercare.EINVALID)
}

// testSummaryRetry: a summary that failed with SummaryRetry is claimed
// again once SummaryRetryAfter has passed, and only once; a failure for
// good, or a sent one, never is.
func testSummaryRetry(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	for day, why := range map[string]string{"2026-03-01": aftercare.SummaryRetry + "connection refused", "2026-03-02": "not sent: 550 no such user"} {
		if ok, err := s.ClaimSummary(ctx, c.ID, day, t0); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := s.FinishSummary(ctx, c.ID, day, time.Time{}, why); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(day string, at time.Time) bool {
		t.Helper()
		ok, err := s.ClaimSummary(ctx, c.ID, day, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	later := t0.Add(aftercare.SummaryRetryAfter)
	if claim("2026-03-01", later.Add(-time.Second)) {
		t.Fatal("claimed again before the wait")
	}
	if !claim("2026-03-01", later) || claim("2026-03-01", later) {
		t.Fatal("after the wait: want exactly one claim")
	}
	if claim("2026-03-02", later.Add(time.Hour)) {
		t.Error("a failure for good was claimed again")
	}
	rs, _ := s.ListSummaries(ctx, c.ID, 0)
	if len(rs) != 2 || rs[1].Day != "2026-03-01" || rs[1].Error != "" || !rs[1].ClaimedAt.Equal(later) {
		t.Errorf("ledger %s", dump(rs))
	}
}
