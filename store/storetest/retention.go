package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// retentionGroups check aftercare.RetentionStore.
var retentionGroups = []testGroup{
	{"PurgeTexts", []testCase{
		{"OldGoneRecentKeptStatesStay", testPurgeTexts},
		{"Replies", testPurgeReplies},
		{"ErrInvalid", testPurgeErrInvalid},
	}},
}

// testPurgeTexts: settled messages older than the cut lose their texts;
// pending ones (owed, or planned weeks ahead), recent ones and another
// clinic's keep theirs; states and counts stay; a text shared with a
// message that keeps it survives, one no message uses goes.
func testPurgeTexts(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	old := t0.Add(-100 * 24 * time.Hour)
	ne := Enrollment(c.ID, proto.ID, 1, old, 4)
	ne.Messages[0].Status = aftercare.StatusSent
	ne.Messages[1].Status = aftercare.StatusDelivered
	ne.Messages[2].Status, ne.Messages[2].Body = aftercare.StatusPending, "Still owed." // never purged
	ne.Messages[3].Status = aftercare.StatusSkipped
	gone := &aftercare.Message{StepKey: "gone", Channel: aftercare.SMS, Lang: "en", Status: aftercare.StatusFailed,
		SendAt: old.Add(time.Hour), Body: "Hi Ana, only this message says this."}
	// Kept on the enrollment (weeks ahead), sharing its text with message
	// 0 and with no row after the purge.
	far := &aftercare.Message{StepKey: "far", Channel: aftercare.SMS, Lang: "en", Status: aftercare.StatusPending,
		SendAt: t0.Add(20 * 24 * time.Hour), Body: smsBody}
	far.ExpiresAt = far.SendAt.Add(time.Hour)
	recent := &aftercare.Message{StepKey: "recent", Channel: aftercare.Email, Lang: "en", Status: aftercare.StatusSkipped,
		SendAt: t0.Add(2 * time.Hour), Subject: emailSubject, Body: emailBody}
	ne.Messages = append(ne.Messages, gone, far, recent)
	enroll(t, s, ne)
	b, bproto := setup(t, s, "b")
	other := Enrollment(b.ID, bproto.ID, 1, old, 2)
	other.Messages[0].Status = aftercare.StatusSent
	enroll(t, s, other)

	before := t0.Add(time.Hour) // after the rows were written (the store's clock is at t0)
	const marker = "[purged after 30 days]"
	want := aftercare.PurgeCounts{Messages: 4, Texts: 1}
	dry, err := s.PurgeTexts(ctx, c.ID, before, marker, true)
	if err != nil || dry != want {
		t.Fatalf("dry run: %+v %v, want %+v", dry, err, want)
	}
	byStep := func(id int64, f aftercare.MessageFilter) map[string]*aftercare.Message {
		f.ClinicID, f.EnrollmentID = id, 0
		out := map[string]*aftercare.Message{}
		for _, m := range listMessages(t, s, f) {
			out[m.StepKey+"/"+string(m.Channel)] = m
		}
		return out
	}
	if ms := byStep(c.ID, aftercare.MessageFilter{PatientID: ne.Patient.ID}); ms["step-00/sms"].Body != ne.Messages[0].Body {
		t.Fatalf("a dry run purged: %q", ms["step-00/sms"].Body)
	}
	got, err := s.PurgeTexts(ctx, c.ID, before.In(elsewhere), marker, false)
	if err != nil || got != want {
		t.Fatalf("purge: %+v %v, want %+v", got, err, want)
	}
	ms := byStep(c.ID, aftercare.MessageFilter{PatientID: ne.Patient.ID})
	if len(ms) != 7 {
		t.Fatalf("%d messages after the purge, want 7", len(ms))
	}
	for key, w := range map[string]struct {
		status        aftercare.Status
		subject, body string
	}{
		"step-00/sms":   {status: aftercare.StatusSent, body: marker},
		"step-00/email": {status: aftercare.StatusDelivered, body: marker},
		"step-01/sms":   {status: aftercare.StatusPending, body: "Still owed."},
		"gone/sms":      {status: aftercare.StatusFailed, body: marker},
		"step-01/email": {status: aftercare.StatusSkipped, body: marker},
		"far/sms":       {status: aftercare.StatusPending, body: smsBody},
		"recent/email":  {status: aftercare.StatusSkipped, subject: emailSubject, body: emailBody},
	} {
		m := ms[key]
		if m == nil || m.Status != w.status || m.Subject != w.subject || m.Body != w.body {
			t.Errorf("%s after the purge: %s", key, dump(m))
		}
	}
	if ms := byStep(b.ID, aftercare.MessageFilter{PatientID: other.Patient.ID}); ms["step-00/sms"].Body != smsBody {
		t.Errorf("another clinic's message was purged: %q", ms["step-00/sms"].Body)
	}
	if again, err := s.PurgeTexts(ctx, c.ID, before, marker, false); err != nil || again != (aftercare.PurgeCounts{}) {
		t.Errorf("a second purge: %+v %v, want nothing", again, err)
	}
	sums, err := s.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID})
	if err != nil || len(sums) != 1 || sums[0].Pending != 2 || sums[0].Done != 2 || sums[0].Problems != 1 {
		t.Errorf("counts after the purge: %v %v", sums, err)
	}
}

func testPurgeErrInvalid(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	for _, tc := range []struct {
		clinic int64
		before time.Time
		marker string
	}{{0, t0, "x"}, {c.ID, time.Time{}, "x"}, {c.ID, t0, " "}} {
		if _, err := s.PurgeTexts(ctx, tc.clinic, tc.before, tc.marker, false); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("PurgeTexts(%+v): %v, want EINVALID", tc, err)
		}
	}
}

// testPurgeReplies: the texts of patients' replies older than the cut are
// replaced; newer ones, and another clinic's, keep their words.
func testPurgeReplies(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	b, _ := setup(t, s, "b")
	add := func(clinicID int64, sid, body string, at time.Time) {
		t.Helper()
		r := &aftercare.Reply{ClinicID: clinicID, From: "+14155550100", To: "+14155550199", Body: body, ProviderID: sid,
			ReceivedAt: at, Kind: aftercare.ReplyText}
		if _, err := s.AddReply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	add(c.ID, "SM01", "my cheek has pus", t0.Add(-100*24*time.Hour))
	add(c.ID, "SM02", "thanks!", t0)
	add(b.ID, "SM03", "old words of clinic b", t0.Add(-100*24*time.Hour))
	const marker = "[purged after 30 days]"
	got, err := s.PurgeTexts(ctx, c.ID, t0.Add(-30*24*time.Hour), marker, false)
	if err != nil || got.Replies != 1 {
		t.Fatalf("purge: %+v %v, want 1 reply", got, err)
	}
	bodies := func(clinicID int64) map[string]string {
		rs, err := s.ListReplies(ctx, aftercare.ReplyFilter{ClinicID: clinicID})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rs {
			out[r.ProviderID] = r.Body
		}
		return out
	}
	if got := bodies(c.ID); got["SM01"] != marker || got["SM02"] != "thanks!" {
		t.Errorf("clinic a's replies after the purge: %v", got)
	}
	if got := bodies(b.ID); got["SM03"] != "old words of clinic b" {
		t.Errorf("clinic b's reply was purged: %v", got)
	}
}
