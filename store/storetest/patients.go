package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// patientGroups check aftercare.PatientStore.
var patientGroups = []testGroup{
	{"ListEnrollments", []testCase{
		{"Summary", testListEnrollmentsSummary},
		{"Pages", testListEnrollmentsPages},
		{"Filters", testListEnrollmentsFilters},
		{"ErrInvalid", testListEnrollmentsErrInvalid},
	}},
	{"SearchPatients", []testCase{
		{"Matches", testSearchPatients},
		{"OrderAndLimit", testSearchPatientsOrder},
	}},
	{"UpdatePatient", []testCase{
		{"OK", testUpdatePatientOK},
		{"ErrConflict", testUpdatePatientErrConflict},
		{"ErrNotFound", testUpdatePatientErrNotFound},
		{"ErrInvalid", testUpdatePatientErrInvalid},
	}},
	{"TenantPatients", []testCase{
		{"Isolated", testTenantPatientsIsolated},
	}},
}

func listEnrollments(t *testing.T, s aftercare.Store, f aftercare.EnrollmentFilter) []*aftercare.EnrollmentSummary {
	t.Helper()
	es, err := s.ListEnrollments(context.Background(), f)
	if err != nil {
		t.Fatalf("ListEnrollments(%+v): %v", f, err)
	}
	return es
}

func enrollmentIDs(es []*aftercare.EnrollmentSummary) []int64 {
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.Enrollment.ID)
	}
	return ids
}

func findPatient(t *testing.T, s aftercare.Store, clinicID, id int64) *aftercare.Patient {
	t.Helper()
	p, err := s.FindPatient(context.Background(), clinicID, id)
	if err != nil {
		t.Fatalf("FindPatient(%d, %d): %v", clinicID, id, err)
	}
	return p
}

func testListEnrollmentsSummary(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	st := func(ss ...aftercare.Status) []aftercare.Status { return ss }
	// Messages are 12 hours apart, two per step: the first pending one is
	// the third (t0+24h); the sending one before it is not pending.
	busy := withStatuses(t, s, c.ID, proto.ID, 1, st(aftercare.StatusSent, aftercare.StatusSending, aftercare.StatusPending,
		aftercare.StatusDelivered, aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown,
		aftercare.StatusExpired, aftercare.StatusSkipped, aftercare.StatusCancelled, aftercare.StatusPending)...)
	empty := Enrollment(c.ID, proto.ID, 2, t0, 0)
	enroll(t, s, empty)

	got := listEnrollments(t, s, aftercare.EnrollmentFilter{ClinicID: c.ID})
	if len(got) != 2 {
		t.Fatalf("%d enrollments, want 2", len(got))
	}
	want := []*aftercare.EnrollmentSummary{
		{Enrollment: findEnrollment(t, s, c.ID, empty.Enrollment.ID), Patient: findPatient(t, s, c.ID, empty.Patient.ID)},
		{Enrollment: findEnrollment(t, s, c.ID, busy.Enrollment.ID), Patient: findPatient(t, s, c.ID, busy.Patient.ID),
			Pending: 3, Done: 2, Problems: 4, NextSendAt: t0.Add(24 * time.Hour)},
	}
	same(t, "summaries, newest first", got, want)
	for i := range got {
		same(t, "summary", got[i], want[i])
	}
	wantUTC(t, "NextSendAt", got[1].NextSendAt)
}

func testListEnrollmentsPages(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	var ids []int64
	for i := range 7 {
		ne := Enrollment(c.ID, proto.ID, i, t0, 2)
		enroll(t, s, ne)
		ids = append(ids, ne.Enrollment.ID)
	}
	slices.Reverse(ids)
	same(t, "every enrollment, newest first", enrollmentIDs(listEnrollments(t, s, aftercare.EnrollmentFilter{ClinicID: c.ID})), ids)

	var paged []int64
	f := aftercare.EnrollmentFilter{ClinicID: c.ID, Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page := listEnrollments(t, s, f)
		paged = append(paged, enrollmentIDs(page)...)
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].Enrollment.ID
	}
	same(t, "the pages put together", paged, ids)
}

func testListEnrollmentsFilters(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	first := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, first)
	other := Enrollment(c.ID, proto.ID, 2, t0, 2)
	enroll(t, s, other)
	again := Enrollment(c.ID, proto.ID, 1, t0.Add(30*24*time.Hour), 2) // patient 1, treated again
	enroll(t, s, again)
	if again.Patient.ID != first.Patient.ID {
		t.Fatal("fixture: the second treatment has another patient")
	}

	got := listEnrollments(t, s, aftercare.EnrollmentFilter{ClinicID: c.ID, PatientID: first.Patient.ID})
	same(t, "the patient's enrollments", enrollmentIDs(got), []int64{again.Enrollment.ID, first.Enrollment.ID})
	for _, e := range got {
		same(t, "the patient of each", e.Patient, findPatient(t, s, c.ID, first.Patient.ID))
	}
	got = listEnrollments(t, s, aftercare.EnrollmentFilter{ClinicID: c.ID, Since: other.Enrollment.CreatedAt.In(elsewhere)})
	var want []int64
	for _, ne := range []*aftercare.NewEnrollment{again, other, first} {
		if !ne.Enrollment.CreatedAt.Before(other.Enrollment.CreatedAt) {
			want = append(want, ne.Enrollment.ID)
		}
	}
	same(t, "enrollments since the second was created", enrollmentIDs(got), want)
	got = listEnrollments(t, s, aftercare.EnrollmentFilter{ClinicID: c.ID, PatientID: first.Patient.ID, BeforeID: again.Enrollment.ID})
	same(t, "the patient's enrollments before the latest", enrollmentIDs(got), []int64{first.Enrollment.ID})
}

func testListEnrollmentsErrInvalid(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	_, err := s.ListEnrollments(context.Background(), aftercare.EnrollmentFilter{})
	wantCode(t, "ListEnrollments without a clinic", err, aftercare.EINVALID)
	_, err = s.ListEnrollments(context.Background(), aftercare.EnrollmentFilter{ClinicID: c.ID, Limit: -1})
	wantCode(t, "ListEnrollments with limit -1", err, aftercare.EINVALID)
	_, err = s.ListEnrollments(context.Background(), aftercare.EnrollmentFilter{ClinicID: c.ID, PatientID: 4242})
	wantCode(t, "ListEnrollments of patient 4242", err, aftercare.ENOTFOUND)
}

// searchFixture enrolls three patients of clinic a and, in clinic b, one
// named like the first.
func searchFixture(t *testing.T, s aftercare.Store) (a, b *aftercare.Clinic, ana, bob, carla *aftercare.Patient) {
	t.Helper()
	a, proto := setup(t, s, "a")
	b, protoB := setup(t, s, "b")
	patient := func(c, proto int64, i int, name, phone, email string) *aftercare.Patient {
		ne := Enrollment(c, proto, i, t0, 1)
		ne.Patient.Name, ne.Patient.Phone, ne.Patient.Email = name, phone, email
		enroll(t, s, ne)
		return ne.Patient
	}
	ana = patient(a.ID, proto.ID, 1, "Ana María López", "+14155550101", "ana.lopez@example.com")
	bob = patient(a.ID, proto.ID, 2, "Bob Smith", "+14155550202", "bob@mail.example")
	carla = patient(a.ID, proto.ID, 3, "Carla Díaz", "+442071838750", "")
	patient(b.ID, protoB.ID, 1, "Ana María López", "+14155550101", "ana.lopez@example.com")
	return a, b, ana, bob, carla
}

func testSearchPatients(t *testing.T, s aftercare.Store) {
	a, b, ana, bob, carla := searchFixture(t, s)
	for _, tc := range []struct {
		name string
		q    string
		want []*aftercare.Patient
	}{
		{"Name", "lópez", []*aftercare.Patient{ana}},
		{"NameOtherCase", "LÓPEZ", []*aftercare.Patient{ana}},
		{"NameSpaces", "  ana   MARÍA ", []*aftercare.Patient{ana}},
		{"NamePart", "smi", []*aftercare.Patient{bob}},
		{"PhoneAsWritten", "(415) 555-02", []*aftercare.Patient{bob}},
		{"PhoneE164", "+442071838750", []*aftercare.Patient{carla}},
		{"PhoneDigits", "0101", []*aftercare.Patient{ana}},
		{"TooFewDigits", "41", nil},
		{"Email", "Mail.Example", []*aftercare.Patient{bob}},
		{"EmailPart", "ana.lopez@", []*aftercare.Patient{ana}},
		{"Nobody", "zoë", nil},
	} {
		got, err := s.SearchPatients(context.Background(), a.ID, tc.q, 10)
		if err != nil {
			t.Fatalf("%s: SearchPatients(%q): %v", tc.name, tc.q, err)
		}
		if got == nil {
			t.Fatalf("%s: SearchPatients(%q) = nil, want an empty list", tc.name, tc.q)
		}
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		same(t, tc.name+": SearchPatients("+tc.q+")", got, tc.want)
	}
	got, err := s.SearchPatients(context.Background(), b.ID, "bob", 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("clinic b finds %d of a's patients (%v)", len(got), err)
	}
}

func testSearchPatientsOrder(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, _, ana, bob, carla := searchFixture(t, s)
	search := func(q string, limit int) []*aftercare.Patient {
		t.Helper()
		got, err := s.SearchPatients(ctx, a.ID, q, limit)
		if err != nil {
			t.Fatalf("SearchPatients(%q, %d): %v", q, limit, err)
		}
		return got
	}
	same(t, "everyone, most recently updated first", search("", 10), []*aftercare.Patient{carla, bob, ana})
	same(t, "limit 2", search("", 2), []*aftercare.Patient{carla, bob})
	same(t, "limit 0 (the default)", search("", 0), []*aftercare.Patient{carla, bob, ana})

	ana.Lang = "es"
	if err := s.UpdatePatient(ctx, ana); err != nil {
		t.Fatal(err)
	}
	same(t, "after Ana changed", search("", 1), []*aftercare.Patient{ana})
	_, err := s.SearchPatients(ctx, a.ID, "", -1)
	wantCode(t, "SearchPatients with limit -1", err, aftercare.EINVALID)
}

func testUpdatePatientOK(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	p := *ne.Patient
	oldKey := p.MatchKey()
	p.Name, p.Phone, p.Email = "Ana Ruiz Díaz", "+14155550999", "ana@new.example"
	p.TZ, p.Lang = "Europe/Madrid", "es"
	p.SMSConsent = aftercare.Consent{}
	p.EmailConsent = aftercare.Consent{At: t0.Add(time.Hour).In(elsewhere), Source: "web:front@a.example"}
	p.SMSOptOutAt = t0.Add(2 * time.Hour).In(elsewhere)
	if err := s.UpdatePatient(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if !p.CreatedAt.Equal(ne.Patient.CreatedAt) || p.UpdatedAt.Before(ne.Patient.UpdatedAt) {
		t.Fatalf("created %v, updated %v; want the stored creation time and a later update", p.CreatedAt, p.UpdatedAt)
	}
	wantUTC(t, "patient times", p.UpdatedAt, p.EmailConsent.At, p.SMSOptOutAt)
	same(t, "FindPatient after UpdatePatient", findPatient(t, s, c.ID, p.ID), &p)
	got, err := s.FindPatientByMatchKey(ctx, c.ID, p.MatchKey())
	if err != nil {
		t.Fatalf("FindPatientByMatchKey with the new details: %v", err)
	}
	same(t, "FindPatientByMatchKey with the new details", got, &p)
	_, err = s.FindPatientByMatchKey(ctx, c.ID, oldKey)
	wantCode(t, "FindPatientByMatchKey with the old details", err, aftercare.ENOTFOUND)

	// Writing the name in another case is the same patient, not a conflict.
	p.Name = "ANA RUIZ DÍAZ"
	if err := s.UpdatePatient(ctx, &p); err != nil {
		t.Fatalf("UpdatePatient with the name in capitals: %v", err)
	}
}

func testUpdatePatientErrConflict(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	one, two := Enrollment(c.ID, proto.ID, 1, t0, 2), Enrollment(c.ID, proto.ID, 2, t0, 2)
	enroll(t, s, one)
	enroll(t, s, two)
	p := *two.Patient
	p.Name, p.Phone, p.Email = "  patient 1  EXAMPLE", one.Patient.Phone, one.Patient.Email
	wantCode(t, "UpdatePatient to another patient's details", s.UpdatePatient(context.Background(), &p), aftercare.ECONFLICT)
	same(t, "the patient after a refused update", findPatient(t, s, c.ID, two.Patient.ID), two.Patient)
}

func testUpdatePatientErrNotFound(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	p := &aftercare.Patient{ID: 4242, ClinicID: c.ID, Name: "Nobody", TZ: "UTC", Lang: "en"}
	wantCode(t, "UpdatePatient(4242)", s.UpdatePatient(context.Background(), p), aftercare.ENOTFOUND)
}

func testUpdatePatientErrInvalid(t *testing.T, s aftercare.Store) {
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	for name, spoil := range map[string]func(p *aftercare.Patient){
		"NoName": func(p *aftercare.Patient) { p.Name = "  " },
		"NoTZ":   func(p *aftercare.Patient) { p.TZ = "" },
		"NoLang": func(p *aftercare.Patient) { p.Lang = "" },
	} {
		p := *ne.Patient
		spoil(&p)
		wantCode(t, name, s.UpdatePatient(context.Background(), &p), aftercare.EINVALID)
	}
	same(t, "the patient after refused updates", findPatient(t, s, c.ID, ne.Patient.ID), ne.Patient)
}

// testTenantPatientsIsolated: clinic B cannot list, find or change clinic
// A's patients and enrollments.
func testTenantPatientsIsolated(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, protoA := setup(t, s, "a")
	b, _ := setup(t, s, "b")
	ne := Enrollment(a.ID, protoA.ID, 1, t0, 4)
	enroll(t, s, ne)

	if got := listEnrollments(t, s, aftercare.EnrollmentFilter{ClinicID: b.ID}); len(got) != 0 {
		t.Fatalf("B lists %d of A's enrollments", len(got))
	}
	_, err := s.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: b.ID, PatientID: ne.Patient.ID})
	wantCode(t, "B lists the enrollments of A's patient", err, aftercare.ENOTFOUND)
	got, err := s.SearchPatients(ctx, b.ID, "", 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("B finds %d of A's patients (%v)", len(got), err)
	}
	p := *ne.Patient
	p.ClinicID, p.Name = b.ID, "Taken Over"
	wantCode(t, "B updates A's patient", s.UpdatePatient(ctx, &p), aftercare.ENOTFOUND)
	same(t, "A's patient", findPatient(t, s, a.ID, ne.Patient.ID), ne.Patient)
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
