package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// testFarAheadFilters lists one patient's and one enrollment's messages,
// some near (rows in every engine) and some far ahead (which both engines
// keep on their enrollment and filter in Go, in store/internal/plan's
// Merge, beside the SQL that filters rows), through every MessageFilter field, and checks
// each answer against the contract applied to the unfiltered list. When
// the Go filter and the SQL one drift apart (a field one of them forgets,
// a bound one side includes), the far messages come out differently from
// the near ones and this fails.
func testFarAheadFilters(t *testing.T, s aftercare.Store) {
	c, botox := setup(t, s, "a")
	peel := saveProtocol(t, s, c.ID, "peel")
	day := 24 * time.Hour
	near, far1, far2 := t0.Add(12*time.Hour), t0.Add(10*day), t0.Add(20*day)

	a := Enrollment(c.ID, botox.ID, 1, t0, 6) // SMS and email at near, far1, far2
	for k, m := range a.Messages {
		m.SendAt = []time.Time{near, near, far1, far1, far2, far2}[k]
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
	}
	a.Messages[1].Status = aftercare.StatusSkipped
	enroll(t, s, a)
	b := Enrollment(c.ID, peel.ID, 1, t0.Add(time.Hour), 4) // the same patient, another protocol
	for k, m := range b.Messages {
		m.SendAt = []time.Time{near.Add(time.Hour), far1, far1.Add(time.Hour), far2}[k]
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
	}
	enroll(t, s, b)
	if a.Patient.ID != b.Patient.ID {
		t.Fatalf("the two enrollments have patients %d and %d, want one", a.Patient.ID, b.Patient.ID)
	}
	slugs := map[int64]string{a.Enrollment.ID: "botox", b.Enrollment.ID: "peel"}

	pending, skipped := aftercare.StatusPending, aftercare.StatusSkipped
	filters := []aftercare.MessageFilter{
		{},
		{Statuses: []aftercare.Status{pending}},
		{Statuses: []aftercare.Status{skipped}},
		{Statuses: []aftercare.Status{pending, skipped}},
		{Statuses: []aftercare.Status{aftercare.StatusSent}},
		{Channel: aftercare.SMS},
		{Channel: aftercare.Email},
		{ProtocolSlug: "botox"},
		{ProtocolSlug: "peel"},
		{ProtocolSlug: "none"},
		{Since: far1},              // a far message exactly at the bound: in
		{Until: far1},              // ... and out
		{Since: near, Until: far2}, // a near one at the lower bound, far ones at the upper
		{Since: far1, Until: far1}, // empty
		{AfterSendAt: far1},        // strictly after (far1, 0)
		{AfterSendAt: near, AfterID: a.Messages[0].ID},
		{AfterSendAt: far1, AfterID: a.Messages[2].ID},
		{Limit: 1},
		{Limit: 3},
		{Channel: aftercare.SMS, Since: near.Add(time.Minute), Limit: 2},
		{Statuses: []aftercare.Status{pending}, ProtocolSlug: "peel", Until: far2, Limit: 5},
	}
	for _, scope := range []aftercare.MessageFilter{
		{ClinicID: c.ID, PatientID: a.Patient.ID},
		{ClinicID: c.ID, EnrollmentID: a.Enrollment.ID},
	} {
		every := listMessages(t, s, scope)
		if want := 10; scope.EnrollmentID != 0 {
			want = 6
			if len(every) != want {
				t.Fatalf("ListMessages(%+v): %d messages, want %d", scope, len(every), want)
			}
		} else if len(every) != want {
			t.Fatalf("ListMessages(%+v): %d messages, want %d", scope, len(every), want)
		}
		for _, f := range filters {
			f.ClinicID, f.PatientID, f.EnrollmentID = scope.ClinicID, scope.PatientID, scope.EnrollmentID
			got := listMessages(t, s, f)
			want := filterMessages(every, f, slugs)
			if !slices.Equal(messageKeys(got), messageKeys(want)) {
				t.Errorf("ListMessages(%+v):\n got %v\nwant %v (the contract applied to every message)", f,
					messageKeys(got), messageKeys(want))
			}
		}
		// Pages of 3 walked with the keyset give every message once, in order.
		var walked []*aftercare.Message
		f := scope
		f.Limit = 3
		for range len(every) {
			page := listMessages(t, s, f)
			walked = append(walked, page...)
			if len(page) < f.Limit {
				break
			}
			f.AfterSendAt, f.AfterID = page[len(page)-1].SendAt, page[len(page)-1].ID
		}
		if !slices.Equal(messageKeys(walked), messageKeys(every)) {
			t.Errorf("pages of %+v:\n got %v\nwant %v", scope, messageKeys(walked), messageKeys(every))
		}
	}
}

// filterMessages is MessageFilter's contract (its doc comments in message.go),
// applied in the test to messages in (SendAt, ID) order.
func filterMessages(ms []*aftercare.Message, f aftercare.MessageFilter, slugs map[int64]string) []*aftercare.Message {
	var out []*aftercare.Message
	for _, m := range ms {
		switch {
		case f.EnrollmentID != 0 && m.EnrollmentID != f.EnrollmentID,
			f.PatientID != 0 && m.PatientID != f.PatientID,
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, m.Status),
			f.Channel != "" && m.Channel != f.Channel,
			f.ProtocolSlug != "" && slugs[m.EnrollmentID] != f.ProtocolSlug,
			!f.Since.IsZero() && m.SendAt.Before(f.Since),
			!f.Until.IsZero() && !m.SendAt.Before(f.Until),
			(!f.AfterSendAt.IsZero() || f.AfterID != 0) &&
				!(m.SendAt.After(f.AfterSendAt) || m.SendAt.Equal(f.AfterSendAt) && m.ID > f.AfterID):
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		out = append(out, m)
	}
	return out
}

// messageKeys names messages for a comparison: id, status, channel, send time.
func messageKeys(ms []*aftercare.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = fmt.Sprintf("%d:%s:%s@%s", m.ID, m.Status, m.Channel, m.SendAt.Format(time.RFC3339))
	}
	return out
}

// testFarAheadFallback: a fallback whose twin (same step, occurrence and
// channel) is planned weeks ahead, and so kept on the enrollment by a store
// that keeps such messages, is not planned again: the enrollment keeps its
// three messages, the twin as it was planned, and later claims take each
// once, without a conflict.
func testFarAheadFallback(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 3)
	sms, email, later := ne.Messages[0], ne.Messages[1], ne.Messages[2]
	email.SendAt, email.ExpiresAt = t0.Add(5*24*time.Hour), time.Time{} // step-00's email, far ahead
	later.SendAt, later.ExpiresAt = t0.Add(6*24*time.Hour), time.Time{} // step-01's SMS, far ahead
	enroll(t, s, ne)
	at := sms.SendAt
	claimed, err := s.ClaimDue(ctx, at, "far-test", 10)
	if err != nil || len(claimed) != 1 || claimed[0].Message.ID != sms.ID {
		t.Fatalf("ClaimDue: %s, %v; want the SMS %d", dump(claimed), err, sms.ID)
	}
	fb := &aftercare.Message{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID, PatientID: ne.Enrollment.PatientID,
		StepKey: sms.StepKey, Occurrence: sms.Occurrence, Channel: aftercare.Email, Lang: "en", Status: aftercare.StatusPending,
		SendAt: at, NextAttemptAt: at, Subject: "A fallback", Body: "The SMS failed"}
	err = s.RecordOutcome(ctx, &aftercare.Outcome{MessageID: sms.ID, ClinicID: c.ID, ClaimedBy: "far-test", Status: aftercare.StatusFailed,
		Error: "unreachable", Attempt: aftercare.Attempt{Number: 1, At: at, Channel: aftercare.SMS, Outcome: aftercare.StatusFailed},
		Fallback: fb})
	if err != nil {
		t.Fatal(err)
	}
	got := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID})
	var ids []int64
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	if want := []int64{sms.ID, email.ID, later.ID}; !slices.Equal(ids, want) {
		t.Fatalf("the enrollment's messages after the fallback: %v, want %v (the twin is the fallback)", ids, want)
	}
	if m := got[1]; m.Status != aftercare.StatusPending || !m.SendAt.Equal(email.SendAt) || m.Body != email.Body {
		t.Errorf("the far twin after the fallback: %s, want it as planned", dump(m))
	}
	for _, m := range []*aftercare.Message{email, later} {
		cs, err := s.ClaimDue(ctx, m.SendAt, "far-test", 10)
		if err != nil || len(cs) != 1 || cs[0].Message.ID != m.ID {
			t.Errorf("ClaimDue at %v: %s, %v; want message %d", m.SendAt, dump(cs), err, m.ID)
		}
	}
}
