package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

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
