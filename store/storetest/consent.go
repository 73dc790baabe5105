package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// consentGroups check aftercare.ConsentStore, and the consent history Enroll
// and UpdatePatient write.
var consentGroups = []testGroup{
	{"SetConsent", []testCase{
		{"WithdrawCancelsThatChannel", testSetConsentWithdraw},
		{"GivenLiftsOptOut", testSetConsentGiven},
		{"ErrNotFound", testSetConsentErrNotFound},
		{"ErrInvalid", testSetConsentErrInvalid},
	}},
	{"ConsentHistory", []testCase{
		{"EnrollRecordsConsentGiven", testConsentAtEnroll},
		{"UpdatePatientRecordsEvents", testConsentAtUpdate},
	}},
	{"OptedOut", []testCase{
		{"FollowsConsent", testOptedOut},
	}},
}

// Consent history (ConsentStore) and the server's secrets (SecretStore).

// testSetConsentWithdraw: an opt-out cancels the patient's pending messages
// on that channel, near and far ahead (kept on the enrollment), and none of
// the other channel's; a second opt-out is recorded and changes nothing.
func testSetConsentWithdraw(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 4)          // SMS and email at 12 h and 24 h
	ne.Messages[2].SendAt = t0.Add(20 * 24 * time.Hour) // far ahead: kept on the enrollment
	ne.Messages[2].ExpiresAt = ne.Messages[2].SendAt.Add(time.Hour)
	enroll(t, s, ne)
	pid := ne.Patient.ID
	at := t0.Add(time.Hour)
	ev := &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: pid, Channel: aftercare.SMS, Action: aftercare.ConsentWithdrawn,
		At: at.In(elsewhere), Source: "sms:STOP", Note: "STOP"}
	changed, err := s.SetConsent(ctx, ev)
	if err != nil || !changed || ev.ID == 0 {
		t.Fatalf("SetConsent: changed %v id %d err %v", changed, ev.ID, err)
	}
	for _, m := range listMessages(t, s, aftercare.MessageFilter{ClinicID: c.ID, PatientID: pid}) {
		want := aftercare.StatusPending
		if m.Channel == aftercare.SMS {
			want = aftercare.StatusCancelled
		}
		if m.Status != want {
			t.Errorf("%s at %s: %s, want %s (note %q)", m.Channel, m.SendAt, m.Status, want, m.Note)
		}
	}
	p, err := s.FindPatient(ctx, c.ID, pid)
	if err != nil || !p.SMSOptOutAt.Equal(at) || !p.EmailOptOut.IsZero() || p.CanReceive(aftercare.SMS) {
		t.Fatalf("patient after STOP: %+v %v", p, err)
	}
	again := *ev
	again.At = at.Add(time.Hour)
	if changed, err := s.SetConsent(ctx, &again); err != nil || changed {
		t.Fatalf("a second STOP: changed %v err %v", changed, err)
	}
	if p, _ := s.FindPatient(ctx, c.ID, pid); !p.SMSOptOutAt.Equal(at) {
		t.Errorf("a second STOP moved the opt-out time to %s", p.SMSOptOutAt)
	}
	// The consent the enrollment gave (sms, email), then both STOPs.
	evs, err := s.ListConsentEvents(ctx, c.ID, pid)
	if err != nil || len(evs) != 4 || evs[0].Action != aftercare.ConsentGiven || evs[0].Source != "import:patients.csv" ||
		evs[2].Source != "sms:STOP" || evs[2].Note != "STOP" || !evs[2].At.Equal(at) ||
		evs[2].At.Location() != time.UTC || evs[3].ID <= evs[2].ID {
		t.Fatalf("history: %v %v", evs, err)
	}
}

func testSetConsentGiven(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	pid := ne.Patient.ID
	out := &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: pid, Channel: aftercare.SMS, Action: aftercare.ConsentWithdrawn, At: t0, Source: "sms:STOP"}
	if _, err := s.SetConsent(ctx, out); err != nil {
		t.Fatal(err)
	}
	back := &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: pid, Channel: aftercare.SMS, Action: aftercare.ConsentGiven,
		At: t0.Add(time.Hour), Source: "sms:START", UserID: 0}
	if changed, err := s.SetConsent(ctx, back); err != nil || !changed {
		t.Fatalf("START: changed %v err %v", changed, err)
	}
	p, _ := s.FindPatient(ctx, c.ID, pid)
	if !p.SMSOptOutAt.IsZero() || !p.SMSConsent.At.Equal(t0.Add(time.Hour)) || p.SMSConsent.Source != "sms:START" || !p.CanReceive(aftercare.SMS) {
		t.Errorf("after START: %+v", p)
	}
	if changed, _ := s.SetConsent(ctx, back); changed {
		t.Error("a second START changed the patient")
	}
	if evs, _ := s.ListConsentEvents(ctx, c.ID, pid); len(evs) != 5 { // 2 at enrollment, STOP, START, START
		t.Errorf("history has %d events, want 5", len(evs))
	}
}

func testSetConsentErrNotFound(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	other, _ := setup(t, s, "b")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	ev := &aftercare.ConsentEvent{ClinicID: other.ID, PatientID: ne.Patient.ID, Channel: aftercare.SMS, Action: aftercare.ConsentWithdrawn, At: t0, Source: "sms:STOP"}
	if _, err := s.SetConsent(ctx, ev); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Fatalf("another clinic's patient: %v", err)
	}
	if p, _ := s.FindPatient(ctx, c.ID, ne.Patient.ID); !p.SMSOptOutAt.IsZero() {
		t.Error("another clinic opted the patient out")
	}
	if evs, _ := s.ListConsentEvents(ctx, other.ID, ne.Patient.ID); len(evs) != 0 {
		t.Errorf("another clinic sees %d events", len(evs))
	}
}

func testSetConsentErrInvalid(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	for _, ev := range []aftercare.ConsentEvent{
		{Channel: "fax", Action: aftercare.ConsentGiven, Source: "x"},
		{Channel: aftercare.SMS, Action: "maybe", Source: "x"},
		{Channel: aftercare.SMS, Action: aftercare.ConsentGiven},
	} {
		ev.ClinicID, ev.PatientID, ev.At = c.ID, ne.Patient.ID, t0
		if _, err := s.SetConsent(ctx, &ev); aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("%+v: %v", ev, err)
		}
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

func testOptedOut(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c, proto := setup(t, s, "a")
	ne := Enrollment(c.ID, proto.ID, 1, t0, 2)
	enroll(t, s, ne)
	if out, err := s.OptedOut(ctx, c.ID, ne.Patient.ID, aftercare.SMS); err != nil || out {
		t.Fatalf("OptedOut before STOP = %v, %v", out, err)
	}
	if _, err := s.SetConsent(ctx, &aftercare.ConsentEvent{ClinicID: c.ID, PatientID: ne.Patient.ID, Channel: aftercare.SMS,
		Action: aftercare.ConsentWithdrawn, At: t0, Source: "sms:STOP"}); err != nil {
		t.Fatal(err)
	}
	if out, _ := s.OptedOut(ctx, c.ID, ne.Patient.ID, aftercare.SMS); !out {
		t.Error("OptedOut(sms) after STOP = false")
	}
	if out, _ := s.OptedOut(ctx, c.ID, ne.Patient.ID, aftercare.Email); out {
		t.Error("OptedOut(email) after an SMS STOP = true")
	}
	if _, err := s.OptedOut(ctx, c.ID+1000, ne.Patient.ID, aftercare.SMS); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("another clinic: %v, want ENOTFOUND", err)
	}
}
