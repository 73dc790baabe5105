package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

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
