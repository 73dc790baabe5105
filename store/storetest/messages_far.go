package storetest

import (
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
