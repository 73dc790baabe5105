package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// messageGroups check aftercare.MessageStore.
var messageGroups = []testGroup{
	{"ListMessages", []testCase{
		{"Filters", testListMessagesFilters},
		{"Pages", testListMessagesPages},
		{"ErrInvalid", testListMessagesErrInvalid},
	}},
	{"FarAhead", []testCase{
		{"ListedClaimedOnTime", testFarAhead},
		{"Cancelled", testFarAheadCancelled},
		{"FiltersAgreeWithRows", testFarAheadFilters},
		{"FallbackFindsKeptTwin", testFarAheadFallback},
	}},
}

// sortedBySendAt reports whether ms are in (SendAt, ID) order without repeats.
func sortedBySendAt(ms []*aftercare.Message) bool {
	return slices.IsSortedFunc(ms, func(a, b *aftercare.Message) int {
		if c := a.SendAt.Compare(b.SendAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	}) && len(ms) == len(slices.CompactFunc(slices.Clone(ms), func(a, b *aftercare.Message) bool { return a.ID == b.ID }))
}

func testListMessagesFilters(t *testing.T, s aftercare.Store) {
	c, botox := setup(t, s, "a")
	filler := saveProtocol(t, s, c.ID, "filler")
	other, otherProto := setup(t, s, "b")
	x := withStatuses(t, s, c.ID, botox.ID, 1, aftercare.StatusPending, aftercare.StatusSkipped, aftercare.StatusSent,
		aftercare.StatusPending, aftercare.StatusFailed, aftercare.StatusPending)
	y := Enrollment(c.ID, filler.ID, 2, t0.Add(90*time.Minute), 6)
	y.Messages[0].Status = aftercare.StatusSkipped
	enroll(t, s, y)
	withStatuses(t, s, other.ID, otherProto.ID, 1, aftercare.StatusPending, aftercare.StatusPending)

	every := everyMessage(t, s, c.ID, x, y)
	if len(every) != 12 || !sortedBySendAt(every) {
		t.Fatalf("all messages: %d, sorted %v: want 12 in (SendAt, ID) order", len(every), sortedBySendAt(every))
	}
	log := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID})
	checkLog(t, log, every)
	since, until := t0.Add(24*time.Hour), t0.Add(36*time.Hour+90*time.Minute)
	for _, tc := range []struct {
		name string
		f    aftercare.MessageFilter
		keep func(m *aftercare.Message) bool
	}{
		{"Enrollment", aftercare.MessageFilter{EnrollmentID: y.Enrollment.ID},
			func(m *aftercare.Message) bool { return m.EnrollmentID == y.Enrollment.ID }},
		{"Patient", aftercare.MessageFilter{PatientID: x.Patient.ID},
			func(m *aftercare.Message) bool { return m.PatientID == x.Patient.ID }},
		{"Statuses", aftercare.MessageFilter{Statuses: []aftercare.Status{aftercare.StatusSkipped, aftercare.StatusFailed}},
			func(m *aftercare.Message) bool {
				return m.Status == aftercare.StatusSkipped || m.Status == aftercare.StatusFailed
			}},
		{"Channel", aftercare.MessageFilter{Channel: aftercare.Email},
			func(m *aftercare.Message) bool { return m.Channel == aftercare.Email }},
		{"ProtocolSlug", aftercare.MessageFilter{ProtocolSlug: "filler"},
			func(m *aftercare.Message) bool { return m.EnrollmentID == y.Enrollment.ID }},
		{"SinceUntil", aftercare.MessageFilter{Since: since, Until: until},
			func(m *aftercare.Message) bool { return !m.SendAt.Before(since) && m.SendAt.Before(until) }},
		{"Combined", aftercare.MessageFilter{ProtocolSlug: "botox", Channel: aftercare.SMS, Statuses: []aftercare.Status{aftercare.StatusPending}},
			func(m *aftercare.Message) bool {
				return m.EnrollmentID == x.Enrollment.ID && m.Channel == aftercare.SMS && m.Status == aftercare.StatusPending
			}},
		{"Limit", aftercare.MessageFilter{Limit: 5}, nil},
		{"UnknownSlug", aftercare.MessageFilter{ProtocolSlug: "peel"}, func(*aftercare.Message) bool { return false }},
	} {
		tc.f.ClinicID = c.ID
		all := log // the clinic's log, filtered
		if tc.f.EnrollmentID != 0 || tc.f.PatientID != 0 {
			all = every
		}
		var want []*aftercare.Message
		for _, m := range all {
			if tc.keep == nil && len(want) < tc.f.Limit || tc.keep != nil && tc.keep(m) {
				want = append(want, m)
			}
		}
		if len(want) == 0 && tc.name != "UnknownSlug" {
			t.Fatalf("%s: fixture selects nothing", tc.name)
		}
		got := listMessages(t, s, tc.f)
		if len(got) == 0 && len(want) == 0 {
			continue
		}
		same(t, tc.name, got, want)
	}
}

func testListMessagesPages(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	// Three enrollments treated at the same time: their messages tie on
	// SendAt and are ordered by ID.
	var nes []*aftercare.NewEnrollment
	for i := range 3 {
		ne := Enrollment(c.ID, proto.ID, i, t0, 8)
		ne.Enrollment.Key = fmt.Sprint("tie-", i)
		enroll(t, s, ne)
		nes = append(nes, ne)
	}
	every := everyMessage(t, s, c.ID, nes...)
	if len(every) != 24 || !sortedBySendAt(every) {
		t.Fatalf("%d messages, sorted %v; want 24 in (SendAt, ID) order", len(every), sortedBySendAt(every))
	}
	log := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID})
	checkLog(t, log, every)
	pages := func(f aftercare.MessageFilter) []*aftercare.Message {
		var paged []*aftercare.Message
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			page := listMessages(t, s, f)
			paged = append(paged, page...)
			if len(page) < f.Limit {
				return paged
			}
			last := page[len(page)-1]
			f.AfterSendAt, f.AfterID = last.SendAt, last.ID
		}
	}
	same(t, "the log's pages put together", pages(aftercare.MessageFilter{ClinicID: c.ID, Limit: 7}), log)
	e := nes[1].Enrollment
	same(t, "an enrollment's pages put together", pages(aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID, Limit: 3}),
		listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID}))
	same(t, "a patient's pages put together", pages(aftercare.MessageFilter{ClinicID: c.ID, PatientID: e.PatientID, Limit: 3}),
		listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID}))
}

func testListMessagesErrInvalid(t *testing.T, s aftercare.Store) {
	_, err := s.ListMessages(context.Background(), aftercare.MessageFilter{})
	wantCode(t, "ListMessages without a clinic", err, aftercare.EINVALID)
}

// testFarAhead: messages planned weeks ahead are every reader's as any
// other (however the store keeps them): an enrollment's and a patient's
// listings have them with the ids Enroll set, ListEnrollments counts them
// as pending, ClaimDue claims each once it is due and not before, and the
// ids of later enrollments never repeat theirs.
func testFarAhead(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	far := []time.Time{t0.Add(10 * 24 * time.Hour), t0.Add(20 * 24 * time.Hour)}
	for k, m := range ne.Messages {
		m.SendAt, m.ExpiresAt = far[k], far[k].Add(aftercare.DefaultExpires)
	}
	enroll(t, s, ne)
	ids := []int64{ne.Messages[0].ID, ne.Messages[1].ID}
	if ids[0] == 0 || ids[1] == 0 || ids[0] == ids[1] {
		t.Fatalf("Enroll set ids %v", ids)
	}
	later := Enrollment(c.ID, proto.ID, 2, t0, 4)
	enroll(t, s, later)
	for _, m := range later.Messages {
		if m.ID == ids[0] || m.ID == ids[1] {
			t.Fatalf("message id %d given twice", m.ID)
		}
	}
	for _, f := range []aftercare.MessageFilter{{EnrollmentID: ne.Enrollment.ID}, {PatientID: ne.Patient.ID},
		{PatientID: ne.Patient.ID, Statuses: []aftercare.Status{aftercare.StatusPending}, Since: t0.Add(15 * 24 * time.Hour)}} {
		f.ClinicID = c.ID
		got := listMessages(t, s, f)
		want := ne.Messages
		if !f.Since.IsZero() {
			want = want[1:]
		}
		if len(got) != len(want) {
			t.Fatalf("ListMessages(%+v): %d messages, want %d", f, len(got), len(want))
		}
		for i, m := range got {
			w := want[i]
			if m.ID != w.ID || !m.SendAt.Equal(w.SendAt) || m.Status != aftercare.StatusPending || m.Body != w.Body ||
				!m.ExpiresAt.Equal(w.ExpiresAt) || m.EnrollmentID != ne.Enrollment.ID || m.PatientID != ne.Patient.ID {
				t.Fatalf("ListMessages(%+v)[%d] = %s, want %s", f, i, dump(m), dump(w))
			}
		}
	}
	sums, err := s.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID, PatientID: ne.Patient.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || sums[0].Pending != 2 || !sums[0].NextSendAt.Equal(far[0]) {
		t.Fatalf("ListEnrollments: %s; want 2 pending, next at %v", dump(sums), far[0])
	}

	// The later enrollment's messages (12 h and 24 h after t0) go first;
	// the far ones not before their time, then each once.
	claim := func(at time.Time) []int64 {
		t.Helper()
		cs, err := s.ClaimDue(ctx, at, "far-test", 100)
		if err != nil {
			t.Fatalf("ClaimDue(%v): %v", at, err)
		}
		var got []int64
		for _, c := range cs {
			if c.Message.EnrollmentID == ne.Enrollment.ID {
				got = append(got, c.Message.ID)
			}
		}
		return got
	}
	for _, step := range []struct {
		at   time.Time
		want []int64
	}{
		{t0.Add(2 * 24 * time.Hour), nil},
		{far[0].Add(-time.Second), nil},
		{far[0], ids[:1]},
		{far[0].Add(time.Hour), nil},
		{far[1], ids[1:]},
		{far[1].Add(time.Hour), nil},
	} {
		if got := claim(step.at); !slices.Equal(got, step.want) {
			t.Fatalf("ClaimDue at %v claimed %v of the far messages, want %v", step.at, got, step.want)
		}
	}
}

// testFarAheadCancelled: cancelling an enrollment cancels its messages
// planned weeks ahead too, and counts them; none is claimed afterwards.
func testFarAheadCancelled(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 6)
	for k, m := range ne.Messages {
		m.SendAt = t0.Add(time.Duration(k*5+1) * 24 * time.Hour)
		m.ExpiresAt = m.SendAt.Add(aftercare.DefaultExpires)
	}
	enroll(t, s, ne)
	n, err := s.CancelEnrollment(ctx, c.ID, ne.Enrollment.ID, t0.Add(time.Hour))
	if err != nil || n != 6 {
		t.Fatalf("CancelEnrollment: %d, %v; want 6 cancelled", n, err)
	}
	for _, m := range listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: ne.Enrollment.ID}) {
		if m.Status != aftercare.StatusCancelled {
			t.Fatalf("message %d is %s after cancelling", m.ID, m.Status)
		}
	}
	if cs, err := s.ClaimDue(ctx, t0.Add(60*24*time.Hour), "far-test", 100); err != nil || len(cs) != 0 {
		t.Fatalf("ClaimDue after cancelling: %d claimed, %v", len(cs), err)
	}
}
