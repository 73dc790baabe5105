package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// byIdent indexes messages by Ident.
func byIdent(ms []*aftercare.Message) map[string]*aftercare.Message {
	out := map[string]*aftercare.Message{}
	for _, m := range ms {
		out[m.Ident()] = m
	}
	return out
}

func planned(step string, ch aftercare.Channel, st aftercare.Status, at time.Time, body string) *aftercare.Message {
	return &aftercare.Message{StepKey: step, Channel: ch, Lang: "en", Status: st, SendAt: at,
		ExpiresAt: at.Add(aftercare.DefaultExpires), Body: body, Segments: 1}
}

func testRescheduleTwinRules(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	day := 24 * time.Hour
	ne := Enrollment(c.ID, proto.ID, 1, t0, 0)
	ne.Messages = []*aftercare.Message{
		planned("a", aftercare.SMS, aftercare.StatusPending, t0.Add(day), "A"),
		planned("b", aftercare.SMS, aftercare.StatusSkipped, t0.Add(2*day), "B"),
		planned("c", aftercare.SMS, aftercare.StatusSent, t0.Add(3*day), "C"),
		planned("d", aftercare.SMS, aftercare.StatusPending, t0.Add(4*day), "D"),
		planned("e", aftercare.Email, aftercare.StatusSkipped, t0.Add(5*day), "E"),
		planned("g", aftercare.SMS, aftercare.StatusUnknown, t0.Add(6*day), "G"),
	}
	ne.Messages[1].Note = "outside the send window"
	enroll(t, s, ne)
	before := byIdent(ne.Messages)

	// Treated a day later: a, b, c and g move; d and e are no longer
	// planned; f is new.
	t1 := t0.Add(day)
	plan := []*aftercare.Message{
		planned("a", aftercare.SMS, aftercare.StatusPending, t1.Add(day), "A2"),
		planned("b", aftercare.SMS, aftercare.StatusPending, t1.Add(2*day), "B2"),
		planned("c", aftercare.SMS, aftercare.StatusPending, t1.Add(3*day), "C2"),
		planned("f", aftercare.Email, aftercare.StatusPending, t1.Add(4*day), "F"),
		planned("g", aftercare.SMS, aftercare.StatusPending, t1.Add(6*day), "G2"),
	}
	plan[0].Note = "moved to the start of the send window"
	e := *ne.Enrollment
	e.TreatedAt, e.Key = t1.In(elsewhere), "rescheduled-key"
	at := t0.Add(3 * time.Hour)
	if err := s.Reschedule(ctx, &e, plan, at); err != nil {
		t.Fatal(err)
	}
	if !e.TreatedAt.Equal(t1) || e.Key != "rescheduled-key" || e.ID != ne.Enrollment.ID {
		t.Fatalf("enrollment after Reschedule: %+v", e)
	}
	same(t, "FindEnrollment after Reschedule", findEnrollment(t, s, c.ID, e.ID), &e)

	ms := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID})
	if len(ms) != 7 {
		t.Fatalf("%d messages, want 7: %s", len(ms), dump(ms))
	}
	got := byIdent(ms)
	check := func(ident string, id int64, st aftercare.Status, sendAt time.Time, body, note string) {
		t.Helper()
		m := got[ident]
		if m == nil {
			t.Fatalf("no message %s", ident)
		}
		if (id != 0 && m.ID != id) || m.Status != st || !m.SendAt.Equal(sendAt) || m.Body != body || m.Note != note {
			t.Errorf("%s: id %d %s at %v %q note %q; want id %d %s at %v %q note %q",
				ident, m.ID, m.Status, m.SendAt, m.Body, m.Note, id, st, sendAt, body, note)
		}
	}
	check("a#0/sms", before["a#0/sms"].ID, aftercare.StatusPending, t1.Add(day), "A2", "moved to the start of the send window")
	check("b#0/sms", before["b#0/sms"].ID, aftercare.StatusPending, t1.Add(2*day), "B2", "")
	check("c#0/sms", before["c#0/sms"].ID, aftercare.StatusSent, t0.Add(3*day), "C", "")
	check("d#0/sms", before["d#0/sms"].ID, aftercare.StatusCancelled, t0.Add(4*day), "D", "rescheduled")
	check("e#0/email", before["e#0/email"].ID, aftercare.StatusSkipped, t0.Add(5*day), "E", "")
	check("f#0/email", 0, aftercare.StatusPending, t1.Add(4*day), "F", "")
	check("g#0/sms", before["g#0/sms"].ID, aftercare.StatusUnknown, t0.Add(6*day), "G", "")
	if m := got["a#0/sms"]; !m.NextAttemptAt.Equal(m.SendAt) || !m.UpdatedAt.Equal(at) {
		t.Errorf("a: NextAttemptAt %v UpdatedAt %v, want SendAt %v and %v", m.NextAttemptAt, m.UpdatedAt, m.SendAt, at)
	}
	// The plan now holds what is stored, history included.
	same(t, "the plan after Reschedule", plan, []*aftercare.Message{got["a#0/sms"], got["b#0/sms"], got["c#0/sms"],
		got["f#0/email"], got["g#0/sms"]})
}

func testRescheduleSameKey(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	ne := withStatuses(t, s, c.ID, proto.ID, 1, aftercare.StatusPending, aftercare.StatusPending)
	e := *ne.Enrollment
	plan := []*aftercare.Message{planned("step-00", aftercare.SMS, aftercare.StatusPending, t0.Add(time.Hour), "sooner")}
	if err := s.Reschedule(context.Background(), &e, plan, t0); err != nil {
		t.Fatal(err)
	}
	same(t, "statuses", statusesOf(listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID})),
		[]aftercare.Status{aftercare.StatusPending, aftercare.StatusCancelled})
}

func testRescheduleErrConflictCancelled(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := withStatuses(t, s, c.ID, proto.ID, 1, aftercare.StatusPending)
	if _, err := s.CancelEnrollment(ctx, c.ID, ne.Enrollment.ID, t0); err != nil {
		t.Fatal(err)
	}
	e := *ne.Enrollment
	e.TreatedAt = t0.Add(time.Hour)
	wantCode(t, "Reschedule of a cancelled enrollment", s.Reschedule(ctx, &e, nil, t0), aftercare.ECONFLICT)
}

func testRescheduleErrConflictKey(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	x := withStatuses(t, s, c.ID, proto.ID, 1, aftercare.StatusPending)
	y := withStatuses(t, s, c.ID, proto.ID, 2, aftercare.StatusPending)
	e := *x.Enrollment
	e.TreatedAt, e.Key = t0.Add(time.Hour), y.Enrollment.Key
	plan := []*aftercare.Message{planned("new", aftercare.SMS, aftercare.StatusPending, t0.Add(2*time.Hour), "new")}
	wantCode(t, "Reschedule to another enrollment's key", s.Reschedule(context.Background(), &e, plan, t0), aftercare.ECONFLICT)
	checkStored(t, s, x)
}

func testRescheduleErrConflictPlan(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	x := withStatuses(t, s, c.ID, proto.ID, 1, aftercare.StatusPending)
	e := *x.Enrollment
	e.TreatedAt = t0.Add(time.Hour)
	plan := []*aftercare.Message{
		planned("new", aftercare.SMS, aftercare.StatusPending, t0.Add(2*time.Hour), "new"),
		planned("new", aftercare.SMS, aftercare.StatusPending, t0.Add(3*time.Hour), "new again"),
	}
	wantCode(t, "Reschedule with a message planned twice", s.Reschedule(context.Background(), &e, plan, t0), aftercare.ECONFLICT)
	checkStored(t, s, x)
}

func testRescheduleErrNotFound(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	e := &aftercare.Enrollment{ID: 4242, ClinicID: c.ID, TreatedAt: t0, Key: "k"}
	wantCode(t, "Reschedule(4242)", s.Reschedule(context.Background(), e, nil, t0), aftercare.ENOTFOUND)
}

// testRescheduleRevivesUnplanned: a message cancelled because a plan no
// longer had it (consent withdrawn) is planned again when a later plan has
// it (consent given again); one cancelled for another reason is history.
func testRescheduleRevivesUnplanned(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	day := 24 * time.Hour
	ne := Enrollment(c.ID, proto.ID, 1, t0, 0)
	ne.Messages = []*aftercare.Message{
		planned("a", aftercare.SMS, aftercare.StatusPending, t0.Add(day), "A"),
		planned("b", aftercare.Email, aftercare.StatusPending, t0.Add(day), "B"),
		planned("c", aftercare.SMS, aftercare.StatusCancelled, t0.Add(2*day), "C"),
	}
	enroll(t, s, ne)
	before := byIdent(ne.Messages)
	e := *ne.Enrollment

	// Without SMS: a is cancelled.
	if err := s.Reschedule(ctx, &e, []*aftercare.Message{planned("b", aftercare.Email, aftercare.StatusPending, t0.Add(day), "B")}, t0); err != nil {
		t.Fatal(err)
	}
	got := byIdent(listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID}))
	if m := got["a#0/sms"]; m.Status != aftercare.StatusCancelled || m.Note != "rescheduled" {
		t.Fatalf("a after a plan without it: %s %q, want cancelled \"rescheduled\"", m.Status, m.Note)
	}

	// With SMS again: a is pending again (the same row); c stays cancelled.
	plan := []*aftercare.Message{
		planned("a", aftercare.SMS, aftercare.StatusPending, t0.Add(day), "A again"),
		planned("b", aftercare.Email, aftercare.StatusPending, t0.Add(day), "B"),
		planned("c", aftercare.SMS, aftercare.StatusPending, t0.Add(2*day), "C again"),
	}
	if err := s.Reschedule(ctx, &e, plan, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got = byIdent(listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID}))
	if m := got["a#0/sms"]; m.ID != before["a#0/sms"].ID || m.Status != aftercare.StatusPending || m.Body != "A again" || m.Note != "" {
		t.Errorf("a planned again: id %d %s %q note %q; want id %d pending \"A again\" without note", m.ID, m.Status, m.Body, m.Note, before["a#0/sms"].ID)
	}
	if m := got["c#0/sms"]; m.Status != aftercare.StatusCancelled || m.Body != "C" {
		t.Errorf("c (cancelled, not by a plan): %s %q, want it left cancelled", m.Status, m.Body)
	}
}
