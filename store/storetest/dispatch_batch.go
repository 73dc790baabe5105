package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// outcomeBatcher and optOutManyChecker are the dispatcher's optional store
// interfaces (scheduler/dispatch): its group commit of outcomes and its
// grouped opt-out check. A store that has them is held here to the
// contracts of RecordOutcome and OptedOut, outcome by outcome; the cases
// skip on a store without them.
type (
	outcomeBatcher interface {
		RecordOutcomes(ctx context.Context, outcomes []*aftercare.Outcome) []error
	}
	optOutManyChecker interface {
		OptedOutMany(ctx context.Context, clinicIDs, patientIDs []int64, chs []aftercare.Channel) ([]bool, error)
	}
)

// dispatchBatchGroups check the optional group methods.
var dispatchBatchGroups = []testGroup{
	{"RecordOutcomes", []testCase{
		{"ConflictLeftOut", testRecordOutcomesConflict},
		{"ErrInvalid", testRecordOutcomesErrInvalid},
		{"TextAndEarlyReport", testRecordOutcomesTextAndReport},
		{"OptOut", testRecordOutcomesOptOut},
		{"Fallback", testRecordOutcomesFallback},
	}},
	{"OptedOutMany", []testCase{
		{"AsOptedOut", testOptedOutMany},
		{"ErrNotFound", testOptedOutManyErrNotFound},
		{"ErrInvalid", testOptedOutManyErrInvalid},
	}},
}

func batcher(t *testing.T, s aftercare.Store) outcomeBatcher {
	t.Helper()
	b, ok := s.(outcomeBatcher)
	if !ok {
		t.Skip("the store records each outcome alone (no RecordOutcomes)")
	}
	return b
}

// claimEach enrolls n patients with one SMS each, due at t0+12h, and
// claims them all; it returns the clinic and the claims in message order.
func claimEach(t *testing.T, s aftercare.Store, n int) (*aftercare.Clinic, []*aftercare.Claimed) {
	t.Helper()
	c, p := setup(t, s, "downtown")
	for i := range n {
		enroll(t, s, Enrollment(c.ID, p.ID, i, t0, 1))
	}
	claimed, err := s.ClaimDue(context.Background(), t0.Add(13*time.Hour), claimant, n)
	if err != nil || len(claimed) != n {
		t.Fatalf("ClaimDue: %d claimed, %v; want %d", len(claimed), err, n)
	}
	slices.SortFunc(claimed, func(a, b *aftercare.Claimed) int { return cmp.Compare(a.Message.ID, b.Message.ID) })
	return c, claimed
}

// messagesOf returns the claims' messages, in their order.
func messagesOf(claimed []*aftercare.Claimed) []*aftercare.Message {
	ms := make([]*aftercare.Message, len(claimed))
	for i, cl := range claimed {
		ms[i] = cl.Message
	}
	return ms
}

// wantErrs checks RecordOutcomes' errors against the codes wanted ("" for
// none).
func wantErrs(t *testing.T, errs []error, codes ...string) {
	t.Helper()
	if len(errs) != len(codes) {
		t.Fatalf("RecordOutcomes returned %d errors for %d outcomes", len(errs), len(codes))
	}
	for i, err := range errs {
		if got := aftercare.ErrorCode(err); got != codes[i] {
			t.Errorf("outcome %d: %v (code %q), want code %q", i, err, got, codes[i])
		}
	}
}

// wantStored checks each message's status and how many attempts it has.
func wantStored(t *testing.T, s aftercare.Store, c *aftercare.Clinic, ms []*aftercare.Message, statuses []aftercare.Status, attempts []int) {
	t.Helper()
	for i, m := range ms {
		if got := message(t, s, c.ID, m.ID); got.Status != statuses[i] {
			t.Errorf("message %d is %s, want %s", i, got.Status, statuses[i])
		}
		as, err := s.ListAttempts(context.Background(), c.ID, m.ID)
		if err != nil || len(as) != attempts[i] {
			t.Errorf("message %d has %d attempts (%v), want %d", i, len(as), err, attempts[i])
		}
	}
}

// testRecordOutcomesConflict: an outcome in the middle of a group that is
// no longer its claimer's (ECONFLICT) is left out, nothing of it written,
// and the outcomes around it are committed. The group is not in message
// order, so errs must follow the outcomes, not the order the store writes
// them in.
func testRecordOutcomesConflict(t *testing.T, s aftercare.Store) {
	b := batcher(t, s)
	c, claimed := claimEach(t, s, 4)
	at := t0.Add(13 * time.Hour)
	ms := messagesOf(claimed)
	other := outcome(ms[1], aftercare.StatusSent, "SMb", at)
	other.ClaimedBy = "someone-else"
	errs := b.RecordOutcomes(context.Background(), []*aftercare.Outcome{
		outcome(ms[3], aftercare.StatusSent, "SMd", at),
		outcome(ms[0], aftercare.StatusFailed, "", at),
		other,
		outcome(ms[2], aftercare.StatusSent, "SMc", at),
	})
	wantErrs(t, errs, "", "", aftercare.ECONFLICT, "")
	wantStored(t, s, c, ms, []aftercare.Status{aftercare.StatusFailed, aftercare.StatusSending, aftercare.StatusSent, aftercare.StatusSent},
		[]int{1, 0, 1, 1})
	if got := message(t, s, c.ID, ms[3].ID); got.ProviderID != "SMd" {
		t.Errorf("message 3 has provider id %q, want its own outcome's SMd", got.ProviderID)
	}
	// Its owner's outcome, later, commits.
	wantErrs(t, b.RecordOutcomes(context.Background(), []*aftercare.Outcome{outcome(ms[1], aftercare.StatusSent, "SMb", at)}), "")
	if got := message(t, s, c.ID, ms[1].ID); got.Status != aftercare.StatusSent {
		t.Errorf("message 1 after its owner's outcome: %s, want sent", got.Status)
	}
}

// testRecordOutcomesErrInvalid: an outcome that is not one (sending) is
// refused before the transaction; one the schema refuses (an attempt on an
// unknown channel) fails the group's transaction, which is then tried
// outcome by outcome: the others are committed all the same, and nothing
// of the bad ones is written.
func testRecordOutcomesErrInvalid(t *testing.T, s aftercare.Store) {
	b := batcher(t, s)
	c, claimed := claimEach(t, s, 4)
	at := t0.Add(13 * time.Hour)
	ms := messagesOf(claimed)
	bad := outcome(ms[2], aftercare.StatusSent, "SMc", at)
	bad.Attempt.Channel = "fax"
	errs := b.RecordOutcomes(context.Background(), []*aftercare.Outcome{
		outcome(ms[0], aftercare.StatusSent, "SMa", at),
		outcome(ms[1], aftercare.StatusSending, "", at),
		bad,
		outcome(ms[3], aftercare.StatusSent, "SMd", at),
	})
	wantErrs(t, errs, "", aftercare.EINVALID, aftercare.EINVALID, "")
	wantStored(t, s, c, ms, []aftercare.Status{aftercare.StatusSent, aftercare.StatusSending, aftercare.StatusSending, aftercare.StatusSent},
		[]int{1, 0, 0, 1})
	if errs := b.RecordOutcomes(context.Background(), nil); len(errs) != 0 {
		t.Errorf("no outcomes: %v", errs)
	}
}

// testRecordOutcomesTextAndReport: in a group, an outcome keeps the text
// the dispatcher actually sent, and a provider's report that came before
// the outcome (kept, see ApplyProviderStatus) is applied to its message
// only.
func testRecordOutcomesTextAndReport(t *testing.T, s aftercare.Store) {
	b := batcher(t, s)
	c, claimed := claimEach(t, s, 3)
	at := t0.Add(13 * time.Hour)
	if applyStatus(t, s, "SMearly", aftercare.StatusDelivered, "", at.Add(time.Second)) {
		t.Fatal("a report for an id no message has moved something")
	}
	withText := outcome(claimed[0].Message, aftercare.StatusSent, "SMtext", at)
	withText.Body, withText.Segments = "Hi, this is Downtown. Reply STOP to opt out.", 1
	wantErrs(t, b.RecordOutcomes(context.Background(), []*aftercare.Outcome{
		withText,
		outcome(claimed[1].Message, aftercare.StatusSent, "SMearly", at),
		outcome(claimed[2].Message, aftercare.StatusSent, "SMlate", at),
	}), "", "", "")
	if got := message(t, s, c.ID, claimed[0].Message.ID); got.Body != withText.Body || got.Segments != 1 {
		t.Errorf("the text sent: %q (%d segments), want %q (1)", got.Body, got.Segments, withText.Body)
	}
	if got := message(t, s, c.ID, claimed[1].Message.ID); got.Status != aftercare.StatusDelivered || !got.DeliveredAt.Equal(at.Add(time.Second)) {
		t.Errorf("after an early delivered: %s delivered at %v; want delivered at the report's time", got.Status, got.DeliveredAt)
	}
	for _, i := range []int{0, 2} {
		if got := message(t, s, c.ID, claimed[i].Message.ID); got.Status != aftercare.StatusSent {
			t.Errorf("message %d, with no report: %s, want sent", i, got.Status)
		}
	}
	if got := message(t, s, c.ID, claimed[2].Message.ID); got.Body != claimed[2].Message.Body {
		t.Errorf("a message with no text in its outcome: %q, want its planned text", got.Body)
	}
}

// testRecordOutcomesOptOut: a provider's opt-out (Twilio 21610) in a group
// marks that patient opted out of the channel and records it in the
// consent history, and no one else.
func testRecordOutcomesOptOut(t *testing.T, s aftercare.Store) {
	b := batcher(t, s)
	ctx := context.Background()
	c, claimed := claimEach(t, s, 3)
	at := t0.Add(13 * time.Hour)
	out := outcome(claimed[1].Message, aftercare.StatusFailed, "", at)
	out.ErrorCode, out.Error, out.OptOut = "21610", "unsubscribed recipient", true
	wantErrs(t, b.RecordOutcomes(ctx, []*aftercare.Outcome{
		outcome(claimed[0].Message, aftercare.StatusSent, "SMa", at),
		out,
		outcome(claimed[2].Message, aftercare.StatusSent, "SMc", at),
	}), "", "", "")
	for i, cl := range claimed {
		p := cl.Message.PatientID
		sms, err := s.OptedOut(ctx, c.ID, p, aftercare.SMS)
		if err != nil || sms != (i == 1) {
			t.Errorf("patient %d opted out of SMS: %v, %v; want %v", i, sms, err, i == 1)
		}
		if email, _ := s.OptedOut(ctx, c.ID, p, aftercare.Email); email {
			t.Errorf("patient %d opted out of email after an SMS opt-out", i)
		}
		evs, err := s.ListConsentEvents(ctx, c.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		withdrawn := 0
		for _, ev := range evs {
			if ev.Action == aftercare.ConsentWithdrawn {
				withdrawn++
				if ev.Channel != aftercare.SMS || ev.Source != "twilio:21610" {
					t.Errorf("patient %d: withdrawn %s from %q, want sms from twilio:21610", i, ev.Channel, ev.Source)
				}
			}
		}
		if want := map[bool]int{true: 1}[i == 1]; withdrawn != want {
			t.Errorf("patient %d has %d withdrawals in the consent history, want %d", i, withdrawn, want)
		}
	}
}

// testRecordOutcomesFallback: in a group, a failed SMS's fallback becomes
// a pending email, unless its enrollment has that email already, which is
// left as planned.
func testRecordOutcomesFallback(t *testing.T, s aftercare.Store) {
	b := batcher(t, s)
	ctx := context.Background()
	c, p := setup(t, s, "downtown")
	alone := Enrollment(c.ID, p.ID, 1, t0, 1) // an SMS only
	twin := Enrollment(c.ID, p.ID, 2, t0, 2)  // an SMS and its email
	enroll(t, s, alone)
	enroll(t, s, twin)
	at := t0.Add(13 * time.Hour)
	claimed, err := s.ClaimDue(ctx, at, claimant, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("ClaimDue: %d claimed, %v; want 3", len(claimed), err)
	}
	fallback := func(ne *aftercare.NewEnrollment) *aftercare.Outcome {
		i := slices.IndexFunc(claimed, func(cl *aftercare.Claimed) bool {
			return cl.Message.EnrollmentID == ne.Enrollment.ID && cl.Message.Channel == aftercare.SMS
		})
		m := claimed[i].Message
		o := outcome(m, aftercare.StatusFailed, "", at)
		o.ErrorCode, o.Error = "21211", "invalid number"
		o.Fallback = &aftercare.Message{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID, PatientID: ne.Enrollment.PatientID,
			StepKey: m.StepKey, Occurrence: m.Occurrence, Channel: aftercare.Email, Lang: "en", Status: aftercare.StatusPending,
			SendAt: at, NextAttemptAt: at, Subject: "A fallback", Body: fmt.Sprintf("The SMS of enrollment %d failed", ne.Enrollment.ID)}
		return o
	}
	wantErrs(t, b.RecordOutcomes(ctx, []*aftercare.Outcome{fallback(twin), fallback(alone)}), "", "")

	got := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: alone.Enrollment.ID})
	if len(got) != 2 || got[0].Status != aftercare.StatusFailed {
		t.Fatalf("the SMS-only enrollment after its fallback: %s; want the failed SMS and a pending email", dump(got))
	}
	if e := got[1]; e.Channel != aftercare.Email || e.Status != aftercare.StatusPending || e.Subject != "A fallback" ||
		e.Body != fmt.Sprintf("The SMS of enrollment %d failed", alone.Enrollment.ID) {
		t.Errorf("the fallback: %s", dump(e))
	}
	got = listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: twin.Enrollment.ID})
	if len(got) != 2 || got[0].Status != aftercare.StatusFailed || got[1].ID != twin.Messages[1].ID || got[1].Body != emailBody {
		t.Errorf("the enrollment with the email already: %s; want the failed SMS and its email as planned", dump(got))
	}
}

func manyChecker(t *testing.T, s aftercare.Store) optOutManyChecker {
	t.Helper()
	mc, ok := s.(optOutManyChecker)
	if !ok {
		t.Skip("the store reads each opt-out alone (no OptedOutMany)")
	}
	return mc
}

// testOptedOutMany: OptedOutMany answers as OptedOut does, patient by
// patient and channel by channel, a patient asked for twice included.
func testOptedOutMany(t *testing.T, s aftercare.Store) {
	mc := manyChecker(t, s)
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	a, b := Enrollment(c.ID, proto.ID, 1, t0, 1), Enrollment(c.ID, proto.ID, 2, t0, 1)
	enroll(t, s, a)
	enroll(t, s, b)
	if _, err := s.SetConsent(ctx, &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: b.Patient.ID, Channel: aftercare.SMS,
		Action: aftercare.ConsentWithdrawn, At: t0, Source: "sms:STOP"}); err != nil {
		t.Fatal(err)
	}
	patients := []int64{a.Patient.ID, b.Patient.ID, b.Patient.ID, a.Patient.ID}
	chs := []aftercare.Channel{aftercare.SMS, aftercare.SMS, aftercare.Email, aftercare.Email}
	got, err := mc.OptedOutMany(ctx, []int64{c.ID, c.ID, c.ID, c.ID}, patients, chs)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "OptedOutMany", got, []bool{false, true, false, false})
	for i, p := range patients {
		if one, err := s.OptedOut(ctx, c.ID, p, chs[i]); err != nil || one != got[i] {
			t.Errorf("OptedOut(%d, %s) = %v, %v; OptedOutMany said %v", p, chs[i], one, err, got[i])
		}
	}
	if got, err := mc.OptedOutMany(ctx, nil, nil, nil); err != nil || len(got) != 0 {
		t.Errorf("no patients: %v, %v", got, err)
	}
}

// testOptedOutManyErrNotFound: a patient asked for under another clinic,
// or one that does not exist, is not found.
func testOptedOutManyErrNotFound(t *testing.T, s aftercare.Store) {
	mc := manyChecker(t, s)
	c, proto := setup(t, s, "a")
	other := createClinic(t, s, "b", false)
	ne := Enrollment(c.ID, proto.ID, 1, t0, 1)
	enroll(t, s, ne)
	_, err := mc.OptedOutMany(context.Background(), []int64{c.ID, other.ID}, []int64{ne.Patient.ID, ne.Patient.ID},
		[]aftercare.Channel{aftercare.SMS, aftercare.SMS})
	wantCode(t, "a patient asked for under another clinic", err, aftercare.ENOTFOUND)
	_, err = mc.OptedOutMany(context.Background(), []int64{c.ID}, []int64{ne.Patient.ID + 1000}, []aftercare.Channel{aftercare.SMS})
	wantCode(t, "a patient that does not exist", err, aftercare.ENOTFOUND)
}

func testOptedOutManyErrInvalid(t *testing.T, s aftercare.Store) {
	mc := manyChecker(t, s)
	_, err := mc.OptedOutMany(context.Background(), []int64{1, 1}, []int64{1}, []aftercare.Channel{aftercare.SMS})
	wantCode(t, "lists of different lengths", err, aftercare.EINVALID)
}
