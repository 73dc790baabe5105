package scheduler_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

func ptr[T any](v T) *T { return &v }

func (f *fixture) patient(t *testing.T, id int64) *aftercare.Patient {
	t.Helper()
	p, err := f.DB.FindPatient(context.Background(), f.Clinic.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// byIdent indexes messages by Ident.
func byIdent(ms []*aftercare.Message) map[string]*aftercare.Message {
	out := map[string]*aftercare.Message{}
	for _, m := range ms {
		out[m.Ident()] = m
	}
	return out
}

func TestUpdatePatient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("LangReRendersPending", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		before := byIdent(f.Messages(t))
		f.Now = f.Now.Add(time.Minute)
		p, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{Lang: ptr(" EN ")})
		if err != nil {
			t.Fatal(err)
		}
		if p.Lang != "en" || !p.UpdatedAt.Equal(f.Now) {
			t.Fatalf("patient lang %q updated %v, want en at %v", p.Lang, p.UpdatedAt, f.Now)
		}
		after := f.Messages(t)
		if len(after) != len(before) {
			t.Fatalf("%d messages after the change, %d before: want the same rows", len(after), len(before))
		}
		for _, m := range after {
			old := before[m.Ident()]
			if old == nil || old.ID != m.ID {
				t.Fatalf("%s: a new row, want the same message re-planned", m.Ident())
			}
			if m.Status != aftercare.StatusPending {
				continue
			}
			if m.Lang != "en" || m.Body == old.Body || !m.SendAt.Equal(old.SendAt) {
				t.Errorf("%s: lang %s, body changed %v, sent at %v (was %v); want English text at the same time",
					m.Ident(), m.Lang, m.Body != old.Body, m.SendAt, old.SendAt)
			}
		}
	})

	t.Run("ZoneReTimesPending", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		if _, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{TZ: ptr("America/New_York")}); err != nil {
			t.Fatal(err)
		}
		ny, _ := time.LoadLocation("America/New_York")
		m := byIdent(f.Messages(t))["morning-care#0/sms"]
		if m == nil || m.Status != aftercare.StatusPending {
			t.Fatalf("morning-care: %+v", m)
		}
		// Treated 23:00 UTC (18:00 in New York): day 1 at 08:30 is the 23rd, New York time.
		if got := m.SendAt.In(ny).Format("2006-01-02 15:04"); got != "2026-11-23 08:30" {
			t.Errorf("morning-care at %s New York time, want 2026-11-23 08:30", got)
		}
	})

	t.Run("ConsentWithdrawnAndGivenAgain", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		before := byIdent(f.Messages(t))
		p, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{SMSConsent: ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		if p.SMSConsent.Given() || !p.EmailConsent.Given() {
			t.Fatalf("consents after withdrawing SMS: %+v", p)
		}
		for _, m := range f.Messages(t) {
			if m.Channel == aftercare.SMS && m.Status == aftercare.StatusPending {
				t.Errorf("%s still pending after SMS consent was withdrawn", m.Ident())
			}
			if m.Channel == aftercare.Email && m.Status != before[m.Ident()].Status {
				t.Errorf("%s: %s, was %s: email is unaffected", m.Ident(), m.Status, before[m.Ident()].Status)
			}
		}

		f.Now = f.Now.Add(time.Minute)
		p, err = f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{SMSConsent: ptr(true), Source: "web:front@glow.example"})
		if err != nil {
			t.Fatal(err)
		}
		if p.SMSConsent != (aftercare.Consent{At: f.Now, Source: "web:front@glow.example"}) {
			t.Errorf("SMS consent %+v, want now from the web", p.SMSConsent)
		}
		for _, m := range f.Messages(t) {
			if m.Status != before[m.Ident()].Status {
				t.Errorf("%s: %s after consent was given again, was %s", m.Ident(), m.Status, before[m.Ident()].Status)
			}
		}
	})

	t.Run("OwedMessageStaysPending", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		// Two hours after the treatment nothing has been sent (no
		// dispatcher here): first-hours (30 min after) is overdue.
		f.Now = r.Enrollment.TreatedAt.Add(2 * time.Hour)
		old := byIdent(f.Messages(t))["first-hours#0/sms"]
		if _, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{Lang: ptr("en")}); err != nil {
			t.Fatal(err)
		}
		m := byIdent(f.Messages(t))["first-hours#0/sms"]
		if m.Status != aftercare.StatusPending || m.Lang != "en" || m.Body == old.Body {
			t.Fatalf("first-hours: %s %s %q; want it still pending, in English", m.Status, m.Lang, m.Note)
		}
		if !m.SendAt.Equal(f.Now) || !m.ExpiresAt.Equal(old.ExpiresAt) {
			t.Errorf("first-hours at %v expiring %v; want now (%v), expiring as before (%v)", m.SendAt, m.ExpiresAt, f.Now, old.ExpiresAt)
		}
	})

	t.Run("KeyFollowsDetails", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		ch := scheduler.PatientChanges{Name: ptr("  Ana   Ruiz Díaz "), Phone: ptr("(415) 555-0111"), Email: ptr("")}
		p, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, ch)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Ana Ruiz Díaz" || p.Phone != "+14155550111" || p.Email != "" {
			t.Fatalf("patient %+v", p)
		}
		// Enrolling the patient as they are now finds the enrollment.
		req := ana()
		req.Name, req.Phone, req.Email, req.EmailConsent = p.Name, p.Phone, "", false
		again, err := f.Svc.Enroll(ctx, f.Clinic, req)
		if err != nil {
			t.Fatal(err)
		}
		if again.Created || again.Enrollment.ID != r.Enrollment.ID {
			t.Errorf("enrolling with the new details: created %v, enrollment %d; want enrollment %d found", again.Created, again.Enrollment.ID, r.Enrollment.ID)
		}
		// Without an email address, email messages are no longer planned.
		for _, m := range f.Messages(t) {
			if m.Channel == aftercare.Email && m.Status == aftercare.StatusPending {
				t.Errorf("%s pending without an email address", m.Ident())
			}
		}
	})

	t.Run("NothingChanged", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		f.Now = f.Now.Add(time.Hour)
		p, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{Lang: ptr("es"), SMSConsent: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, r.Patient) {
			t.Errorf("patient after a change to what it was:\n%+v\nwant\n%+v", p, r.Patient)
		}
	})

	bad := []struct {
		name, field string
		ch          scheduler.PatientChanges
	}{
		{"ErrNoName", "name", scheduler.PatientChanges{Name: ptr(" ")}},
		{"ErrPhone", "phone", scheduler.PatientChanges{Phone: ptr("555-01")}},
		{"ErrEmail", "email", scheduler.PatientChanges{Email: ptr("ana@")}},
		{"ErrNoContact", "phone", scheduler.PatientChanges{Phone: ptr(""), Email: ptr("")}},
		{"ErrConsentWithoutPhone", "sms_consent", scheduler.PatientChanges{Phone: ptr(""), SMSConsent: ptr(true)}},
		{"ErrZoneUnknown", "tz", scheduler.PatientChanges{TZ: ptr("America/Atlantis")}},
		{"ErrZoneLocal", "tz", scheduler.PatientChanges{TZ: ptr("Local")}},
		{"ErrLangNotOffered", "lang", scheduler.PatientChanges{Lang: ptr("fr"), Name: ptr("Ana Ruiz Díaz")}},
		{"ErrLangShape", "lang", scheduler.PatientChanges{Lang: ptr("english")}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			r := f.enrollAna(t)
			before := f.Messages(t)
			f.Now = f.Now.Add(time.Minute)
			_, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, tt.ch)
			var ae *aftercare.Error
			if aftercare.ErrorCode(err) != aftercare.EINVALID || !asErr(err, &ae) || ae.Field != tt.field {
				t.Fatalf("got %v, want EINVALID on field %s", err, tt.field)
			}
			if p := f.patient(t, r.Patient.ID); !reflect.DeepEqual(p, r.Patient) {
				t.Errorf("a rejected change wrote the patient: %+v", p)
			}
			if after := f.Messages(t); !reflect.DeepEqual(after, before) {
				t.Errorf("a rejected change wrote messages")
			}
		})
	}

	t.Run("ErrConflict", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		f.enrollAna(t)
		bo := ana()
		bo.Name, bo.Phone, bo.Email = "Bo Chen", "+1 415 555 0101", "bo@example.com"
		rb, err := f.Svc.Enroll(ctx, f.Clinic, bo)
		if err != nil {
			t.Fatal(err)
		}
		before := f.Messages(t)
		ch := scheduler.PatientChanges{Name: ptr("ana ruiz"), Phone: ptr("+1 415 555 0100"), Email: ptr("ANA@example.com")}
		_, err = f.Svc.UpdatePatient(ctx, f.Clinic, rb.Patient.ID, ch)
		if aftercare.ErrorCode(err) != aftercare.ECONFLICT {
			t.Fatalf("taking another patient's details: %v, want ECONFLICT", err)
		}
		if p := f.patient(t, rb.Patient.ID); !reflect.DeepEqual(p, rb.Patient) {
			t.Errorf("a refused change wrote the patient: %+v", p)
		}
		if !reflect.DeepEqual(f.Messages(t), before) {
			t.Errorf("a refused change wrote messages")
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		r := f.enrollAna(t)
		other, err := f.Svc.AddClinic(ctx, scheduler.ClinicDefaults{Slug: "other", Name: "Other", Phone: "+14155550177", TZ: "UTC"}, false)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Svc.UpdatePatient(ctx, other, r.Patient.ID, scheduler.PatientChanges{Lang: ptr("en")})
		if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
			t.Fatalf("another clinic changes the patient: %v, want ENOTFOUND", err)
		}
		if p := f.patient(t, r.Patient.ID); p.Lang != "es" {
			t.Errorf("the patient's language is %s after another clinic's change", p.Lang)
		}
	})
}
