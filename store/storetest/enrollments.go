package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// enrollmentGroups check aftercare.EnrollmentStore (ListEnrollments in
// enrollments_list.go, Reschedule in enrollments_reschedule.go).
var enrollmentGroups = []testGroup{
	{"Enroll", []testCase{
		{"OK", testEnrollOK},
		{"Idempotent", testEnrollIdempotent},
		{"MatchesPatient", testEnrollMatchesPatient},
		{"ErrConflict", testEnrollErrConflict},
		{"ErrNotFound", testEnrollErrNotFound},
		{"ErrInvalid", testEnrollErrInvalid},
	}},
	{"EnrollBatch", []testCase{
		{"OK", testEnrollBatchOK},
		{"Idempotent", testEnrollBatchIdempotent},
		{"SharedPatient", testEnrollBatchSharedPatient},
		{"Empty", testEnrollBatchEmpty},
		{"ErrConflictWritesNothing", testEnrollBatchErrConflict},
		{"ErrNotFoundWritesNothing", testEnrollBatchErrNotFound},
	}},
	{"Tenant", []testCase{
		{"Isolated", testTenantIsolated},
	}},
	{"ListEnrollments", []testCase{
		{"Summary", testListEnrollmentsSummary},
		{"Pages", testListEnrollmentsPages},
		{"Filters", testListEnrollmentsFilters},
		{"ErrInvalid", testListEnrollmentsErrInvalid},
	}},
	{"CancelEnrollment", []testCase{
		{"OK", testCancelEnrollmentOK},
		{"Again", testCancelEnrollmentAgain},
		{"ErrNotFound", testCancelEnrollmentErrNotFound},
	}},
	{"Reschedule", []testCase{
		{"TwinRules", testRescheduleTwinRules},
		{"SameKey", testRescheduleSameKey},
		{"ErrConflictCancelled", testRescheduleErrConflictCancelled},
		{"ErrConflictKey", testRescheduleErrConflictKey},
		{"ErrConflictPlan", testRescheduleErrConflictPlan},
		{"ErrNotFound", testRescheduleErrNotFound},
		{"RevivesUnplanned", testRescheduleRevivesUnplanned},
	}},
}

// checkStored checks that what Enroll left in ne is what the store returns.
func checkStored(t *testing.T, s aftercare.Store, ne *aftercare.NewEnrollment) {
	t.Helper()
	ctx := context.Background()
	e, p := ne.Enrollment, ne.Patient
	same(t, "FindEnrollment", findEnrollment(t, s, e.ClinicID, e.ID), e)
	got, err := s.FindPatient(ctx, p.ClinicID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindPatient", got, p)
	same(t, "ListMessages of the enrollment",
		listMessages(t, s, aftercare.MessageFilter{ClinicID: e.ClinicID, EnrollmentID: e.ID}), ne.Messages)
}

func testEnrollOK(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0.In(elsewhere), 6)
	ne.Patient.SMSConsent.At = ne.Patient.SMSConsent.At.In(elsewhere)
	ne.Messages[1].Status, ne.Messages[1].Note = aftercare.StatusSkipped, "no email consent"
	ne.Messages[2].NextAttemptAt = ne.Messages[2].SendAt.Add(time.Hour)
	for _, m := range ne.Messages {
		m.SendAt, m.ExpiresAt = m.SendAt.In(elsewhere), m.ExpiresAt.In(elsewhere)
	}
	if !enroll(t, s, ne) {
		t.Fatal("created = false for a new enrollment")
	}
	e, p := ne.Enrollment, ne.Patient
	if e.ID == 0 || p.ID == 0 || e.PatientID != p.ID || e.ClinicID != c.ID || p.ClinicID != c.ID {
		t.Fatalf("ids not set: enrollment %+v, patient %+v", e, p)
	}
	if e.ProtocolSlug != "botox" || e.ProtocolVersion != 1 || e.Status != aftercare.EnrollmentActive {
		t.Fatalf("enrollment %+v: want botox v1, active", e)
	}
	if !e.TreatedAt.Equal(t0) {
		t.Fatalf("TreatedAt %v, want %v", e.TreatedAt, t0)
	}
	wantUTC(t, "enrollment times", e.TreatedAt, e.CreatedAt, e.UpdatedAt)
	wantUTC(t, "patient times", p.CreatedAt, p.UpdatedAt, p.SMSConsent.At)
	ids := map[int64]bool{}
	for i, m := range ne.Messages {
		if m.ID == 0 || ids[m.ID] || m.EnrollmentID != e.ID || m.PatientID != p.ID || m.ClinicID != c.ID {
			t.Fatalf("message %d: ids not set: %+v", i, m)
		}
		ids[m.ID] = true
		wantUTC(t, "message times", m.SendAt, m.ExpiresAt, m.CreatedAt, m.UpdatedAt)
		switch {
		case i == 1 && !m.NextAttemptAt.IsZero():
			t.Errorf("skipped message: NextAttemptAt %v, want zero", m.NextAttemptAt)
		case i == 2 && !m.NextAttemptAt.Equal(m.SendAt.Add(time.Hour)):
			t.Errorf("NextAttemptAt %v given, stored %v", m.SendAt.Add(time.Hour), m.NextAttemptAt)
		case i != 1 && i != 2 && !m.NextAttemptAt.Equal(m.SendAt):
			t.Errorf("pending message: NextAttemptAt %v, want SendAt %v", m.NextAttemptAt, m.SendAt)
		}
	}
	checkStored(t, s, ne)
	got, err := s.FindPatientByMatchKey(context.Background(), c.ID, p.MatchKey())
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindPatientByMatchKey", got, p)
}

func testEnrollIdempotent(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	first := Enrollment(c.ID, proto.ID, 1, t0, 4)
	enroll(t, s, first)
	again := Enrollment(c.ID, proto.ID, 1, t0, 6)
	again.Enrollment.Source = "cli"
	again.Patient.Lang = "es"
	if enroll(t, s, again) {
		t.Fatal("created = true for a key the clinic has")
	}
	same(t, "the enrollment returned for a known key", again.Enrollment, first.Enrollment)
	same(t, "the patient returned for a known key", again.Patient, first.Patient)
	for _, m := range again.Messages {
		if m.ID != 0 {
			t.Fatalf("message %s of a known key got ID %d", m.Ident(), m.ID)
		}
	}
	checkStored(t, s, first) // nothing written: not the patient's language, not the messages
}

func testEnrollMatchesPatient(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	first := Enrollment(c.ID, proto.ID, 1, t0, 2)
	first.Patient.Name = "Ana María López"
	first.Patient.EmailConsent = aftercare.Consent{}
	enroll(t, s, first)
	smsConsent := first.Patient.SMSConsent

	// The same person, written differently, treated again: a new zone and
	// language, email consent given now, no SMS consent this time.
	second := Enrollment(c.ID, proto.ID, 1, t0.Add(30*24*time.Hour), 2)
	second.Patient.Name = "  ana  maría   LÓPEZ "
	second.Patient.TZ, second.Patient.Lang = "America/Chicago", "es"
	second.Patient.SMSConsent = aftercare.Consent{}
	second.Patient.EmailConsent = aftercare.Consent{At: t0.Add(29 * 24 * time.Hour), Source: "web:front@clinic"}
	if second.Patient.MatchKey() != first.Patient.MatchKey() {
		t.Fatal("fixture: the match keys differ")
	}
	if !enroll(t, s, second) {
		t.Fatal("created = false for a new treatment")
	}
	p := second.Patient
	if p.ID != first.Patient.ID || second.Enrollment.PatientID != p.ID {
		t.Fatalf("patient %d, want the matched patient %d", p.ID, first.Patient.ID)
	}
	if p.TZ != "America/Chicago" || p.Lang != "es" {
		t.Errorf("zone and language %s %s, want America/Chicago es", p.TZ, p.Lang)
	}
	if p.Name != "Ana María López" {
		t.Errorf("name %q, want the stored name", p.Name)
	}
	same(t, "SMS consent (kept)", p.SMSConsent, smsConsent)
	same(t, "email consent (added)", p.EmailConsent, aftercare.Consent{At: t0.Add(29 * 24 * time.Hour), Source: "web:front@clinic"})
	checkStored(t, s, second)

	// Consent given again later does not replace the first.
	third := Enrollment(c.ID, proto.ID, 1, t0.Add(60*24*time.Hour), 2)
	third.Patient.Name = "Ana María López"
	third.Patient.SMSConsent = aftercare.Consent{At: t0.Add(59 * 24 * time.Hour), Source: "cli"}
	enroll(t, s, third)
	got, err := s.FindPatient(ctx, c.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "SMS consent after consent given again", got.SMSConsent, smsConsent)
}

func testEnrollErrConflict(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 4)
	dup := *ne.Messages[2]
	dup.Body = "the same step, occurrence and channel again"
	ne.Messages = append(ne.Messages, &dup)
	_, err := s.Enroll(context.Background(), ne)
	wantCode(t, "Enroll with a message planned twice", err, aftercare.ECONFLICT)
	wantNothing(t, s, c.ID, ne)
}

// wantNothing checks that no row of ne was written.
func wantNothing(t *testing.T, s aftercare.Store, clinicID int64, nes ...*aftercare.NewEnrollment) {
	t.Helper()
	for _, ne := range nes {
		_, err := s.FindPatientByMatchKey(context.Background(), clinicID, ne.Patient.MatchKey())
		wantCode(t, "the patient of a failed enrollment", err, aftercare.ENOTFOUND)
	}
	if ms := listMessages(t, s, aftercare.MessageFilter{ClinicID: clinicID}); len(ms) != 0 {
		t.Fatalf("%d messages written by a failed enrollment", len(ms))
	}
}

func testEnrollErrNotFound(t *testing.T, s aftercare.Store) {
	a, _ := setup(t, s, "a")
	_, protoB := setup(t, s, "b")
	ne := Enrollment(a.ID, protoB.ID, 1, t0, 4)
	_, err := s.Enroll(context.Background(), ne)
	wantCode(t, "Enroll on another clinic's protocol", err, aftercare.ENOTFOUND)
	ne = Enrollment(a.ID, 4242, 1, t0, 4)
	_, err = s.Enroll(context.Background(), ne)
	wantCode(t, "Enroll on protocol 4242", err, aftercare.ENOTFOUND)
	wantNothing(t, s, a.ID, ne)
}

func testEnrollErrInvalid(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	for name, spoil := range map[string]func(ne *aftercare.NewEnrollment){
		"NoKey":         func(ne *aftercare.NewEnrollment) { ne.Enrollment.Key = "" },
		"NoClinic":      func(ne *aftercare.NewEnrollment) { ne.Enrollment.ClinicID, ne.Patient.ClinicID = 0, 0 },
		"NoTreatedAt":   func(ne *aftercare.NewEnrollment) { ne.Enrollment.TreatedAt = time.Time{} },
		"BadChannel":    func(ne *aftercare.NewEnrollment) { ne.Messages[0].Channel = "fax" },
		"BadStatus":     func(ne *aftercare.NewEnrollment) { ne.Messages[0].Status = "lost" },
		"NoSendAt":      func(ne *aftercare.NewEnrollment) { ne.Messages[0].SendAt = time.Time{} },
		"NoPatient":     func(ne *aftercare.NewEnrollment) { ne.Patient = nil },
		"ClinicsDiffer": func(ne *aftercare.NewEnrollment) { ne.Patient.ClinicID = c.ID + 1 },
	} {
		ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
		spoil(ne)
		_, err := s.Enroll(context.Background(), ne)
		wantCode(t, name, err, aftercare.EINVALID)
	}
	if ms := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID}); len(ms) != 0 {
		t.Fatalf("%d messages written by invalid enrollments", len(ms))
	}
}

func enrollBatch(t *testing.T, s aftercare.Store, batch []*aftercare.NewEnrollment) []bool {
	t.Helper()
	created, err := s.EnrollBatch(context.Background(), batch)
	if err != nil {
		t.Fatalf("EnrollBatch: %v", err)
	}
	if len(created) != len(batch) {
		t.Fatalf("EnrollBatch: %d results for %d items", len(created), len(batch))
	}
	return created
}

func testEnrollBatchOK(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	var batch []*aftercare.NewEnrollment
	for i := range 5 {
		batch = append(batch, Enrollment(c.ID, proto.ID, i, t0.Add(time.Duration(i)*time.Minute), 6))
	}
	same(t, "created", enrollBatch(t, s, batch), []bool{true, true, true, true, true})
	ids := map[int64]bool{}
	for _, ne := range batch {
		if ids[ne.Enrollment.ID] {
			t.Fatalf("enrollment ID %d given twice", ne.Enrollment.ID)
		}
		ids[ne.Enrollment.ID] = true
		checkStored(t, s, ne)
	}
	if ms := everyMessage(t, s, c.ID, batch...); len(ms) != 30 {
		t.Fatalf("%d messages, want 30", len(ms))
	}
}

// everyMessage returns the messages of the enrollments, listed enrollment
// by enrollment (where none may be left out), in (SendAt, ID) order.
func everyMessage(t *testing.T, s aftercare.Store, clinicID int64, nes ...*aftercare.NewEnrollment) []*aftercare.Message {
	t.Helper()
	var all []*aftercare.Message
	for _, ne := range nes {
		all = append(all, listMessages(t, s, aftercare.MessageFilter{ClinicID: clinicID, EnrollmentID: ne.Enrollment.ID})...)
	}
	slices.SortFunc(all, func(a, b *aftercare.Message) int {
		if c := a.SendAt.Compare(b.SendAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return all
}

// checkLog checks the clinic's log against every message of the clinic:
// in (SendAt, ID) order, each as every lists it, and none left out but
// pending messages never tried (ListMessages' contract).
func checkLog(t *testing.T, log, every []*aftercare.Message) {
	t.Helper()
	if !sortedBySendAt(log) {
		t.Fatalf("the log is not in (SendAt, ID) order: %s", dump(log))
	}
	byID := map[int64]*aftercare.Message{}
	for _, m := range every {
		byID[m.ID] = m
	}
	inLog := map[int64]bool{}
	for _, m := range log {
		same(t, fmt.Sprintf("message %d in the log", m.ID), m, byID[m.ID])
		inLog[m.ID] = true
	}
	for _, m := range every {
		if !inLog[m.ID] && (m.Status != aftercare.StatusPending || m.Attempts > 0) {
			t.Fatalf("message %d (%s) is not in the log", m.ID, m.Status)
		}
	}
}

func testEnrollBatchIdempotent(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	a, b := Enrollment(c.ID, proto.ID, 1, t0, 4), Enrollment(c.ID, proto.ID, 2, t0, 4)
	enrollBatch(t, s, []*aftercare.NewEnrollment{a, b})

	// a again, and c twice in the same batch.
	a2 := Enrollment(c.ID, proto.ID, 1, t0, 4)
	c1, c2 := Enrollment(c.ID, proto.ID, 3, t0, 4), Enrollment(c.ID, proto.ID, 3, t0, 4)
	same(t, "created", enrollBatch(t, s, []*aftercare.NewEnrollment{a2, c1, c2}), []bool{false, true, false})
	same(t, "a again", a2.Enrollment, a.Enrollment)
	same(t, "c twice", c2.Enrollment, c1.Enrollment)
	same(t, "c's patient twice", c2.Patient, c1.Patient)
	enrollments := map[int64]int{}
	for _, m := range listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID}) {
		enrollments[m.EnrollmentID]++
	}
	same(t, "messages per enrollment", enrollments,
		map[int64]int{a.Enrollment.ID: 4, b.Enrollment.ID: 4, c1.Enrollment.ID: 4})
}

func testEnrollBatchSharedPatient(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	filler := saveProtocol(t, s, c.ID, "filler")
	x := Enrollment(c.ID, proto.ID, 7, t0, 2)
	y := Enrollment(c.ID, filler.ID, 7, t0, 2) // the same patient, on another protocol
	y.Patient.Lang = "es"
	same(t, "created", enrollBatch(t, s, []*aftercare.NewEnrollment{x, y}), []bool{true, true})
	if x.Patient.ID != y.Patient.ID || x.Enrollment.PatientID != y.Enrollment.PatientID {
		t.Fatalf("patients %d and %d, want one", x.Patient.ID, y.Patient.ID)
	}
	same(t, "the patient as each item sees it", x.Patient, y.Patient)
	if y.Enrollment.ProtocolSlug != "filler" {
		t.Fatalf("ProtocolSlug %q, want filler", y.Enrollment.ProtocolSlug)
	}
	checkStored(t, s, y)
}

func testEnrollBatchEmpty(t *testing.T, s aftercare.Store) {
	created, err := s.EnrollBatch(context.Background(), nil)
	if err != nil || len(created) != 0 {
		t.Fatalf("EnrollBatch(nil) = %v, %v", created, err)
	}
}

func testEnrollBatchErrConflict(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	var batch []*aftercare.NewEnrollment
	for i := range 4 {
		batch = append(batch, Enrollment(c.ID, proto.ID, i, t0, 4))
	}
	third := batch[2]
	dup := *third.Messages[0]
	third.Messages = append(third.Messages, &dup)
	_, err := s.EnrollBatch(context.Background(), batch)
	wantCode(t, "EnrollBatch whose 3rd item plans a message twice", err, aftercare.ECONFLICT)
	wantNothing(t, s, c.ID, batch...)

	third.Messages = third.Messages[:4]
	same(t, "created once fixed", enrollBatch(t, s, batch), []bool{true, true, true, true})
}

func testEnrollBatchErrNotFound(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	_, other := setup(t, s, "b")
	var batch []*aftercare.NewEnrollment
	for i := range 4 {
		batch = append(batch, Enrollment(c.ID, proto.ID, i, t0, 4))
	}
	batch[2].Enrollment.ProtocolID = other.ID
	_, err := s.EnrollBatch(context.Background(), batch)
	wantCode(t, "EnrollBatch whose 3rd item is on another clinic's protocol", err, aftercare.ENOTFOUND)
	wantNothing(t, s, c.ID, batch...)
}

func testTenantIsolated(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, protoA := setup(t, s, "a")
	b, protoB := setup(t, s, "b")
	ne := Enrollment(a.ID, protoA.ID, 1, t0, 4)
	enroll(t, s, ne)
	e, p := ne.Enrollment, ne.Patient

	_, err := s.FindEnrollment(ctx, b.ID, e.ID)
	wantCode(t, "B finds A's enrollment", err, aftercare.ENOTFOUND)
	_, err = s.CancelEnrollment(ctx, b.ID, e.ID, t0)
	wantCode(t, "B cancels A's enrollment", err, aftercare.ENOTFOUND)
	other := *e
	other.ClinicID, other.TreatedAt = b.ID, t0.Add(time.Hour)
	wantCode(t, "B reschedules A's enrollment", s.Reschedule(ctx, &other, nil, t0), aftercare.ENOTFOUND)
	_, err = s.FindPatient(ctx, b.ID, p.ID)
	wantCode(t, "B finds A's patient", err, aftercare.ENOTFOUND)
	_, err = s.FindPatientByMatchKey(ctx, b.ID, p.MatchKey())
	wantCode(t, "B finds A's patient by match key", err, aftercare.ENOTFOUND)
	_, err = s.FindProtocolByID(ctx, b.ID, protoA.ID)
	wantCode(t, "B finds A's protocol", err, aftercare.ENOTFOUND)
	for _, f := range []aftercare.MessageFilter{
		{ClinicID: b.ID},
		{ClinicID: b.ID, EnrollmentID: e.ID},
		{ClinicID: b.ID, PatientID: p.ID},
		{ClinicID: b.ID, ProtocolSlug: "botox"},
	} {
		if ms := listMessages(t, s, f); len(ms) != 0 {
			t.Fatalf("B lists %d of A's messages with %+v", len(ms), f)
		}
	}
	// A is untouched.
	checkStored(t, s, ne)

	// The same patient and key in B are B's own.
	neB := Enrollment(b.ID, protoB.ID, 1, t0, 4)
	neB.Enrollment.Key = e.Key
	if !enroll(t, s, neB) {
		t.Fatal("B's enrollment with A's key: created = false")
	}
	if neB.Enrollment.ID == e.ID || neB.Patient.ID == p.ID {
		t.Fatal("B's enrollment shares A's rows")
	}
}

// withStatuses enrolls n messages with these statuses. Only the dispatcher
// moves messages past pending; planning them in other states stands in for
// its work here.
func withStatuses(t *testing.T, s aftercare.Store, clinicID, protocolID int64, i int, statuses ...aftercare.Status) *aftercare.NewEnrollment {
	t.Helper()
	ne := Enrollment(clinicID, protocolID, i, t0, len(statuses))
	for k, st := range statuses {
		ne.Messages[k].Status = st
	}
	enroll(t, s, ne)
	return ne
}

func statusesOf(ms []*aftercare.Message) []aftercare.Status {
	var out []aftercare.Status
	for _, m := range ms {
		out = append(out, m.Status)
	}
	return out
}

func testCancelEnrollmentOK(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := withStatuses(t, s, c.ID, proto.ID, 1, aftercare.StatusSent, aftercare.StatusSending, aftercare.StatusPending,
		aftercare.StatusSkipped, aftercare.StatusPending, aftercare.StatusFailed, aftercare.StatusPending)
	bystander := withStatuses(t, s, c.ID, proto.ID, 2, aftercare.StatusPending)
	at := t0.Add(2 * time.Hour).In(elsewhere)
	n, err := s.CancelEnrollment(ctx, c.ID, ne.Enrollment.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("cancelled %d messages, want the 3 pending", n)
	}
	e := findEnrollment(t, s, c.ID, ne.Enrollment.ID)
	if e.Status != aftercare.EnrollmentCancelled || !e.CancelledAt.Equal(at) {
		t.Fatalf("enrollment %s cancelled at %v, want cancelled at %v", e.Status, e.CancelledAt, at)
	}
	wantUTC(t, "CancelledAt", e.CancelledAt)
	ms := listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.ID})
	same(t, "statuses after cancelling", statusesOf(ms), []aftercare.Status{aftercare.StatusSent, aftercare.StatusSending,
		aftercare.StatusCancelled, aftercare.StatusSkipped, aftercare.StatusCancelled, aftercare.StatusFailed, aftercare.StatusCancelled})
	same(t, "the other enrollment's messages",
		listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: bystander.Enrollment.ID}), bystander.Messages)
}

func testCancelEnrollmentAgain(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := withStatuses(t, s, c.ID, proto.ID, 1, aftercare.StatusPending, aftercare.StatusPending)
	if n, err := s.CancelEnrollment(ctx, c.ID, ne.Enrollment.ID, t0.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("first cancel: %d, %v", n, err)
	}
	before := findEnrollment(t, s, c.ID, ne.Enrollment.ID)
	n, err := s.CancelEnrollment(ctx, c.ID, ne.Enrollment.ID, t0.Add(2*time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second cancel: %d, %v; want 0, nil", n, err)
	}
	same(t, "enrollment after a second cancel", findEnrollment(t, s, c.ID, ne.Enrollment.ID), before)
}

func testCancelEnrollmentErrNotFound(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	_, err := s.CancelEnrollment(context.Background(), c.ID, 4242, t0)
	wantCode(t, "CancelEnrollment(4242)", err, aftercare.ENOTFOUND)
}
