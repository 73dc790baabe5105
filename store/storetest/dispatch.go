package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// dispatchGroups check aftercare.DispatchStore (leases and unknown messages
// in dispatch_leases.go, first emails in dispatch_first_email.go, counts
// in dispatch_counts.go).
var dispatchGroups = []testGroup{
	{"ClaimDue", []testCase{
		{"FirstSMS", testClaimFirstSMS},
		{"FirstEmail", testClaimFirstEmail},
	}},
	{"ClaimLease", []testCase{
		{"RenewalKeepsClaims", testLeaseRenewalKeepsClaims},
		{"TakeoverAfterLapse", testLeaseTakeoverAfterLapse},
		{"EndAndOrphans", testLeaseEndAndOrphans},
		{"ErrInvalid", testLeaseErrInvalid},
	}},
	{"CountMessages", []testCase{
		{"ByStateChannelAndDue", testCountMessages},
	}},
	{"ListUnknown", []testCase{
		{"Pages", testUnknownPages},
	}},
	{"ProviderStatus", []testCase{
		{"Forward", testProviderStatusForward},
		{"BeforeOutcome", testProviderStatusBeforeOutcome},
		{"BeforeResolve", testProviderStatusBeforeResolve},
		{"ErrInvalid", testProviderStatusErrInvalid},
	}},
}

// Provider status reports (DispatchStore.ApplyProviderStatus).

const claimant = "test/1"

// claimTwo enrolls a patient with an SMS and an email due at t0+12h and
// claims both.
func claimTwo(t *testing.T, s aftercare.Store) (*aftercare.Clinic, []*aftercare.Claimed) {
	t.Helper()
	c, p := setup(t, s, "downtown")
	enroll(t, s, Enrollment(c.ID, p.ID, 1, t0, 2))
	claimed, err := s.ClaimDue(context.Background(), t0.Add(13*time.Hour), claimant, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("ClaimDue: %d claimed, %v; want 2", len(claimed), err)
	}
	return c, claimed
}

// outcome is what the dispatcher records after a provider took m as sid
// ("" for an outcome with no provider id).
func outcome(m *aftercare.Message, status aftercare.Status, sid string, at time.Time) *aftercare.Outcome {
	o := &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: claimant, Status: status, Sender: "twilio",
		Attempt: aftercare.Attempt{Number: m.Attempts, At: at, Channel: m.Channel, Sender: "twilio", Outcome: status}}
	if sid != "" {
		o.SentAt, o.ProviderID, o.ProviderState = at, sid, "queued"
		o.Attempt.ProviderID, o.Attempt.ProviderStatus = sid, "queued"
	}
	return o
}

func message(t *testing.T, s aftercare.Store, clinicID, id int64) *aftercare.Message {
	t.Helper()
	for _, m := range listMessages(t, s, aftercare.MessageFilter{ClinicID: clinicID}) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no message %d", id)
	return nil
}

func applyStatus(t *testing.T, s aftercare.Store, sid string, status aftercare.Status, code string, at time.Time) bool {
	t.Helper()
	moved, err := s.ApplyProviderStatus(context.Background(), sid, status, code, at)
	if err != nil {
		t.Fatalf("ApplyProviderStatus(%s, %s): %v", sid, status, err)
	}
	return moved
}

func testProviderStatusForward(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, claimed := claimTwo(t, s)
	m := claimed[0].Message
	sent := t0.Add(13 * time.Hour)
	if err := s.RecordOutcome(ctx, outcome(m, aftercare.StatusSent, "SM01", sent)); err != nil {
		t.Fatal(err)
	}
	if !applyStatus(t, s, "SM01", aftercare.StatusDelivered, "", sent.Add(5*time.Second)) {
		t.Fatal("delivered after sent did not move the message")
	}
	if applyStatus(t, s, "SM01", aftercare.StatusSent, "", sent.Add(6*time.Second)) {
		t.Error("a late sent moved a delivered message")
	}
	got := message(t, s, c.ID, m.ID)
	if got.Status != aftercare.StatusDelivered || !got.DeliveredAt.Equal(sent.Add(5*time.Second)) || got.ProviderState != "delivered" {
		t.Errorf("after delivered, then sent: %s delivered at %v, provider state %q", got.Status, got.DeliveredAt, got.ProviderState)
	}
}

// A callback that comes before the dispatcher recorded the send (Twilio
// answered, the outcome is not committed yet) is kept and applied, forward
// only, when the outcome stores its provider id.
func testProviderStatusBeforeOutcome(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, claimed := claimTwo(t, s)
	sms, email := claimed[0].Message, claimed[1].Message
	sent := t0.Add(13 * time.Hour)
	// Out of order, before any message has SM02: sent, delivered, sent again.
	for i, st := range []aftercare.Status{aftercare.StatusSent, aftercare.StatusDelivered, aftercare.StatusSent} {
		if applyStatus(t, s, "SM02", st, "", sent.Add(time.Duration(i+1)*time.Second)) {
			t.Fatalf("report %d (%s) for an id no message has moved something", i, st)
		}
	}
	if applyStatus(t, s, "SM03", aftercare.StatusUndelivered, "30003", sent.Add(time.Second)) {
		t.Fatal("a report for an id no message has moved something")
	}
	if got := message(t, s, c.ID, sms.ID); got.Status != aftercare.StatusSending {
		t.Fatalf("a kept report changed a message before its outcome: %s", got.Status)
	}
	if err := s.RecordOutcome(ctx, outcome(sms, aftercare.StatusSent, "SM02", sent.Add(3*time.Second))); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordOutcome(ctx, outcome(email, aftercare.StatusSent, "SM03", sent.Add(3*time.Second))); err != nil {
		t.Fatal(err)
	}
	got := message(t, s, c.ID, sms.ID)
	if got.Status != aftercare.StatusDelivered || !got.DeliveredAt.Equal(sent.Add(2*time.Second)) || got.ProviderID != "SM02" {
		t.Errorf("outcome after an early delivered: %s delivered at %v id %q; want delivered at the report's time", got.Status, got.DeliveredAt, got.ProviderID)
	}
	if got := message(t, s, c.ID, email.ID); got.Status != aftercare.StatusUndelivered || got.ErrorCode != "30003" {
		t.Errorf("outcome after an early undelivered: %s code %q", got.Status, got.ErrorCode)
	}
	// Applied once: the report is not kept any more, later ones apply directly.
	if applyStatus(t, s, "SM02", aftercare.StatusDelivered, "", sent.Add(time.Minute)) {
		t.Error("a duplicate delivered moved the message again")
	}
	if at, err := s.ListAttempts(ctx, c.ID, sms.ID); err != nil || len(at) != 1 || at[0].ProviderID != "SM02" {
		t.Errorf("attempts: %s, %v; want the one send", dump(at), err)
	}
}

// A kept report is applied when the reconciler resolves an unknown message
// with its provider id.
func testProviderStatusBeforeResolve(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, claimed := claimTwo(t, s)
	m := claimed[0].Message
	at := t0.Add(13 * time.Hour)
	if err := s.RecordOutcome(ctx, outcome(m, aftercare.StatusUnknown, "", at)); err != nil {
		t.Fatal(err)
	}
	if applyStatus(t, s, "SM04", aftercare.StatusDelivered, "", at.Add(time.Second)) {
		t.Fatal("a report for an id no message has moved something")
	}
	a := aftercare.Attempt{ClinicID: c.ID, Number: m.Attempts, At: at.Add(time.Minute), Channel: m.Channel, Sender: "twilio",
		ProviderID: "SM04", ProviderStatus: "sent", Outcome: aftercare.StatusSent}
	if err := s.Resolve(ctx, m.ID, a, aftercare.StatusSent, "SM04"); err != nil {
		t.Fatal(err)
	}
	if got := message(t, s, c.ID, m.ID); got.Status != aftercare.StatusDelivered || !got.DeliveredAt.Equal(at.Add(time.Second)) {
		t.Errorf("resolved after an early delivered: %s delivered at %v", got.Status, got.DeliveredAt)
	}
}

func testProviderStatusErrInvalid(t *testing.T, s aftercare.Store) {
	_, err := s.ApplyProviderStatus(context.Background(), "", aftercare.StatusDelivered, "", t0)
	wantCode(t, "an empty provider id", err, aftercare.EINVALID)
	_, err = s.ApplyProviderStatus(context.Background(), "SM05", "read", "", t0)
	wantCode(t, "an unknown status", err, aftercare.EINVALID)
}

// firstsFixture enrolls two patients, a and b, each with an SMS and an
// email at 12 h, 24 h and 36 h after t0 that none expires while the test
// claims. claim claims what is due at t0+at, keyed "a/step-00/sms".
func firstsFixture(t *testing.T, s aftercare.Store) (*aftercare.Clinic, func(at time.Duration) map[string]*aftercare.Claimed) {
	t.Helper()
	c, p := setup(t, s, "downtown")
	a := Enrollment(c.ID, p.ID, 1, t0, 6)
	b := Enrollment(c.ID, p.ID, 2, t0, 6)
	for _, m := range append(a.Messages, b.Messages...) {
		m.ExpiresAt = m.SendAt.Add(3 * 24 * time.Hour)
	}
	enroll(t, s, a)
	enroll(t, s, b)
	claim := func(at time.Duration) map[string]*aftercare.Claimed {
		t.Helper()
		claimed, err := s.ClaimDue(context.Background(), t0.Add(at), claimant, 20)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]*aftercare.Claimed{}
		for _, cl := range claimed {
			who := "a"
			if cl.Message.EnrollmentID == b.Enrollment.ID {
				who = "b"
			}
			out[who+"/"+cl.Message.StepKey+"/"+string(cl.Message.Channel)] = cl
		}
		return out
	}
	return c, claim
}

// testClaimFirstSMS: ClaimDue marks the first SMS of each enrollment that
// reaches a provider (Claimed.FirstSMS), and RecordOutcome keeps the text
// the dispatcher actually sent (Outcome.Body).
func testClaimFirstSMS(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, claim := firstsFixture(t, s)
	first := claim(25 * time.Hour)
	want := map[string]bool{"a/step-00/sms": true, "b/step-00/sms": true}
	if len(first) != 8 {
		t.Fatalf("claimed %d messages, want 8", len(first))
	}
	for k, cl := range first {
		if cl.FirstSMS != want[k] {
			t.Errorf("%s: FirstSMS %v, want %v", k, cl.FirstSMS, want[k])
		}
	}
	// a's first text goes out with the notice; b's first two fail.
	m := first["a/step-00/sms"].Message
	o := outcome(m, aftercare.StatusSent, "SM00000000000000000000000000000001", t0.Add(25*time.Hour))
	o.Body, o.Segments = m.Body+"\nReply STOP to opt out.", 3
	if err := s.RecordOutcome(ctx, o); err != nil {
		t.Fatal(err)
	}
	if got := message(t, s, c.ID, m.ID); got.Body != o.Body || got.Segments != 3 {
		t.Errorf("after RecordOutcome with a body: %q (%d segments), want the text sent", got.Body, got.Segments)
	}
	other := first["a/step-01/sms"].Message
	if err := s.RecordOutcome(ctx, outcome(other, aftercare.StatusSent, "SM00000000000000000000000000000002", t0.Add(25*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got := message(t, s, c.ID, other.ID); got.Body != other.Body {
		t.Errorf("an outcome without a body changed the text to %q", got.Body)
	}
	for _, k := range []string{"b/step-00/sms", "b/step-01/sms"} {
		if err := s.RecordOutcome(ctx, outcome(first[k].Message, aftercare.StatusFailed, "", t0.Add(25*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	later := claim(37 * time.Hour)
	if cl := later["a/step-02/sms"]; cl == nil || cl.FirstSMS {
		t.Errorf("a's third text: %+v; want claimed, not first (a text of a was sent)", cl)
	}
	if cl := later["b/step-02/sms"]; cl == nil || !cl.FirstSMS {
		t.Errorf("b's third text: %+v; want claimed and first (b's earlier texts all failed)", cl)
	}
}
