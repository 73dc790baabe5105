package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
)

// Consent history (ConsentStore) and the server's secrets (SecretStore).

var consentGroups = []testGroup{
	{"SetConsent", []testCase{
		{"WithdrawCancelsThatChannel", testSetConsentWithdraw},
		{"GivenLiftsOptOut", testSetConsentGiven},
		{"ErrNotFound", testSetConsentErrNotFound},
		{"ErrInvalid", testSetConsentErrInvalid},
	}},
	{"ClinicMessagingSettings", []testCase{
		{"RoundTrip", testClinicMessagingSettings},
	}},
	{"Secret", []testCase{
		{"MadeOnceKept", testSecret},
	}},
}

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

func testSecret(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	calls := 0
	gen := func() []byte { calls++; return bytes.Repeat([]byte{byte(calls)}, 32) }
	a, err := s.Secret(ctx, "links", gen)
	if err != nil || len(a) != 32 {
		t.Fatalf("first: %v %v", a, err)
	}
	b, err := s.Secret(ctx, "links", gen)
	if err != nil || !bytes.Equal(a, b) || calls != 1 {
		t.Fatalf("second call gave %v (gen called %d times), want the stored %v", b, calls, a)
	}
	if c, _ := s.Secret(ctx, "other", gen); bytes.Equal(a, c) {
		t.Error("two names share a secret")
	}
}

// testClinicMessagingSettings: the settings of two-way messaging round-trip
// through CreateClinic, UpdateClinic, FindClinic and ListClinics.
func testClinicMessagingSettings(t *testing.T, s aftercare.Store) {
	ctx := context.Background()
	c := Clinic("settings")
	if err := s.CreateClinic(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindClinic(ctx, "settings")
	if err != nil || got.AlertEmail != "" || got.TwilioOptOutReplies || got.RetentionDays != 0 || got.PatientLinks {
		t.Fatalf("defaults: %+v %v", got, err)
	}
	got.AlertEmail, got.TwilioOptOutReplies, got.RetentionDays, got.PatientLinks = "nurse@clinic.example.com", true, 90, true
	if err := s.UpdateClinic(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, err := s.FindClinicByID(ctx, got.ID)
	if err != nil || again.AlertEmail != "nurse@clinic.example.com" || !again.TwilioOptOutReplies || again.RetentionDays != 90 || !again.PatientLinks {
		t.Fatalf("after update: %+v %v", again, err)
	}
	cs, _ := s.ListClinics(ctx)
	for _, x := range cs {
		if x.ID == got.ID && (x.RetentionDays != 90 || !x.PatientLinks) {
			t.Errorf("ListClinics: %+v", x)
		}
	}
}
