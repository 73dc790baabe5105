package storetest

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare"
)

// clinicGroups check aftercare.ClinicStore.
var clinicGroups = []testGroup{
	{"CreateClinic", []testCase{
		{"OK", testCreateClinicOK},
		{"ErrConflict", testCreateClinicErrConflict},
		{"ErrInvalid", testCreateClinicErrInvalid},
	}},
	{"FindClinic", []testCase{
		{"Default", testFindClinicDefault},
		{"ErrNotFound", testFindClinicErrNotFound},
	}},
	{"FindClinicByID", []testCase{
		{"OK", testFindClinicByIDOK},
		{"ErrNotFound", testFindClinicByIDErrNotFound},
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
	{"ClinicMessagingSettings", []testCase{
		{"RoundTrip", testClinicMessagingSettings},
	}},
}

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

func testFindClinicByIDOK(t *testing.T, s aftercare.Store) {
	createClinic(t, s, "a", true)
	b := createClinic(t, s, "b", false)
	got, err := s.FindClinicByID(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "FindClinicByID", got, b)
}

func testFindClinicByIDErrNotFound(t *testing.T, s aftercare.Store) {
	createClinic(t, s, "a", true)
	_, err := s.FindClinicByID(context.Background(), 4242)
	wantCode(t, "FindClinicByID(4242)", err, aftercare.ENOTFOUND)
}

// testClinicMessagingSettings: the settings of two-way messaging round-trip
// through CreateClinic, UpdateClinic, FindClinic and ListClinics.
func testClinicMessagingSettings(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := Clinic("settings")
	if err := s.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClinic(ctx, "settings")
	if err != nil || got.AlertEmail != "" || got.TwilioOptOutReplies || got.RetentionDays != 0 || got.PatientLinks {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	got.AlertEmail, got.TwilioOptOutReplies, got.RetentionDays, got.PatientLinks = "nurse@clinic.example.com", true, 90, true
	if err := s.UpdateClinic(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, err := s.FindClinicByID(ctx, got.ID)
	if err != nil || again.AlertEmail != "nurse@clinic.example.com" || !again.TwilioOptOutReplies || again.RetentionDays != 90 || !again.PatientLinks {
		t.Fatalf("after update: %+v %v", again, err)
	}
	cs, _ := s.ListClinics(ctx)
	for _, x := range cs {
		if x.ID == got.ID && (x.RetentionDays != 90 || !x.PatientLinks) {
			t.Errorf("ListClinics: %+v", x)
		}
	}
}
