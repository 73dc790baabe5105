package storetest

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare"
)

// protocolGroups check aftercare.ProtocolStore.
var protocolGroups = []testGroup{
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
}

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
