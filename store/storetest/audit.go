package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// The audit log (AuditStore), the consent history writes made with
// enrollments and patient changes, and retention (RetentionStore).

var auditGroups = []testGroup{
	{"Audit", []testCase{
		{"NewestFirstInRange", testAuditList},
		{"Pages", testAuditPages},
		{"TenantIsolated", testAuditTenant},
		{"ErrInvalid", testAuditErrInvalid},
		{"ConsentChangesAreLogged", testAuditConsent},
	}},
	{"ConsentHistory", []testCase{
		{"EnrollRecordsConsentGiven", testConsentAtEnroll},
		{"UpdatePatientRecordsEvents", testConsentAtUpdate},
	}},
	{"PurgeTexts", []testCase{
		{"OldGoneRecentKeptStatesStay", testPurgeTexts},
		{"Replies", testPurgeReplies},
		{"ErrInvalid", testPurgeErrInvalid},
	}},
}

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

// testConsentAtEnroll: an enrollment records the consent it gives, per
// channel, with its source and the staff user; enrolling the patient again
// records only consent that is new.
func testConsentAtEnroll(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	ne.Patient.EmailConsent = aftercare.Consent{}
	ne.Patient.SMSConsent.Source = "web:ana@a.example"
	ne.UserID = 42
	enroll(t, s, ne)
	evs, err := s.ListConsentEvents(ctx, c.ID, ne.Patient.ID)
	if err != nil || len(evs) != 1 {
		t.Fatalf("history after enrolling with SMS consent: %v %v", evs, err)
	}
	if e := evs[0]; e.Channel != aftercare.SMS || e.Action != aftercare.ConsentGiven || e.Source != "web:ana@a.example" ||
		e.UserID != 42 || !e.At.Equal(ne.Patient.SMSConsent.At) || e.PatientID != ne.Patient.ID {
		t.Errorf("event: %s", dump(e))
	}
	// The same patient, another treatment, email consent now too.
	again := Enrollment(c.ID, proto.ID, 1, t0.Add(24*time.Hour), 2)
	again.Patient.SMSConsent.Source = "cli"
	enroll(t, s, again)
	evs, _ = s.ListConsentEvents(ctx, c.ID, ne.Patient.ID)
	if len(evs) != 2 || evs[1].Channel != aftercare.Email || evs[1].Source != "import:patients.csv" || evs[1].UserID != 0 {
		t.Errorf("history after a second enrollment: %v", evs)
	}
}

// testConsentAtUpdate: the events UpdatePatient is given are recorded with
// the change, under the patient's clinic and id.
func testConsentAtUpdate(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	p := *ne.Patient
	p.SMSOptOutAt = t0.Add(time.Hour)
	ev := &aftercare.ConsentEvent{Channel: aftercare.SMS, Action: aftercare.ConsentWithdrawn, At: t0.Add(time.Hour), Source: "web:ana@a.example", UserID: 3}
	if err := s.UpdatePatient(ctx, &p, ev); err != nil {
		t.Fatal(err)
	}
	evs, _ := s.ListConsentEvents(ctx, c.ID, p.ID)
	if len(evs) != 3 || evs[2].UserID != 3 || evs[2].Action != aftercare.ConsentWithdrawn || evs[2].PatientID != p.ID || evs[2].ClinicID != c.ID {
		t.Fatalf("history: %v", evs)
	}
	// A bad event writes nothing, the patient's change included.
	p.Name = "Someone Else"
	if err := s.UpdatePatient(ctx, &p, &aftercare.ConsentEvent{Channel: "fax", Action: aftercare.ConsentGiven, Source: "cli"}); aftercare.ErrorCode(err) != aftercare.EINVALID {
		t.Fatalf("a bad event: %v, want EINVALID", err)
	}
	if got, _ := s.FindPatient(ctx, c.ID, p.ID); got.Name != ne.Patient.Name {
		t.Errorf("the patient was saved with a bad event: %q", got.Name)
	}
}

// testPurgeTexts: settled messages older than the cut lose their texts;
// pending ones (owed, or planned weeks ahead), recent ones and another
// clinic's keep theirs; states and counts stay; a text shared with a
// message that keeps it survives, one no message uses goes.
func testPurgeTexts(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	old := t0.Add(-100 * 24 * time.Hour)
	ne := Enrollment(c.ID, proto.ID, 1, old, 4)
	ne.Messages[0].Status = aftercare.StatusSent
	ne.Messages[1].Status = aftercare.StatusDelivered
	ne.Messages[2].Status, ne.Messages[2].Body = aftercare.StatusPending, "Still owed." // never purged
	ne.Messages[3].Status = aftercare.StatusSkipped
	gone := &aftercare.Message{StepKey: "gone", Channel: aftercare.SMS, Lang: "en", Status: aftercare.StatusFailed,
		SendAt: old.Add(time.Hour), Body: "Hi Ana, only this message says this."}
	// Kept on the enrollment (weeks ahead), sharing its text with message
	// 0 and with no row after the purge.
	far := &aftercare.Message{StepKey: "far", Channel: aftercare.SMS, Lang: "en", Status: aftercare.StatusPending,
		SendAt: t0.Add(20 * 24 * time.Hour), Body: smsBody}
	far.ExpiresAt = far.SendAt.Add(time.Hour)
	recent := &aftercare.Message{StepKey: "recent", Channel: aftercare.Email, Lang: "en", Status: aftercare.StatusSkipped,
		SendAt: t0.Add(2 * time.Hour), Subject: emailSubject, Body: emailBody}
	ne.Messages = append(ne.Messages, gone, far, recent)
	enroll(t, s, ne)
	b, bproto := setup(t, s, "b")
	other := Enrollment(b.ID, bproto.ID, 1, old, 2)
	other.Messages[0].Status = aftercare.StatusSent
	enroll(t, s, other)

	before := t0.Add(time.Hour) // after the rows were written (the store's clock is at t0)
	const marker = "[purged after 30 days]"
	want := aftercare.PurgeCounts{Messages: 4, Texts: 1}
	dry, err := s.PurgeTexts(ctx, c.ID, before, marker, true)
	if err != nil || dry != want {
		t.Fatalf("dry run: %+v %v, want %+v", dry, err, want)
	}
	byStep := func(id int64, f aftercare.MessageFilter) map[string]*aftercare.Message {
		f.ClinicID, f.EnrollmentID = id, 0
		out := map[string]*aftercare.Message{}
		for _, m := range listMessages(t, s, f) {
			out[m.StepKey+"/"+string(m.Channel)] = m
		}
		return out
	}
	if ms := byStep(c.ID, aftercare.MessageFilter{PatientID: ne.Patient.ID}); ms["step-00/sms"].Body != ne.Messages[0].Body {
		t.Fatalf("a dry run purged: %q", ms["step-00/sms"].Body)
	}
	got, err := s.PurgeTexts(ctx, c.ID, before.In(elsewhere), marker, false)
	if err != nil || got != want {
		t.Fatalf("purge: %+v %v, want %+v", got, err, want)
	}
	ms := byStep(c.ID, aftercare.MessageFilter{PatientID: ne.Patient.ID})
	if len(ms) != 7 {
		t.Fatalf("%d messages after the purge, want 7", len(ms))
	}
	for key, w := range map[string]struct {
		status        aftercare.Status
		subject, body string
	}{
		"step-00/sms":   {status: aftercare.StatusSent, body: marker},
		"step-00/email": {status: aftercare.StatusDelivered, body: marker},
		"step-01/sms":   {status: aftercare.StatusPending, body: "Still owed."},
		"gone/sms":      {status: aftercare.StatusFailed, body: marker},
		"step-01/email": {status: aftercare.StatusSkipped, body: marker},
		"far/sms":       {status: aftercare.StatusPending, body: smsBody},
		"recent/email":  {status: aftercare.StatusSkipped, subject: emailSubject, body: emailBody},
	} {
		m := ms[key]
		if m == nil || m.Status != w.status || m.Subject != w.subject || m.Body != w.body {
			t.Errorf("%s after the purge: %s", key, dump(m))
		}
	}
	if ms := byStep(b.ID, aftercare.MessageFilter{PatientID: other.Patient.ID}); ms["step-00/sms"].Body != smsBody {
		t.Errorf("another clinic's message was purged: %q", ms["step-00/sms"].Body)
	}
	if again, err := s.PurgeTexts(ctx, c.ID, before, marker, false); err != nil || again != (aftercare.PurgeCounts{}) {
		t.Errorf("a second purge: %+v %v, want nothing", again, err)
	}
	sums, err := s.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: c.ID})
	if err != nil || len(sums) != 1 || sums[0].Pending != 2 || sums[0].Done != 2 || sums[0].Problems != 1 {
		t.Errorf("counts after the purge: %v %v", sums, err)
	}
}

func testPurgeErrInvalid(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	for _, tc := range []struct {
		clinic int64
		before time.Time
		marker string
	}{{0, t0, "x"}, {c.ID, time.Time{}, "x"}, {c.ID, t0, " "}} {
		if _, err := s.PurgeTexts(ctx, tc.clinic, tc.before, tc.marker, false); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("PurgeTexts(%+v): %v, want EINVALID", tc, err)
		}
	}
}

// testPurgeReplies: the texts of patients' replies older than the cut are
// replaced; newer ones, and another clinic's, keep their words.
func testPurgeReplies(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, _ := setup(t, s, "a")
	b, _ := setup(t, s, "b")
	add := func(clinicID int64, sid, body string, at time.Time) {
		t.Helper()
		r := &aftercare.Reply{ClinicID: clinicID, From: "+14155550100", To: "+14155550199", Body: body, ProviderID: sid,
			ReceivedAt: at, Kind: aftercare.ReplyText}
		if _, err := s.AddReply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	add(c.ID, "SM01", "my cheek has pus", t0.Add(-100*24*time.Hour))
	add(c.ID, "SM02", "thanks!", t0)
	add(b.ID, "SM03", "old words of clinic b", t0.Add(-100*24*time.Hour))
	const marker = "[purged after 30 days]"
	got, err := s.PurgeTexts(ctx, c.ID, t0.Add(-30*24*time.Hour), marker, false)
	if err != nil || got.Replies != 1 {
		t.Fatalf("purge: %+v %v, want 1 reply", got, err)
	}
	bodies := func(clinicID int64) map[string]string {
		rs, err := s.ListReplies(ctx, aftercare.ReplyFilter{ClinicID: clinicID})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, r := range rs {
			out[r.ProviderID] = r.Body
		}
		return out
	}
	if got := bodies(c.ID); got["SM01"] != marker || got["SM02"] != "thanks!" {
		t.Errorf("clinic a's replies after the purge: %v", got)
	}
	if got := bodies(b.ID); got["SM03"] != "old words of clinic b" {
		t.Errorf("clinic b's reply was purged: %v", got)
	}
}
