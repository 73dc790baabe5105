package scheduler

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/store/sqlite"
)

// importClinic is a new database with the default clinic and the built-in
// protocols, its clock at now.
func importClinic(t *testing.T, now time.Time) (*Service, *aftercare.Clinic) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "aftercare.db"), sqlite.WithNow(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := NewService(db, func() time.Time { return now })
	if err := s.Bootstrap(ctx, ClinicDefaults{Name: "Glow Skin Studio", Phone: "+1 415 555 0199", TZ: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	c, err := db.FindClinic(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// plans returns every message of the clinic as "patient treated-at step#n/channel status send-at note",
// which two databases planned alike share whatever their IDs.
func plans(t *testing.T, s *Service, c *aftercare.Clinic) []string {
	t.Helper()
	ctx := context.Background()
	// Enrollment by enrollment: the clinic's log may leave out pending
	// messages far ahead.
	es, err := s.Store.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*aftercare.Message
	for _, e := range es {
		ms, err := s.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: c.ID, EnrollmentID: e.Enrollment.ID})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, ms...)
	}
	var out []string
	for _, m := range msgs {
		e, err := s.Store.FindEnrollment(ctx, c.ID, m.EnrollmentID)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Store.FindPatient(ctx, c.ID, m.PatientID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s %q %q", p.Name, e.TreatedAt.Format(time.RFC3339), m.Ident(), m.Status,
			m.SendAt.Format(time.RFC3339), m.Note, m.Body))
	}
	slices.Sort(out)
	return out
}

// A patient with several rows in one file is planned as if the rows were
// enrolled one by one in file order: each row's daily cap counts the
// messages planned for the rows before (and those the patient had), and
// consent given on an earlier row holds. It holds whether the rows are in
// one batch or in several, and when some rows were enrolled before.
func TestImportPlansRowsInOrder(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const header = "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n"
	ana := func(treated, sms string) string {
		return "Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling," + treated + "," + sms + ",yes\n"
	}
	bo := "Bo Chen,+1 415 555 0101,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,yes,no\n"
	cases := []struct {
		name   string
		before []string // rows enrolled before the import
		rows   []string
	}{
		{"TwoTreatments", nil, []string{ana("2026-11-22T15:00", "yes"), bo, ana("2026-11-23T09:30", "yes")}},
		{"ConsentOnTheFirstRow", nil, []string{ana("2026-11-22T15:00", "yes"), ana("2026-11-23T09:30", "no")}},
		{"StoredPatient", []string{ana("2026-11-22T13:00", "yes")}, []string{ana("2026-11-22T15:00", "no"), bo, ana("2026-11-23T09:30", "no")}},
		{"RowEnrolledBefore", []string{ana("2026-11-22T15:00", "yes")}, []string{ana("2026-11-22T15:00", "yes"), ana("2026-11-23T09:30", "yes")}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			// What enrolling the rows one by one plans.
			one, clinicOne := importClinic(t, now)
			for i, row := range append(slices.Clone(c.before), c.rows...) {
				if _, err := one.importFile(ctx, clinicOne, strings.NewReader(header+row), fmt.Sprintf("row%d.csv", i), nil, 1); err != nil {
					t.Fatal(err)
				}
			}
			want := plans(t, one, clinicOne)
			capped := 0
			for _, p := range want {
				if strings.Contains(p, "daily cap") {
					capped++
				}
			}
			if c.name == "TwoTreatments" && capped == 0 {
				t.Fatal("fixture: the second treatment is not capped; the test would not see the cap ignored")
			}
			for _, batch := range []int{1, 2, ImportBatch} {
				s, clinic := importClinic(t, now)
				for i, row := range c.before {
					if _, err := s.importFile(ctx, clinic, strings.NewReader(header+row), fmt.Sprintf("before%d.csv", i), nil, 1); err != nil {
						t.Fatal(err)
					}
				}
				rep, err := s.importFile(ctx, clinic, strings.NewReader(header+strings.Join(c.rows, "")), "day.csv", nil, batch)
				if err != nil {
					t.Fatal(err)
				}
				if len(rep.Errors) > 0 || rep.Enrolled+rep.Existing != len(c.rows) {
					t.Fatalf("batch %d: report %+v", batch, rep)
				}
				if got := plans(t, s, clinic); !slices.Equal(got, want) {
					t.Errorf("batch %d: the file planned\n%s\nwant, as row by row,\n%s", batch, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		})
	}
}
