package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/schedtest"
)

// fixture is the shared fixture (a service on a real SQLite file with a
// clock the test moves), named here so these tests can add methods to it.
type fixture struct{ *schedtest.Fixture }

func newFixture(t *testing.T) *fixture { return &fixture{schedtest.New(t)} }

func ana() scheduler.EnrollRequest {
	return scheduler.EnrollRequest{Name: "Ana Ruiz", Phone: "+1 415 555 0100", Email: "ana@example.com", TZ: "America/Los_Angeles",
		Lang: "es", Protocol: "microneedling", TreatedAt: "2026-11-22T15:00", SMSConsent: true, EmailConsent: true, Source: "test"}
}

// enrollAna enrolls ana() (Spanish, both channels, treated 2026-11-22 15:00
// in Los Angeles, after the fixture's now) and returns the result.
func (f *fixture) enrollAna(t *testing.T) *scheduler.EnrollResult {
	t.Helper()
	r, err := f.Svc.Enroll(context.Background(), f.Clinic, ana())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEnroll(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("OKAndIdempotent", func(t *testing.T) {
		f := newFixture(t)
		r1 := f.enrollAna(t)
		if !r1.Created || r1.Enrollment.ID == 0 || r1.Patient.Phone != "+14155550100" || len(r1.Messages) == 0 {
			t.Fatalf("first enroll: %+v", r1)
		}
		for _, m := range r1.Messages {
			if m.Lang != "es" || !strings.Contains(m.Body, "Glow Skin Studio") && m.Channel == aftercare.SMS {
				t.Errorf("%s: lang %s body %q", m.Ident(), m.Lang, m.Body)
			}
		}
		n := len(f.Messages(t))
		f.Now = f.Now.Add(time.Minute)
		r2 := f.enrollAna(t)
		if r2.Created || r2.Enrollment.ID != r1.Enrollment.ID || r2.Patient.ID != r1.Patient.ID {
			t.Errorf("second enroll created %v id %d, want the same enrollment %d", r2.Created, r2.Enrollment.ID, r1.Enrollment.ID)
		}
		if got := len(f.Messages(t)); got != n || len(r2.Messages) != n {
			t.Errorf("messages after re-enroll: %d stored, %d returned, want %d", got, len(r2.Messages), n)
		}
	})
	bad := []struct {
		name, field string
		edit        func(r *scheduler.EnrollRequest)
	}{
		{"ErrNoName", "name", func(r *scheduler.EnrollRequest) { r.Name = "  " }},
		{"ErrPhone", "phone", func(r *scheduler.EnrollRequest) { r.Phone = "555-01" }},
		{"ErrEmail", "email", func(r *scheduler.EnrollRequest) { r.Email = "ana@" }},
		{"ErrNoContact", "phone", func(r *scheduler.EnrollRequest) {
			r.Phone, r.Email, r.SMSConsent, r.EmailConsent = "", "", false, false
		}},
		{"ErrConsentWithoutPhone", "sms_consent", func(r *scheduler.EnrollRequest) { r.Phone = "" }},
		{"ErrZoneLocal", "tz", func(r *scheduler.EnrollRequest) { r.TZ = "Local" }},
		{"ErrZoneUnknown", "tz", func(r *scheduler.EnrollRequest) { r.TZ = "America/Atlantis" }},
		{"ErrLang", "lang", func(r *scheduler.EnrollRequest) { r.Lang = "fr" }},
		{"ErrProtocol", "protocol", func(r *scheduler.EnrollRequest) { r.Protocol = "botox" }},
		{"ErrTreatedAt", "treated_at", func(r *scheduler.EnrollRequest) { r.TreatedAt = "yesterday" }},
		{"ErrTreatedAtFarAway", "treated_at", func(r *scheduler.EnrollRequest) { r.TreatedAt = "2062-11-22T15:00" }},
		{"ErrTreatedAtInDSTGap", "treated_at", func(r *scheduler.EnrollRequest) { r.TreatedAt = "2026-03-08T02:30" }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			req := ana()
			tt.edit(&req)
			_, err := f.Svc.Enroll(ctx, f.Clinic, req)
			var ae *aftercare.Error
			if aftercare.ErrorCode(err) != aftercare.EINVALID || !asErr(err, &ae) || ae.Field != tt.field {
				t.Fatalf("got %v, want EINVALID on field %s", err, tt.field)
			}
			if n := len(f.Messages(t)); n != 0 {
				t.Errorf("a rejected enrollment wrote %d messages", n)
			}
		})
	}
}

func TestCancelAndReschedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	r := f.enrollAna(t)
	id := r.Enrollment.ID

	// The first message goes out (simulated by moving it through the store's
	// history is the dispatcher's job; here we check the pending ones move).
	f.Now = f.Now.Add(30 * time.Minute)
	res, err := f.Svc.Reschedule(ctx, f.Clinic, id, "2026-11-29T15:00")
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("America/Los_Angeles")
	if got := res.Enrollment.TreatedAt.In(loc).Format("2006-01-02 15:04"); got != "2026-11-29 15:00" {
		t.Errorf("treated at %s after reschedule", got)
	}
	for _, m := range res.Messages {
		if m.Status == aftercare.StatusPending && m.SendAt.Before(time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)) {
			t.Errorf("%s still due %s, before the new treatment time", m.Ident(), m.SendAt)
		}
	}
	if _, err := f.Svc.Reschedule(ctx, f.Clinic, id, "someday"); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Errorf("bad time: %v", err)
	}

	n, err := f.Svc.Cancel(ctx, f.Clinic.ID, id)
	if err != nil || n == 0 {
		t.Fatalf("cancel: %d, %v", n, err)
	}
	for _, m := range f.Messages(t) {
		if m.Status == aftercare.StatusPending {
			t.Errorf("%s still pending after cancel", m.Ident())
		}
	}
	if n, err := f.Svc.Cancel(ctx, f.Clinic.ID, id); err != nil || n != 0 {
		t.Errorf("second cancel: %d, %v; want 0, nil", n, err)
	}
	if _, err := f.Svc.Reschedule(ctx, f.Clinic, id, "2026-12-01T15:00"); aftercare.ErrorCode(err) != aftercare.ECONFLICT {
		t.Errorf("reschedule a cancelled enrollment: %v, want ECONFLICT", err)
	}
	if _, err := f.Svc.Cancel(ctx, f.Clinic.ID, id+1000); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("cancel unknown: %v, want ENOTFOUND", err)
	}
}

const csvHeader = "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n"

func TestImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	file := csvHeader +
		"Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-22T15:00,yes,yes\n" +
		"Bo Chen,(415) 555-0101,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,yes,no\n" +
		"Cy Dee,12,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,yes,no\n" +
		"Di Eve,+1 415 555 0102,,Moon/Base,en,microneedling,2026-11-22T16:00,yes,no\n" +
		"Ed Fox,+1 415 555 0103,,America/Los_Angeles,en,microneedling,2026-11-22T16:00,maybe,no\n" +
		"Ana Ruiz,+1 415 555 0100,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-22T15:00,yes,yes\n"
	rep, err := f.Svc.Import(ctx, f.Clinic, strings.NewReader(file), "day.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 6 || rep.Enrolled != 2 || rep.Existing != 1 || len(rep.Errors) != 3 {
		t.Fatalf("report %+v", rep)
	}
	wantLines := []int{4, 5, 6}
	for i, e := range rep.Errors {
		if e.Line != wantLines[i] || e.Reason == "" {
			t.Errorf("error %d: %+v, want line %d with a reason", i, e, wantLines[i])
		}
	}
	n := len(f.Messages(t))
	rep, err = f.Svc.Import(ctx, f.Clinic, strings.NewReader(file), "day.csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enrolled != 0 || rep.Existing != 3 || len(f.Messages(t)) != n {
		t.Errorf("re-run: %+v and %d messages (was %d): want nothing new", rep, len(f.Messages(t)), n)
	}
	for _, bad := range []string{"", "name,phone\nAna,+14155550100\n", "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent,shoe\n"} {
		if _, err := f.Svc.Import(ctx, f.Clinic, strings.NewReader(bad), "bad.csv", nil); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("file %q: %v, want EINVALID", bad, err)
		}
	}
}

func TestProtocolVersions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	src := []byte(peelYAML)
	p1, created, err := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "peel.yaml", src)
	if err != nil || !created || p1.Version != 1 {
		t.Fatalf("first import: %+v %v %v", p1, created, err)
	}
	req := ana()
	req.Protocol, req.Lang = "peel", "en"
	r, err := f.Svc.Enroll(ctx, f.Clinic, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, created, _ := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "peel.yaml", src); created {
		t.Error("an identical file made a new version")
	}
	v2 := []byte(strings.Replace(string(src), "SPF", "SPF 30", 1))
	p2, created, err := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "peel.yaml", v2)
	if err != nil || !created || p2.Version != 2 {
		t.Fatalf("second import: %+v %v %v", p2, created, err)
	}
	got, err := f.Svc.Enrollment(ctx, f.Clinic.ID, r.Enrollment.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Enrollment.ProtocolVersion != 1 {
		t.Errorf("enrollment moved to version %d, want 1", got.Enrollment.ProtocolVersion)
	}
	if _, _, err := f.Svc.ImportProtocol(ctx, f.Clinic.ID, "bad.yaml", []byte("slug: [")); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Errorf("bad file: %v", err)
	}
}

func TestClinicSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := func(v string) *string { return &v }
	c, err := f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{Window: s("09:00-20:00"), DailyCap: s("2")})
	if err != nil || c.Window.String() != "09:00-20:00" || c.DailyCap != 2 {
		t.Fatalf("update: %+v %v", c, err)
	}
	// A bad setting among good ones saves nothing.
	if _, err := f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{Name: s("New Name"), Window: s("21:00-08:00")}); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("bad window: %v", err)
	}
	c, _ = f.DB.FindClinic(ctx, "")
	if c.Name != "Glow Skin Studio" {
		t.Errorf("name changed to %q by a rejected update", c.Name)
	}
	if _, err := f.Svc.AddClinic(ctx, scheduler.ClinicDefaults{Slug: "downtown", Name: "Downtown", TZ: "America/New_York"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.AddClinic(ctx, scheduler.ClinicDefaults{Slug: "downtown", Name: "Again", TZ: "America/New_York"}, false); aftercare.ErrorCode(err) != aftercare.ECONFLICT {
		t.Errorf("duplicate slug: %v", err)
	}
	d, _ := f.DB.FindClinic(ctx, "downtown")
	if ps, _ := f.DB.ListProtocols(ctx, d.ID); len(ps) != 2 {
		t.Errorf("a new clinic should have the 2 built-in protocols, has %d", len(ps))
	}
}

// TestClinicSenders: a clinic's own senders are normalised, checked, stored,
// and cleared with "".
func TestClinicSenders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	s := func(v string) *string { return &v }
	c, err := f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{SMSFrom: s("(415) 555-0177"), EmailFrom: s(" Care@Glow.Example ")})
	if err != nil || c.SMSFrom != "+14155550177" || c.EmailFrom != "care@glow.example" {
		t.Fatalf("update: %+v %v", c, err)
	}
	sid := "MG" + strings.Repeat("0123456789abcdef", 2)
	if c, err = f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{SMSFrom: s(sid)}); err != nil || c.SMSFrom != sid {
		t.Fatalf("messaging service: %+v %v", c, err)
	}
	for name, ch := range map[string]scheduler.ClinicChanges{
		"sms_from":   {SMSFrom: s("12")},
		"email_from": {EmailFrom: s("Glow <care@glow.example>")},
	} {
		_, err := f.Svc.UpdateClinic(ctx, "", ch)
		var e *aftercare.Error
		if !asErr(err, &e) || e.Field != name {
			t.Errorf("%s: %v, want an error on that field", name, err)
		}
	}
	if c, _ = f.DB.FindClinic(ctx, ""); c.SMSFrom != sid || c.EmailFrom != "care@glow.example" {
		t.Errorf("a rejected change was stored: %+v", c)
	}
	if c, err = f.Svc.UpdateClinic(ctx, "", scheduler.ClinicChanges{SMSFrom: s(""), EmailFrom: s("")}); err != nil || c.SMSFrom != "" || c.EmailFrom != "" {
		t.Errorf("clearing: %+v %v", c, err)
	}
}

func asErr(err error, target **aftercare.Error) bool {
	return errors.As(err, target)
}
