package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// inboxGroups check aftercare.InboxStore.
var inboxGroups = []testGroup{
	{"AddReply", []testCase{
		{"OKAndReplayIgnored", testAddReplyOK},
		{"ErrInvalid", testAddReplyErrInvalid},
	}},
	{"ListReplies", []testCase{
		{"RedFlagsFirstThenNewest", testListRepliesOrder},
		{"TenantIsolated", testRepliesTenantIsolated},
	}},
	{"MarkRead", []testCase{
		{"FirstTimeOnly", testMarkRead},
		{"ErrNotFound", testMarkReadErrNotFound},
	}},
	{"MatchReply", []testCase{
		{"LatestSMSSent", testMatchReplyLatestSMS},
		{"ErrNotFound", testMatchReplyErrNotFound},
	}},
	{"AddReplyMessage", []testCase{
		{"ClaimedOrPending", testAddReplyMessage},
		{"ErrNotFound", testAddReplyMessageErrNotFound},
	}},
}

// Patients' replies and the answers to them (InboxStore).

func reply(c *aftercare.Clinic, sid, body string, at time.Time) *aftercare.Reply {
	return &aftercare.Reply{ClinicID: c.ID, From: "+14155550199", To: "+14155550100", Body: body, ProviderID: sid,
		ReceivedAt: at, Kind: aftercare.ReplyText}
}

func addReply(t *testing.T, s aftercare.Store, r *aftercare.Reply) {
	t.Helper()
	if created, err := s.AddReply(context.Background(), r); err != nil || !created {
		t.Fatalf("AddReply(%s): created %v, %v", r.ProviderID, created, err)
	}
}

// testAddReplyOK: a reply round-trips in UTC; the same provider id again
// (a replayed webhook) writes nothing, even for another clinic.
func testAddReplyOK(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	r := reply(c, "SM1", "pus on my cheek", t0.In(elsewhere))
	r.PatientID, r.EnrollmentID, r.Kind, r.RedFlag, r.RedFlagWords = ne.Patient.ID, ne.Enrollment.ID, aftercare.ReplyRedFlag, true, "pus"
	addReply(t, s, r)
	if r.ID == 0 {
		t.Fatal("no ID")
	}
	got, err := s.FindReply(ctx, c.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Body != r.Body || !got.ReceivedAt.Equal(t0) || got.ReceivedAt.Location() != time.UTC || !got.RedFlag ||
		got.RedFlagWords != "pus" || got.Kind != aftercare.ReplyRedFlag || got.PatientName != ne.Patient.Name || !got.ReadAt.IsZero() {
		t.Errorf("FindReply = %+v", got)
	}
	other := createClinic(t, s, "b", false)
	again := reply(other, "SM1", "another text", t0.Add(time.Minute))
	if created, err := s.AddReply(ctx, again); err != nil || created {
		t.Errorf("replayed AddReply: created %v, %v; want false, nil", created, err)
	}
	if seen, err := s.ReplySeen(ctx, "SM1"); err != nil || !seen {
		t.Errorf("ReplySeen(SM1) = %v, %v", seen, err)
	}
	if seen, _ := s.ReplySeen(ctx, "SM2"); seen {
		t.Error("ReplySeen(SM2) = true")
	}
	if n, _ := s.CountUnread(ctx, other.ID); n != 0 {
		t.Errorf("the replay reached clinic b: %d unread", n)
	}
}

func testAddReplyErrInvalid(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	for _, r := range []*aftercare.Reply{
		{ClinicID: c.ID, From: "+14155550199"},
		{ClinicID: c.ID, ProviderID: "SM1"},
		{From: "+14155550199", ProviderID: "SM1"},
	} {
		if _, err := s.AddReply(context.Background(), r); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("AddReply(%+v) = %v, want EINVALID", r, err)
		}
	}
}

func testListRepliesOrder(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	old := reply(c, "SM1", "old", t0)
	flag := reply(c, "SM2", "fever", t0.Add(time.Minute))
	flag.RedFlag, flag.Kind = true, aftercare.ReplyRedFlag
	newest := reply(c, "SM3", "thanks", t0.Add(2*time.Minute))
	for _, r := range []*aftercare.Reply{old, flag, newest} {
		addReply(t, s, r)
	}
	ids := func(f aftercare.ReplyFilter) []string {
		rs, err := s.ListReplies(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ProviderID)
		}
		return out
	}
	if got := ids(aftercare.ReplyFilter{ClinicID: c.ID}); !slices.Equal(got, []string{"SM2", "SM3", "SM1"}) {
		t.Errorf("inbox order %v, want the red flag first then newest", got)
	}
	if err := s.MarkRead(ctx, c.ID, flag.ID, 7, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := ids(aftercare.ReplyFilter{ClinicID: c.ID}); !slices.Equal(got, []string{"SM3", "SM2", "SM1"}) {
		t.Errorf("after reading the red flag: %v, want newest first", got)
	}
	if got := ids(aftercare.ReplyFilter{ClinicID: c.ID, Unread: true, Limit: 1}); !slices.Equal(got, []string{"SM3"}) {
		t.Errorf("unread, limit 1: %v", got)
	}
	if n, err := s.CountUnread(ctx, c.ID); err != nil || n != 2 {
		t.Errorf("CountUnread = %d, %v; want 2", n, err)
	}
}

// testRepliesTenantIsolated: a reply of clinic a is invisible to b: list,
// find, count and mark read.
func testRepliesTenantIsolated(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	r := reply(a, "SM1", "hello", t0)
	addReply(t, s, r)
	if rs, _ := s.ListReplies(ctx, aftercare.ReplyFilter{ClinicID: b.ID}); len(rs) != 0 {
		t.Errorf("clinic b lists %d replies of a", len(rs))
	}
	if _, err := s.FindReply(ctx, b.ID, r.ID); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("FindReply from b = %v, want ENOTFOUND", err)
	}
	if err := s.MarkRead(ctx, b.ID, r.ID, 1, t0); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("MarkRead from b = %v, want ENOTFOUND", err)
	}
	if n, _ := s.CountUnread(ctx, a.ID); n != 1 {
		t.Errorf("clinic a: %d unread, want 1", n)
	}
}

func testMarkRead(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	r := reply(c, "SM1", "ok", t0)
	addReply(t, s, r)
	at := t0.Add(time.Hour)
	if err := s.MarkRead(ctx, c.ID, r.ID, 7, at.In(elsewhere)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRead(ctx, c.ID, r.ID, 8, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAutoAnswered(ctx, c.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := s.FindReply(ctx, c.ID, r.ID)
	if !got.ReadAt.Equal(at) || got.ReadBy != 7 || !got.AutoAnswered {
		t.Errorf("after two reads: read %s by %d, answered %v; want the first read kept", got.ReadAt, got.ReadBy, got.AutoAnswered)
	}
}

func testMarkReadErrNotFound(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	if err := s.MarkRead(context.Background(), c.ID, 99, 1, t0); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("MarkRead = %v, want ENOTFOUND", err)
	}
	if err := s.SetAutoAnswered(context.Background(), c.ID, 99); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("SetAutoAnswered = %v, want ENOTFOUND", err)
	}
}

// testMatchReplyLatestSMS: the reply answers the patient's latest SMS sent
// before it; before any was sent, it belongs to the latest enrollment.
func testMatchReplyLatestSMS(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 4) // SMS at 12 h and 24 h
	enroll(t, s, ne)
	phone := ne.Patient.Phone
	m, err := s.MatchReply(ctx, c.ID, phone, t0.Add(time.Hour))
	if err != nil || m.PatientID != ne.Patient.ID || m.EnrollmentID != ne.Enrollment.ID || m.MessageID != 0 {
		t.Fatalf("before any SMS: %+v, %v", m, err)
	}
	claimed, err := s.ClaimDue(ctx, t0.Add(13*time.Hour), claimant, 10)
	if err != nil {
		t.Fatal(err)
	}
	var sms *aftercare.Message
	for _, cl := range claimed {
		if cl.Message.Channel == aftercare.SMS {
			sms = cl.Message
		}
	}
	if sms == nil {
		t.Fatal("no SMS claimed")
	}
	if err := s.RecordOutcome(ctx, outcome(sms, aftercare.StatusSent, "SMout1", t0.Add(13*time.Hour))); err != nil {
		t.Fatal(err)
	}
	m, err = s.MatchReply(ctx, c.ID, phone, t0.Add(14*time.Hour))
	if err != nil || m.MessageID != sms.ID || m.EnrollmentID != ne.Enrollment.ID {
		t.Errorf("after the SMS: %+v, %v; want message %d", m, err, sms.ID)
	}
	m, _ = s.MatchReply(ctx, c.ID, phone, t0.Add(12*time.Hour))
	if m.MessageID != 0 {
		t.Errorf("a reply from before the SMS answers message %d", m.MessageID)
	}
}

func testMatchReplyErrNotFound(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	other := createClinic(t, s, "b", false)
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	for _, tc := range []struct {
		clinic int64
		phone  string
	}{{c.ID, "+14155559999"}, {other.ID, ne.Patient.Phone}, {c.ID, ""}} {
		if _, err := s.MatchReply(context.Background(), tc.clinic, tc.phone, t0); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
			t.Errorf("MatchReply(%d, %q) = %v, want ENOTFOUND", tc.clinic, tc.phone, err)
		}
	}
}

// testAddReplyMessage: an answer sent now is stored sending under its
// owner, ready for RecordOutcome; a queued one is pending; occurrences count
// up per step; CountAnswers counts them.
func testAddReplyMessage(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	now := &aftercare.Message{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID, StepKey: aftercare.StepReplyAuto, Channel: aftercare.SMS,
		Lang: "en", Body: "Clinic a: we read replies during opening hours.", Segments: 1, SendAt: t0}
	if err := s.AddReplyMessage(ctx, now, claimant); err != nil {
		t.Fatal(err)
	}
	later := &aftercare.Message{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID, StepKey: aftercare.StepReplyAuto, Channel: aftercare.SMS,
		Lang: "en", Body: "second", Segments: 1, SendAt: t0.Add(10 * time.Hour)}
	if err := s.AddReplyMessage(ctx, later, ""); err != nil {
		t.Fatal(err)
	}
	if now.Occurrence != 0 || later.Occurrence != 1 || now.PatientID != ne.Patient.ID {
		t.Errorf("occurrences %d, %d; patient %d", now.Occurrence, later.Occurrence, now.PatientID)
	}
	if got := message(t, s, c.ID, now.ID); got.Status != aftercare.StatusSending || got.ClaimedBy != claimant || got.Body != now.Body {
		t.Errorf("sent now: %+v", got)
	}
	if got := message(t, s, c.ID, later.ID); got.Status != aftercare.StatusPending || !got.NextAttemptAt.Equal(t0.Add(10*time.Hour)) {
		t.Errorf("queued: %+v", got)
	}
	if err := s.RecordOutcome(ctx, outcome(now, aftercare.StatusSent, "SMans", t0)); err != nil {
		t.Errorf("RecordOutcome of an answer: %v", err)
	}
	n, err := s.CountAnswers(ctx, c.ID, ne.Patient.ID, []string{aftercare.StepReplyAuto, aftercare.StepReplyRedFlag}, t0)
	if err != nil || n != 2 {
		t.Errorf("CountAnswers = %d, %v; want 2", n, err)
	}
	if n, _ := s.CountAnswers(ctx, c.ID, ne.Patient.ID, []string{aftercare.StepReplyAuto}, t0.Add(time.Hour)); n != 1 {
		t.Errorf("CountAnswers since t0+1h = %d, want 1", n)
	}
}

func testAddReplyMessageErrNotFound(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	other := createClinic(t, s, "b", false)
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	m := &aftercare.Message{ClinicID: other.ID, EnrollmentID: ne.Enrollment.ID, StepKey: aftercare.StepReplyStaff, Channel: aftercare.SMS, Body: "hi"}
	if err := s.AddReplyMessage(context.Background(), m, ""); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("another clinic's enrollment: %v, want ENOTFOUND", err)
	}
}
