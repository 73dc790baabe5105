package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// auditGroups check aftercare.AuditStore.
var auditGroups = []testGroup{
	{"Audit", []testCase{
		{"NewestFirstInRange", testAuditList},
		{"Pages", testAuditPages},
		{"TenantIsolated", testAuditTenant},
		{"ErrInvalid", testAuditErrInvalid},
		{"ConsentChangesAreLogged", testAuditConsent},
	}},
}

// The audit log (AuditStore), the consent history writes made with
// enrollments and patient changes, and retention (RetentionStore).

func recordAudit(t *testing.T, s aftercare.Store, e *aftercare.AuditEntry) {
	t.Helper()
	if err := s.RecordAudit(context.Background(), e); err != nil || e.ID == 0 {
		t.Fatalf("RecordAudit: id %d err %v", e.ID, err)
	}
}

func testAuditList(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	for i := range 5 {
		recordAudit(t, s, &aftercare.AuditEntry{ClinicID: c.ID, UserID: 7, Actor: "web:ana@a.example", Action: aftercare.AuditCancel,
			Subject: fmt.Sprintf("enrollment %d", i), Detail: "2 pending messages cancelled", At: t0.Add(time.Duration(i) * time.Hour).In(elsewhere)})
	}
	got, err := s.ListAudit(ctx, aftercare.AuditFilter{ClinicID: c.ID})
	if err != nil || len(got) != 5 {
		t.Fatalf("ListAudit: %d entries, err %v", len(got), err)
	}
	e := got[0]
	if e.Subject != "enrollment 4" || e.UserID != 7 || e.Actor != "web:ana@a.example" || e.Action != "cancel" ||
		e.Detail != "2 pending messages cancelled" || !e.At.Equal(t0.Add(4*time.Hour)) || e.At.Location() != time.UTC || e.ClinicID != c.ID {
		t.Errorf("newest entry: %s", dump(e))
	}
	// [Since, Until): hours 1, 2 and 3.
	got, err = s.ListAudit(ctx, aftercare.AuditFilter{ClinicID: c.ID, Since: t0.Add(time.Hour), Until: t0.Add(4 * time.Hour)})
	if err != nil || len(got) != 3 || got[0].Subject != "enrollment 3" || got[2].Subject != "enrollment 1" {
		t.Errorf("range: %v %v", got, err)
	}
}

func testAuditPages(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	// Same time for all: the id orders them.
	for i := range 5 {
		recordAudit(t, s, &aftercare.AuditEntry{ClinicID: c.ID, Actor: "cli", Action: "enroll", Subject: fmt.Sprint(i), At: t0})
	}
	var seen []string
	f := aftercare.AuditFilter{ClinicID: c.ID, Limit: 2}
	for range 4 {
		page, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, e.Subject)
		}
		last := page[len(page)-1]
		f.BeforeAt, f.BeforeID = last.At, last.ID
	}
	if fmt.Sprint(seen) != "[4 3 2 1 0]" {
		t.Errorf("pages: %v", seen)
	}
}

func testAuditTenant(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	a, _ := setup(t, s, "a")
	b, _ := setup(t, s, "b")
	recordAudit(t, s, &aftercare.AuditEntry{ClinicID: a.ID, Actor: "cli", Action: "enroll", At: t0})
	got, err := s.ListAudit(ctx, aftercare.AuditFilter{ClinicID: b.ID})
	if err != nil || len(got) != 0 {
		t.Errorf("clinic b sees %v %v", got, err)
	}
}

func testAuditErrInvalid(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	for _, e := range []*aftercare.AuditEntry{
		{Actor: "cli", Action: "enroll"},
		{ClinicID: c.ID, Action: "enroll"},
		{ClinicID: c.ID, Actor: "cli"},
	} {
		if err := s.RecordAudit(ctx, e); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("RecordAudit(%+v): %v, want EINVALID", e, err)
		}
	}
	if err := s.RecordAudit(ctx, &aftercare.AuditEntry{ClinicID: 999, Actor: "cli", Action: "enroll"}); err == nil {
		t.Error("an entry of no clinic was recorded")
	}
	for _, f := range []aftercare.AuditFilter{{}, {ClinicID: c.ID, Limit: -1}} {
		if _, err := s.ListAudit(ctx, f); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("ListAudit(%+v): %v, want EINVALID", f, err)
		}
	}
}

// testAuditConsent: every consent change after enrollment is in the audit
// log, with who made it, written with the change.
func testAuditConsent(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	if _, err := s.SetConsent(ctx, &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: ne.Patient.ID, Channel: aftercare.SMS,
		Action: aftercare.ConsentWithdrawn, At: t0, Source: "sms:STOP", Note: "STOP please"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListAudit(ctx, aftercare.AuditFilter{ClinicID: c.ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("audit after STOP: %v %v", got, err)
	}
	e := got[0]
	if e.Action != aftercare.AuditConsent || e.Actor != "sms:STOP" || e.Subject != fmt.Sprintf("patient %d", ne.Patient.ID) ||
		e.Detail != "sms withdrawn" || !e.At.Equal(t0) {
		t.Errorf("audit entry of a STOP: %s", dump(e))
	}
}
