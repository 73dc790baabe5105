package scheduler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/schedtest"
)

// peelYAML is a protocol that sends only SMS.
const peelYAML = `slug: peel
name: Peel
languages: [en]
steps:
  - key: spf
    channels: [sms]
    after: 0s
    text:
      en:
        sms: "{{.ClinicName}}: SPF"
`

// importPeel imports the one-message peel protocol into the fixture's clinic.
func importPeel(t *testing.T, f *schedtest.Fixture) {
	t.Helper()
	if _, _, err := f.Svc.ImportProtocol(context.Background(), f.Clinic.ID, "peel.yaml", []byte(peelYAML)); err != nil {
		t.Fatal(err)
	}
}

// TestNothingSentNothingEnrolled: an enrollment whose plan has no pending
// message is refused, naming the field to fix and saying why; enrolling
// again what is stored is not.
func TestNothingSentNothingEnrolled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	yes := true
	tests := []struct {
		name string
		// setup runs before the enrollment (the fixture's clock is
		// 2026-11-22 18:00 UTC, 10:00 in Los Angeles).
		setup func(t *testing.T, f *fixture)
		edit  func(r *scheduler.EnrollRequest)
		field string   // "" when enrolled
		want  []string // in the message
	}{
		{
			name:  "NoConsent",
			edit:  func(r *scheduler.EnrollRequest) { r.SMSConsent, r.EmailConsent = false, false },
			field: "consent",
			want:  []string{"agreed to no messages", "record their SMS or email consent"},
		},
		{
			name:  "NoConsentPhoneOnly",
			edit:  func(r *scheduler.EnrollRequest) { r.Email, r.SMSConsent, r.EmailConsent = "", false, false },
			field: "sms_consent",
			want:  []string{"agreed to no messages", "record their SMS consent"},
		},
		{
			// Bo consented to SMS only, and texted STOP on Monday.
			name: "OptedOut",
			setup: func(t *testing.T, f *fixture) {
				r, err := f.Svc.Enroll(ctx, f.Clinic, bo("2026-11-22T09:00"))
				if err != nil {
					t.Fatal(err)
				}
				f.Now = time.Date(2026, 11, 23, 20, 0, 0, 0, time.UTC)
				if _, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{SMSOptOut: &yes}); err != nil {
					t.Fatal(err)
				}
			},
			edit: func(r *scheduler.EnrollRequest) {
				*r = bo("2026-11-25T09:00")
			},
			field: "sms_consent",
			want:  []string{"opted out of SMS on Mon 23 Nov 2026", "clear the SMS opt-out on their patient page"},
		},
		{
			// Ana opted out of SMS and never agreed to email: email
			// consent is what the front desk can record.
			name: "OptedOutOtherChannelUnconsented",
			setup: func(t *testing.T, f *fixture) {
				req := ana()
				req.EmailConsent = false
				r, err := f.Svc.Enroll(ctx, f.Clinic, req)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{SMSOptOut: &yes}); err != nil {
					t.Fatal(err)
				}
			},
			edit: func(r *scheduler.EnrollRequest) {
				r.TreatedAt, r.EmailConsent = "2026-11-25T09:00", false
			},
			field: "email_consent",
			want:  []string{"opted out of SMS on Sun 22 Nov 2026 and gave no email consent", "record their email consent if they gave it"},
		},
		{
			name:  "AllInPast",
			edit:  func(r *scheduler.EnrollRequest) { r.TreatedAt = "2026-09-01T10:00" },
			field: "treated_at",
			want:  []string{"every message of Microneedling aftercare was due before now", "Tue 1 Sep 2026 at 10:00 PDT", "check the date and time"},
		},
		{
			// Only SMS is the patient's: say so, not "every message".
			name:  "AllInPastOneChannel",
			edit:  func(r *scheduler.EnrollRequest) { r.TreatedAt, r.EmailConsent = "2026-09-01T10:00", false },
			field: "treated_at",
			want:  []string{"every SMS message of Microneedling aftercare was due before now"},
		},
		{
			name:  "ConsentOnUnusedChannel",
			setup: func(t *testing.T, f *fixture) { importPeel(t, f.Fixture) },
			edit: func(r *scheduler.EnrollRequest) {
				r.Protocol, r.Lang, r.SMSConsent = "peel", "en", false
			},
			field: "sms_consent",
			want:  []string{"Peel sends only SMS and the patient agreed only to email", "record their SMS consent", "choose a protocol that sends email"},
		},
		{
			name:  "ConsentOnUnusedChannelNoPhone",
			setup: func(t *testing.T, f *fixture) { importPeel(t, f.Fixture) },
			edit: func(r *scheduler.EnrollRequest) {
				r.Protocol, r.Lang, r.Phone, r.SMSConsent = "peel", "en", "", false
			},
			field: "phone",
			want:  []string{"Peel sends only SMS and the patient has no phone number and agreed only to email", "add their phone number"},
		},
		{
			// Enrolled a month ago: by now every message is in the past,
			// and enrolling again returns the stored enrollment.
			name: "AlreadyEnrolledNothingPending",
			setup: func(t *testing.T, f *fixture) {
				f.enrollAna(t)
				f.Now = f.Now.AddDate(0, 2, 0)
			},
			edit: func(r *scheduler.EnrollRequest) {},
		},
		{
			// Enrolled, then opted out of everything: still the same
			// enrollment, not an error.
			name: "AlreadyEnrolledOptedOut",
			setup: func(t *testing.T, f *fixture) {
				r := f.enrollAna(t)
				if _, err := f.Svc.UpdatePatient(ctx, f.Clinic, r.Patient.ID, scheduler.PatientChanges{SMSOptOut: &yes, EmailOptOut: &yes}); err != nil {
					t.Fatal(err)
				}
			},
			edit: func(r *scheduler.EnrollRequest) {},
		},
		{
			name: "OK",
			edit: func(r *scheduler.EnrollRequest) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(t, f)
			}
			before, msgs := len(f.Enrollments(t)), len(f.Messages(t))
			req := ana()
			tt.edit(&req)
			res, err := f.Svc.Enroll(ctx, f.Clinic, req)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if want := before == 0; res.Created != want {
					t.Errorf("created %v, want %v", res.Created, want)
				}
				if res.Created && pending(res.Messages) == 0 {
					t.Errorf("created with nothing pending")
				}
				if !res.Created && (len(f.Enrollments(t)) != before || len(f.Messages(t)) != msgs) {
					t.Errorf("enrolling again stored something")
				}
				return
			}
			var ae *aftercare.Error
			if !asErr(err, &ae) || ae.Code != aftercare.EUNPROCESSABLE || ae.Field != tt.field {
				t.Fatalf("got %v, want EUNPROCESSABLE on field %s", err, tt.field)
			}
			t.Logf("%s: %s", ae.Field, ae.Message)
			for _, w := range tt.want {
				if !strings.Contains(ae.Message, w) {
					t.Errorf("message %q lacks %q", ae.Message, w)
				}
			}
			if len(f.Enrollments(t)) != before || len(f.Messages(t)) != msgs {
				t.Errorf("a refused enrollment was stored")
			}
		})
	}
}

// bo has a phone and no email, and consents to SMS.
func bo(treated string) scheduler.EnrollRequest {
	return scheduler.EnrollRequest{Name: "Bo Chen", Phone: "+1 415 555 0101", TZ: "America/Los_Angeles",
		Lang: "en", Protocol: "microneedling", TreatedAt: treated, SMSConsent: true, Source: "test"}
}

func pending(msgs []*aftercare.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Status == aftercare.StatusPending {
			n++
		}
	}
	return n
}

// TestRescheduleNothingLeft: a move that would leave nothing to send is
// refused and changes nothing.
func TestRescheduleNothingLeft(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("AllInPast", func(t *testing.T) {
		f := newFixture(t)
		r := f.enrollAna(t)
		_, err := f.Svc.Reschedule(ctx, f.Clinic, r.Enrollment.ID, "2026-09-01T10:00")
		var ae *aftercare.Error
		if !asErr(err, &ae) || ae.Code != aftercare.EUNPROCESSABLE || ae.Field != "treated_at" ||
			!strings.Contains(ae.Message, "still to send would be due before now") || !strings.Contains(ae.Message, "Tue 1 Sep 2026") {
			t.Fatalf("got %v, want EUNPROCESSABLE on treated_at saying every message would be due before now", err)
		}
		got, err := f.Svc.Enrollment(ctx, f.Clinic.ID, r.Enrollment.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Enrollment.TreatedAt.Equal(r.Enrollment.TreatedAt) || pending(got.Messages) != pending(r.Messages) {
			t.Errorf("a refused move changed the enrollment: treated %s, %d pending (was %s, %d)",
				got.Enrollment.TreatedAt, pending(got.Messages), r.Enrollment.TreatedAt, pending(r.Messages))
		}
		// A move that leaves something to send still works.
		if _, err := f.Svc.Reschedule(ctx, f.Clinic, r.Enrollment.ID, "2026-11-29T15:00"); err != nil {
			t.Errorf("a good move: %v", err)
		}
	})
	t.Run("AllSent", func(t *testing.T) {
		// Peel's one message goes out; moving the treatment would plan it
		// again, but it went out already and is not sent twice.
		f := schedtest.NewSend(t)
		importPeel(t, f.Fixture)
		req := bo(f.Now.Format(time.RFC3339))
		req.Protocol = "peel"
		r, err := f.Svc.Enroll(ctx, f.Clinic, req)
		if err != nil {
			t.Fatal(err)
		}
		if n := f.Tick(t); n != 1 {
			t.Fatalf("tick sent %d, want 1", n)
		}
		_, err = f.Svc.Reschedule(ctx, f.Clinic, r.Enrollment.ID, "2026-11-29T15:00")
		if aftercare.ErrorCode(err) != aftercare.ECONFLICT || !strings.Contains(aftercare.ErrorMessage(err), "went out already") {
			t.Fatalf("got %v, want ECONFLICT saying every message went out", err)
		}
		got, err := f.Svc.Enrollment(ctx, f.Clinic.ID, r.Enrollment.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Enrollment.TreatedAt.Equal(r.Enrollment.TreatedAt) {
			t.Errorf("a refused move changed the treatment time to %s", got.Enrollment.TreatedAt)
		}
	})
}

// TestImportNothingSent: a row that would send nothing is a row error with
// its line, field and reason, the other rows are enrolled, and a re-run
// once nothing of the file is pending any more finds every enrolled row
// already enrolled.
func TestImportNothingSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	file := csvHeader +
		"Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-22T15:00,yes,yes\n" +
		"Bo Chen,+1 415 555 0101,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,no,no\n" +
		"Cy Dee,+1 415 555 0102,,America/Los_Angeles,en,microneedling,2026-09-01T10:00,yes,no\n" +
		// Di has two treatments (the importer reads her enrollments).
		"Di Eve,+1 415 555 0103,,America/Los_Angeles,en,microneedling,2026-11-21T10:00,yes,no\n" +
		"Di Eve,+1 415 555 0103,,America/Los_Angeles,en,microneedling,2026-11-22T10:00,yes,no\n"
	want := []scheduler.RowError{{Line: 3, Field: "sms_consent"}, {Line: 4, Field: "treated_at"}}
	check := func(rep *scheduler.ImportReport, enrolled, existing int) {
		t.Helper()
		if rep.Rows != 5 || rep.Enrolled != enrolled || rep.Existing != existing || len(rep.Errors) != len(want) {
			t.Fatalf("report %+v, want %d enrolled, %d existing, %d errors", rep, enrolled, existing, len(want))
		}
		for i, e := range rep.Errors {
			if e.Line != want[i].Line || e.Field != want[i].Field || !strings.Contains(e.Reason, "nothing") && !strings.Contains(e.Reason, "due before now") {
				t.Errorf("error %d: %+v, want line %d on %s saying why nothing is sent", i, e, want[i].Line, want[i].Field)
			}
		}
	}
	rep, err := f.Svc.Import(ctx, f.Clinic, strings.NewReader(file), "day.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	check(rep, 3, 0)
	es, msgs := len(f.Enrollments(t)), len(f.Messages(t))
	if es != 3 {
		t.Fatalf("%d enrollments stored, want 3", es)
	}

	f.Now = f.Now.AddDate(0, 2, 0) // every message of the file is past
	rep, err = f.Svc.Import(ctx, f.Clinic, strings.NewReader(file), "day.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	check(rep, 0, 3)
	if len(f.Enrollments(t)) != es || len(f.Messages(t)) != msgs {
		t.Errorf("a re-run stored something")
	}
}
