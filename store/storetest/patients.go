package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// patientGroups check aftercare.PatientStore.
var patientGroups = []testGroup{
	{"FindPatient", []testCase{
		{"ErrNotFound", testFindPatientErrNotFound},
		{"ByMatchKeys", testFindPatientsByMatchKey},
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

func findPatient(t *testing.T, s aftercare.Store, clinicID, id int64) *aftercare.Patient {
	t.Helper()
	p, err := s.FindPatient(context.Background(), clinicID, id)
	if err != nil {
		t.Fatalf("FindPatient(%d, %d): %v", clinicID, id, err)
	}
	return p
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

func testFindPatientErrNotFound(t *testing.T, s aftercare.Store) {
	c, _ := setup(t, s, "a")
	_, err := s.FindPatient(context.Background(), c.ID, 4242)
	wantCode(t, "FindPatient(4242)", err, aftercare.ENOTFOUND)
	_, err = s.FindPatientByMatchKey(context.Background(), c.ID, "nobody||")
	wantCode(t, "FindPatientByMatchKey(nobody)", err, aftercare.ENOTFOUND)
	_, err = s.FindEnrollment(context.Background(), c.ID, 4242)
	wantCode(t, "FindEnrollment(4242)", err, aftercare.ENOTFOUND)
}

// FindPatientsByMatchKey finds the clinic's patients of the keys it has,
// once each, and no other clinic's.
func testFindPatientsByMatchKey(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, protoA := setup(t, s, "a")
	b, protoB := setup(t, s, "b")
	one, two := Enrollment(a.ID, protoA.ID, 1, t0, 2), Enrollment(a.ID, protoA.ID, 2, t0, 2)
	enroll(t, s, one)
	enroll(t, s, two)
	elsewhere := Enrollment(b.ID, protoB.ID, 3, t0, 2)
	enroll(t, s, elsewhere)

	keys := []string{one.Patient.MatchKey(), "nobody||", elsewhere.Patient.MatchKey(), two.Patient.MatchKey(), one.Patient.MatchKey()}
	got, err := s.FindPatientsByMatchKey(ctx, a.ID, keys)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindPatientsByMatchKey", got, map[string]*aftercare.Patient{
		one.Patient.MatchKey(): one.Patient,
		two.Patient.MatchKey(): two.Patient,
	})
	got, err = s.FindPatientsByMatchKey(ctx, a.ID, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("FindPatientsByMatchKey(no keys) = %v, %v", got, err)
	}
}
