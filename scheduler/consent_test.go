package scheduler_test

import (
	"context"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// TestConsentHistory: an enrollment records the consent it gives with the
// staff user of the context; a staff change of consent or opt-out records
// a given or withdrawn event per channel with that user, and an audit
// entry names the fields changed, no values.
func TestConsentHistory(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	anaCtx := aftercare.WithActor(context.Background(), aftercare.Actor{UserID: 7, Label: "web:ana@glow.example"})
	req := ana()
	req.Source = "web:ana@glow.example"
	r, err := f.Svc.Enroll(anaCtx, f.Clinic, req)
	if err != nil {
		t.Fatal(err)
	}
	evs, _ := f.DB.ListConsentEvents(context.Background(), f.Clinic.ID, r.Patient.ID)
	if len(evs) != 2 || evs[0].UserID != 7 || evs[0].Source != "web:ana@glow.example" || evs[0].Action != aftercare.ConsentGiven {
		t.Fatalf("after enroll: %v", evs)
	}
	bea := aftercare.WithActor(context.Background(), aftercare.Actor{UserID: 9, Label: "web:bea@glow.example"})
	if _, err := f.Svc.UpdatePatient(bea, f.Clinic, r.Patient.ID, scheduler.PatientChanges{
		SMSOptOut: ptr(true), EmailConsent: ptr(false), Name: ptr("Ana María Ruiz"), Source: "web:bea@glow.example"}); err != nil {
		t.Fatal(err)
	}
	evs, _ = f.DB.ListConsentEvents(context.Background(), f.Clinic.ID, r.Patient.ID)
	if len(evs) != 4 {
		t.Fatalf("after the change: %v", evs)
	}
	for _, e := range evs[2:] {
		if e.UserID != 9 || e.Action != aftercare.ConsentWithdrawn || e.Source != "web:bea@glow.example" {
			t.Errorf("event %+v", e)
		}
	}
	if evs[2].Channel == evs[3].Channel {
		t.Errorf("both events are of %s", evs[2].Channel)
	}
	es, _ := f.DB.ListAudit(context.Background(), aftercare.AuditFilter{ClinicID: f.Clinic.ID})
	var update *aftercare.AuditEntry
	for _, e := range es {
		if e.Action == aftercare.AuditPatientUpdate {
			update = e
		}
	}
	if update == nil || update.UserID != 9 || update.Detail != "changed name, sms consent, email consent" {
		t.Errorf("audit: %v", es)
	}
	// Nothing changed: no event, no entry.
	n := len(es)
	if _, err := f.Svc.UpdatePatient(bea, f.Clinic, r.Patient.ID, scheduler.PatientChanges{SMSOptOut: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if es, _ := f.DB.ListAudit(context.Background(), aftercare.AuditFilter{ClinicID: f.Clinic.ID}); len(es) != n {
		t.Errorf("an unchanged patient was audited: %v", es[0])
	}
}
