// Package storetest is the one test suite that every aftercare.Store engine
// passes: store/sqlite runs it always, store/postgres when it has a database.
// It checks the contracts written in the root package's doc comments, error
// codes included, through the interface alone.
//
// Like river's driver test suite, it is split by noun: each contract's cases
// are in the file named after it (clinics.go for aftercare.ClinicStore,
// patients.go for PatientStore, enrollments*.go for EnrollmentStore, ...), in
// a <noun>Groups variable that Run registers. This file holds Run, the
// registry and the helpers every file shares.
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
	groups := slices.Concat(
		clinicGroups, protocolGroups, patientGroups, enrollmentGroups, messageGroups, statsGroups,
		dispatchGroups, dispatchBatchGroups, accountGroups, guardGroups, consentGroups, secretGroups,
		auditGroups, retentionGroups, inboxGroups, summaryGroups,
	)
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

// Protocols.

// Enrollments.

// Messages.
