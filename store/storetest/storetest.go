// Package storetest is the one test suite that every aftercare.Store engine
// passes: store/sqlite runs it always, store/postgres when it has a database.
// It checks the contract written in store.go's doc comments, error codes
// included, through the interface alone.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// Run runs the suite. open must return a new, empty store each time it is
// called and close it when its test ends (t.Cleanup); the subtests call it
// once each and run in parallel.
func Run(t *testing.T, open func(t *testing.T) aftercare.Store) {
	groups := []testGroup{
		{"CreateClinic", []testCase{
			{"OK", testCreateClinicOK},
			{"ErrConflict", testCreateClinicErrConflict},
			{"ErrInvalid", testCreateClinicErrInvalid},
		}},
		{"FindClinic", []testCase{
			{"Default", testFindClinicDefault},
			{"ErrNotFound", testFindClinicErrNotFound},
		}},
		{"DefaultClinic", []testCase{
			{"Switches", testDefaultClinicSwitches},
		}},
		{"ListClinics", []testCase{
			{"OrderedBySlug", testListClinicsOrdered},
		}},
		{"UpdateClinic", []testCase{
			{"OK", testUpdateClinicOK},
			{"ErrNotFound", testUpdateClinicErrNotFound},
			{"ErrConflict", testUpdateClinicErrConflict},
			{"ShowTreatment", testClinicShowTreatment},
		}},
		{"SaveProtocol", []testCase{
			{"Versions", testSaveProtocolVersions},
			{"RoundTrip", testSaveProtocolRoundTrip},
			{"ErrNotFound", testSaveProtocolErrNotFound},
		}},
		{"FindProtocol", []testCase{
			{"LatestForVersion0", testFindProtocolLatest},
			{"ErrNotFound", testFindProtocolErrNotFound},
		}},
		{"FindProtocolByID", []testCase{
			{"ErrNotFound", testFindProtocolByIDErrNotFound},
		}},
		{"ListProtocols", []testCase{
			{"LatestPerSlug", testListProtocolsLatest},
		}},
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
		{"FindPatient", []testCase{
			{"ErrNotFound", testFindPatientErrNotFound},
			{"ByMatchKeys", testFindPatientsByMatchKey},
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
		{"ListMessages", []testCase{
			{"Filters", testListMessagesFilters},
			{"Pages", testListMessagesPages},
			{"ErrInvalid", testListMessagesErrInvalid},
		}},
		{"FarAhead", []testCase{
			{"ListedClaimedOnTime", testFarAhead},
			{"Cancelled", testFarAheadCancelled},
		}},
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
	groups = append(groups, accountGroups...)
	groups = append(groups, guardGroups...)
	groups = append(groups, patientGroups...)
	groups = append(groups, consentGroups...)
	groups = append(groups, auditGroups...)
	groups = append(groups, inboxGroups...)
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.fn(t, open(t))
				})
			}
		})
	}
}

// testGroup is a method, or a rule, and the cases that check it.
type testGroup struct {
	name  string
	cases []testCase
}

type testCase struct {
	name string
	fn   func(t *testing.T, s aftercare.Store)
}

// t0 is when the test patients were treated. Times in the suite are whole
// seconds, which every engine stores exactly.
var t0 = time.Date(2026, 3, 2, 15, 30, 0, 0, time.UTC)

// elsewhere is a zone times are given in, to check they come out UTC.
var elsewhere = time.FixedZone("UTC+5", 5*3600)

// Helpers. They fail the test at once on an unexpected error.

func createClinic(t *testing.T, s aftercare.Store, slug string, def bool) *aftercare.Clinic {
	t.Helper()
	c := Clinic(slug)
	c.Default = def
	if err := s.CreateClinic(context.Background(), c); err != nil {
		t.Fatalf("CreateClinic(%s): %v", slug, err)
	}
	return c
}

func saveProtocol(t *testing.T, s aftercare.Store, clinicID int64, slug string) *aftercare.Protocol {
	t.Helper()
	p := Protocol(clinicID, slug)
	if err := s.SaveProtocol(context.Background(), p); err != nil {
		t.Fatalf("SaveProtocol(%s): %v", slug, err)
	}
	return p
}

// setup is a clinic with one protocol.
func setup(t *testing.T, s aftercare.Store, slug string) (*aftercare.Clinic, *aftercare.Protocol) {
	t.Helper()
	c := createClinic(t, s, slug, false)
	return c, saveProtocol(t, s, c.ID, "botox")
}

func enroll(t *testing.T, s aftercare.Store, ne *aftercare.NewEnrollment) bool {
	t.Helper()
	created, err := s.Enroll(context.Background(), ne)
	if err != nil {
		t.Fatalf("Enroll(%s): %v", ne.Enrollment.Key, err)
	}
	return created
}

func listMessages(t *testing.T, s aftercare.Store, f aftercare.MessageFilter) []*aftercare.Message {
	t.Helper()
	ms, err := s.ListMessages(context.Background(), f)
	if err != nil {
		t.Fatalf("ListMessages(%+v): %v", f, err)
	}
	return ms
}

func findEnrollment(t *testing.T, s aftercare.Store, clinicID, id int64) *aftercare.Enrollment {
	t.Helper()
	e, err := s.FindEnrollment(context.Background(), clinicID, id)
	if err != nil {
		t.Fatalf("FindEnrollment(%d, %d): %v", clinicID, id, err)
	}
	return e
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := aftercare.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, dump(got), dump(want))
	}
}

// dump prints pointers' targets, slices of pointers included.
func dump(v any) string {
	rv := reflect.ValueOf(v)
	switch {
	case rv.Kind() == reflect.Pointer && !rv.IsNil():
		return fmt.Sprintf("%+v", rv.Elem().Interface())
	case rv.Kind() == reflect.Slice:
		s := "["
		for i := range rv.Len() {
			s += "\n\t" + dump(rv.Index(i).Interface())
		}
		return s + "]"
	}
	return fmt.Sprintf("%+v", v)
}

func wantUTC(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for _, x := range ts {
		if x.IsZero() || x.Location() != time.UTC {
			t.Fatalf("%s: time %v is zero or not UTC", what, x)
		}
	}
}

// Clinics.

func testCreateClinicOK(t *testing.T, s aftercare.Store) {
	c := Clinic("downtown")
	c.EmailFallback = true
	c.Window = aftercare.Window{Start: 9 * 60, End: 20*60 + 30}
	if err := s.CreateClinic(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if c.ID == 0 {
		t.Fatal("CreateClinic did not set ID")
	}
	wantUTC(t, "CreatedAt, UpdatedAt", c.CreatedAt, c.UpdatedAt)
	if !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Errorf("UpdatedAt %v, want CreatedAt %v", c.UpdatedAt, c.CreatedAt)
	}
	got, err := s.FindClinic(context.Background(), "downtown")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindClinic", got, c)
}

func testCreateClinicErrConflict(t *testing.T, s aftercare.Store) {
	createClinic(t, s, "downtown", false)
	err := s.CreateClinic(context.Background(), Clinic("downtown"))
	wantCode(t, "CreateClinic with a taken slug", err, aftercare.ECONFLICT)
	cs, err := s.ListClinics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Fatalf("%d clinics, want 1", len(cs))
	}
}

func testCreateClinicErrInvalid(t *testing.T, s aftercare.Store) {
	err := s.CreateClinic(context.Background(), Clinic("Not A Slug"))
	wantCode(t, "CreateClinic with a bad slug", err, aftercare.EINVALID)
}

func testFindClinicDefault(t *testing.T, s aftercare.Store) {
	createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", true)
	createClinic(t, s, "c", false)
	got, err := s.FindClinic(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	same(t, `FindClinic("")`, got, b)
}

func testFindClinicErrNotFound(t *testing.T, s aftercare.Store) {
	_, err := s.FindClinic(context.Background(), "")
	wantCode(t, "FindClinic(\"\") with no clinic", err, aftercare.ENOTFOUND)
	createClinic(t, s, "a", false)
	_, err = s.FindClinic(context.Background(), "")
	wantCode(t, "FindClinic(\"\") with no default", err, aftercare.ENOTFOUND)
	_, err = s.FindClinic(context.Background(), "nope")
	wantCode(t, "FindClinic(nope)", err, aftercare.ENOTFOUND)
}

func testDefaultClinicSwitches(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	defaults := func() []string {
		t.Helper()
		cs, err := s.ListClinics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var d []string
		for _, c := range cs {
			if c.Default {
				d = append(d, c.Slug)
			}
		}
		return d
	}
	a := createClinic(t, s, "a", true)
	createClinic(t, s, "b", true)
	same(t, "defaults after creating b as default", defaults(), []string{"b"})

	a.Default = true
	if err := s.UpdateClinic(ctx, a); err != nil {
		t.Fatal(err)
	}
	same(t, "defaults after updating a to default", defaults(), []string{"a"})
	got, err := s.FindClinic(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != a.ID {
		t.Fatalf("default clinic %s, want a", got.Slug)
	}

	a.Default = false
	if err := s.UpdateClinic(ctx, a); err != nil {
		t.Fatal(err)
	}
	same(t, "defaults after a stops being default", defaults(), []string(nil))
	_, err = s.FindClinic(ctx, "")
	wantCode(t, "FindClinic(\"\") with no default", err, aftercare.ENOTFOUND)
}

func testListClinicsOrdered(t *testing.T, s aftercare.Store) {
	cs, err := s.ListClinics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 0 {
		t.Fatalf("a new store lists %d clinics", len(cs))
	}
	c := createClinic(t, s, "c", false)
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", true)
	cs, err = s.ListClinics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ListClinics", cs, []*aftercare.Clinic{a, b, c})
}

func testUpdateClinicOK(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "downtown", false)
	created := c.CreatedAt
	c.Slug, c.Name, c.Phone, c.Country, c.TZ = "uptown", "Uptown Skin", "+442071234567", "GB", "Europe/London"
	c.Window = aftercare.Window{Start: 10 * 60, End: 18 * 60}
	c.DailyCap, c.EmailFallback = 5, true
	if err := s.UpdateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantUTC(t, "UpdatedAt", c.UpdatedAt)
	if !c.CreatedAt.Equal(created) || c.UpdatedAt.Before(created) {
		t.Fatalf("CreatedAt %v UpdatedAt %v, want CreatedAt %v and UpdatedAt not before it", c.CreatedAt, c.UpdatedAt, created)
	}
	got, err := s.FindClinic(ctx, "uptown")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindClinic after UpdateClinic", got, c)
	_, err = s.FindClinic(ctx, "downtown")
	wantCode(t, "FindClinic(old slug)", err, aftercare.ENOTFOUND)
}

func testUpdateClinicErrNotFound(t *testing.T, s aftercare.Store) {
	c := Clinic("ghost")
	c.ID = 4242
	wantCode(t, "UpdateClinic(4242)", s.UpdateClinic(context.Background(), c), aftercare.ENOTFOUND)
}

func testUpdateClinicErrConflict(t *testing.T, s aftercare.Store) {
	createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	b.Slug = "a"
	wantCode(t, "UpdateClinic to a taken slug", s.UpdateClinic(context.Background(), b), aftercare.ECONFLICT)
	if _, err := s.FindClinic(context.Background(), "b"); err != nil {
		t.Fatalf("b after a failed rename: %v", err)
	}
}

// testClinicShowTreatment checks that ShowTreatment, off by default,
// survives CreateClinic, UpdateClinic, FindClinic(ByID) and ListClinics in
// both states: a store that dropped it would name treatments on lock
// screens, or never again once a clinic allowed it.
func testClinicShowTreatment(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	off := createClinic(t, s, "off", false)
	on := Clinic("on")
	on.ShowTreatment = true
	if err := s.CreateClinic(ctx, on); err != nil {
		t.Fatal(err)
	}
	check := func(when string, want map[string]bool) {
		t.Helper()
		for slug, w := range want {
			c, err := s.FindClinic(ctx, slug)
			if err != nil {
				t.Fatal(err)
			}
			if c.ShowTreatment != w {
				t.Errorf("%s: FindClinic(%s).ShowTreatment = %v, want %v", when, slug, c.ShowTreatment, w)
			}
			if c, err = s.FindClinicByID(ctx, c.ID); err != nil || c.ShowTreatment != w {
				t.Errorf("%s: FindClinicByID(%s).ShowTreatment = %v (%v), want %v", when, slug, c != nil && c.ShowTreatment, err, w)
			}
		}
		cs, err := s.ListClinics(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.ShowTreatment != want[c.Slug] {
				t.Errorf("%s: ListClinics: %s.ShowTreatment = %v, want %v", when, c.Slug, c.ShowTreatment, want[c.Slug])
			}
		}
	}
	check("created", map[string]bool{"off": false, "on": true})
	off.ShowTreatment, on.ShowTreatment = true, false
	for _, c := range []*aftercare.Clinic{off, on} {
		if err := s.UpdateClinic(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	check("updated", map[string]bool{"off": true, "on": false})
}

// Protocols.

func testSaveProtocolVersions(t *testing.T, s aftercare.Store) {
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	v1 := saveProtocol(t, s, a.ID, "botox")
	v2 := saveProtocol(t, s, a.ID, "botox")
	other := saveProtocol(t, s, a.ID, "filler")
	inB := saveProtocol(t, s, b.ID, "botox")
	for _, c := range []struct {
		p    *aftercare.Protocol
		want int
	}{{v1, 1}, {v2, 2}, {other, 1}, {inB, 1}} {
		if c.p.Version != c.want {
			t.Errorf("%s of clinic %d: version %d, want %d", c.p.Slug, c.p.ClinicID, c.p.Version, c.want)
		}
		if c.p.ID == 0 {
			t.Errorf("%s v%d: no ID", c.p.Slug, c.p.Version)
		}
		wantUTC(t, "CreatedAt", c.p.CreatedAt)
	}
	if v1.ID == v2.ID {
		t.Error("two versions share an ID")
	}
}

func testSaveProtocolRoundTrip(t *testing.T, s aftercare.Store) {
	c := createClinic(t, s, "a", false)
	p := Protocol(c.ID, "botox")
	p.Source = aftercare.SourceBuiltin
	p.Languages = []string{"en", "es", "pt-BR"}
	p.YAML = "slug: botox\n# ñ, emoji 💉 and 'quotes'\n"
	if err := s.SaveProtocol(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindProtocolByID(context.Background(), c.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindProtocolByID", got, p)
}

func testSaveProtocolErrNotFound(t *testing.T, s aftercare.Store) {
	err := s.SaveProtocol(context.Background(), Protocol(4242, "botox"))
	wantCode(t, "SaveProtocol for clinic 4242", err, aftercare.ENOTFOUND)
}

func testFindProtocolLatest(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := createClinic(t, s, "a", false)
	v1 := saveProtocol(t, s, c.ID, "botox")
	v2 := Protocol(c.ID, "botox")
	v2.YAML += "# v2\n"
	if err := s.SaveProtocol(ctx, v2); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindProtocol(ctx, c.ID, "botox", 0)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindProtocol(botox, 0)", got, v2)
	got, err = s.FindProtocol(ctx, c.ID, "botox", 1)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindProtocol(botox, 1)", got, v1)
}

func testFindProtocolErrNotFound(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, _ := setup(t, s, "a")
	b := createClinic(t, s, "b", false)
	_, err := s.FindProtocol(ctx, a.ID, "nope", 0)
	wantCode(t, "FindProtocol(nope)", err, aftercare.ENOTFOUND)
	_, err = s.FindProtocol(ctx, a.ID, "botox", 2)
	wantCode(t, "FindProtocol(botox, 2)", err, aftercare.ENOTFOUND)
	_, err = s.FindProtocol(ctx, b.ID, "botox", 0)
	wantCode(t, "FindProtocol(another clinic's botox)", err, aftercare.ENOTFOUND)
}

func testFindProtocolByIDErrNotFound(t *testing.T, s aftercare.Store) {
	_, p := setup(t, s, "a")
	b := createClinic(t, s, "b", false)
	_, err := s.FindProtocolByID(context.Background(), b.ID, p.ID)
	wantCode(t, "FindProtocolByID(another clinic's protocol)", err, aftercare.ENOTFOUND)
	_, err = s.FindProtocolByID(context.Background(), p.ClinicID, 4242)
	wantCode(t, "FindProtocolByID(4242)", err, aftercare.ENOTFOUND)
}

func testListProtocolsLatest(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a := createClinic(t, s, "a", false)
	b := createClinic(t, s, "b", false)
	filler := saveProtocol(t, s, a.ID, "filler")
	saveProtocol(t, s, a.ID, "botox")
	botox2 := saveProtocol(t, s, a.ID, "botox")
	peel := saveProtocol(t, s, b.ID, "peel")
	got, err := s.ListProtocols(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ListProtocols(a)", got, []*aftercare.Protocol{botox2, filler})
	got, err = s.ListProtocols(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "ListProtocols(b)", got, []*aftercare.Protocol{peel})
}

// Enrollments.

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

// Messages.

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
