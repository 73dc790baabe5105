package web_test

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// unsubscribeApp is the test app with a signing key, and Ana (Spanish,
// texts and emails) enrolled at the main clinic.
type unsubscribeApp struct {
	*testApp
	signer *aftercare.Signer
	ana    *aftercare.Patient
}

func newUnsubscribeApp(t *testing.T) *unsubscribeApp {
	t.Helper()
	a := newTestApp(t)
	signer, err := aftercare.NewSigner(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	a.Server.Signer = signer
	req := scheduler.EnrollRequest{Name: "Ana Ruiz", Phone: "+1 415 555 0100", Email: "ana@example.com", TZ: "America/Los_Angeles",
		Lang: "es", Protocol: "microneedling", TreatedAt: a.Now().Format(time.RFC3339), SMSConsent: true, EmailConsent: true, Source: "test"}
	r, err := a.Service.Enroll(context.Background(), a.Main, req)
	if err != nil {
		t.Fatal(err)
	}
	return &unsubscribeApp{testApp: a, signer: signer, ana: r.Patient}
}

func (a *unsubscribeApp) token(purpose string, clinicID, patientID int64, ttl time.Duration) string {
	return a.signer.Sign(purpose, clinicID, patientID, a.Now().Add(ttl))
}

// call sends method to path as a mail client or a link scanner would: no
// cookies, and a POST from another site with RFC 8058's body.
func (a *unsubscribeApp) call(t *testing.T, method, path string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader("List-Unsubscribe=One-Click")
	}
	req, err := http.NewRequest(method, a.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://mail.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *unsubscribeApp) patient(t *testing.T) *aftercare.Patient {
	t.Helper()
	p, err := a.DB.FindPatient(context.Background(), a.Main.ID, a.ana.ID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (a *unsubscribeApp) pending(t *testing.T, ch aftercare.Channel) int {
	t.Helper()
	return len(a.messages(t, aftercare.MessageFilter{ClinicID: a.Main.ID, PatientID: a.ana.ID, Channel: ch,
		Statuses: []aftercare.Status{aftercare.StatusPending}}))
}

// contains checks a page's text, character references decoded
// (html/template writes + as &#43;).
func contains(t *testing.T, what, page string, want ...string) {
	t.Helper()
	page = html.UnescapeString(page)
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, page)
		}
	}
}

func lacks(t *testing.T, what, page string, bad ...string) {
	t.Helper()
	page = html.UnescapeString(page)
	for _, b := range bad {
		if strings.Contains(strings.ToLower(page), strings.ToLower(b)) {
			t.Errorf("%s shows %q:\n%s", what, b, page)
		}
	}
}

// TestUnsubscribeGetChangesNothing: opening the link (a person, or a
// scanner) only shows the question, in the patient's language, naming the
// clinic and its phone, the patient by first name only, no treatment.
func TestUnsubscribeGetChangesNothing(t *testing.T) {
	t.Parallel()
	a := newUnsubscribeApp(t)
	tok := a.token(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID, dispatch.UnsubscribeLifetime)
	before := a.snapshot(t)
	history := func() int {
		evs, err := a.DB.ListConsentEvents(context.Background(), a.Main.ID, a.ana.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	events := history()
	for range 2 {
		status, page := a.call(t, http.MethodGet, "/u/"+tok)
		if status != http.StatusOK {
			t.Fatalf("GET: %d\n%s", status, page)
		}
		contains(t, "the confirmation page", page, `<html lang="es">`, "¿Dejar de recibir correos de Glow Skin Studio?",
			"Hola, Ana:", `<form method="post" action="/u/`+tok+`">`, `name="List-Unsubscribe" value="One-Click"`,
			`<a href="tel:+14155550199">+1 415-555-0199</a>`, "STOP")
		lacks(t, "the confirmation page", page, "Ruiz", "microneedling", "ana@example.com", "<script")
	}
	a.unchanged(t, before, "GET /u/TOKEN")
	if n := history(); n != events {
		t.Errorf("consent history %d events after GETs, %d before", n, events)
	}
}

// TestUnsubscribePostOptsOut: a mail client's one-click POST, from another
// site without a session, opts the patient out of email at once and
// cancels their pending emails; texts go on; a second POST is fine.
func TestUnsubscribePostOptsOut(t *testing.T) {
	t.Parallel()
	a := newUnsubscribeApp(t)
	tok := a.token(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID, dispatch.UnsubscribeLifetime)
	emails, texts := a.pending(t, aftercare.Email), a.pending(t, aftercare.SMS)
	if emails == 0 || texts == 0 {
		t.Fatalf("Ana has %d pending emails and %d texts; the test needs both", emails, texts)
	}
	status, page := a.call(t, http.MethodPost, "/u/"+tok)
	if status != http.StatusOK {
		t.Fatalf("POST: %d\n%s", status, page)
	}
	contains(t, "the done page", page, `<html lang="es">`, "Se ha dado de baja", "Glow Skin Studio no le enviará más correos",
		"¿Cambió de opinión? Llame a Glow Skin Studio al", `href="tel:+14155550199"`)
	lacks(t, "the done page", page, "<form", "Ruiz", "microneedling")
	p := a.patient(t)
	if p.EmailOptOut.IsZero() || !p.SMSOptOutAt.IsZero() {
		t.Errorf("after POST: email opt-out %v, SMS opt-out %v; want email only", p.EmailOptOut, p.SMSOptOutAt)
	}
	if n := a.pending(t, aftercare.Email); n != 0 {
		t.Errorf("%d emails still pending", n)
	}
	if n := a.pending(t, aftercare.SMS); n != texts {
		t.Errorf("%d texts pending, want %d: unsubscribing from email stops no text", n, texts)
	}
	evs, err := a.DB.ListConsentEvents(context.Background(), a.Main.ID, a.ana.ID)
	if err != nil || len(evs) == 0 {
		t.Fatalf("consent history: %v %v", evs, err)
	}
	last := evs[len(evs)-1]
	if last.Channel != aftercare.Email || last.Action != aftercare.ConsentWithdrawn || last.Source != "email:unsubscribe" || last.UserID != 0 {
		t.Errorf("last consent event %+v; want email withdrawn by email:unsubscribe", last)
	}

	// Again: fine, same page, nothing more changes.
	before := a.snapshot(t)
	if status, page := a.call(t, http.MethodPost, "/u/"+tok); status != http.StatusOK || !strings.Contains(page, "Se ha dado de baja") {
		t.Errorf("second POST: %d\n%s", status, page)
	}
	a.unchanged(t, before, "a second POST")
	status, page = a.call(t, http.MethodGet, "/u/"+tok)
	if status != http.StatusOK {
		t.Fatalf("GET after: %d", status)
	}
	contains(t, "the page after unsubscribing", page, "Ya no recibe correos de Glow Skin Studio", "¿Cambió de opinión?")
	lacks(t, "the page after unsubscribing", page, "<form")
}

// TestUnsubscribeEnglish: a patient enrolled in English reads English.
func TestUnsubscribeEnglish(t *testing.T) {
	t.Parallel()
	a := newUnsubscribeApp(t)
	req := scheduler.EnrollRequest{Name: "Bo Lee", Email: "bo@example.com", TZ: "America/Los_Angeles", Lang: "en",
		Protocol: "microneedling", TreatedAt: a.Now().Format(time.RFC3339), EmailConsent: true, Source: "test"}
	r, err := a.Service.Enroll(context.Background(), a.Main, req)
	if err != nil {
		t.Fatal(err)
	}
	tok := a.token(aftercare.PurposeUnsubscribe, a.Main.ID, r.Patient.ID, time.Hour)
	_, page := a.call(t, http.MethodGet, "/u/"+tok)
	contains(t, "the English page", page, `<html lang="en">`, "Stop emails from Glow Skin Studio?", "Hi Bo, press the button")
	_, page = a.call(t, http.MethodPost, "/u/"+tok)
	contains(t, "the English done page", page, "You are unsubscribed", "Changed your mind? Call Glow Skin Studio at")
}

// TestUnsubscribeRefused: a link that is not valid gets 403 and a page
// saying so, on GET and on POST, and nothing changes.
func TestUnsubscribeRefused(t *testing.T) {
	t.Parallel()
	a := newUnsubscribeApp(t)
	good := a.token(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID, dispatch.UnsubscribeLifetime)
	body, sig, _ := strings.Cut(good, ".")
	flip := func(s string, i int) string {
		c := byte('A')
		if s[i] == 'A' {
			c = 'B'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	otherKey, _ := aftercare.NewSigner(bytes.Repeat([]byte("x"), 32))
	tests := []struct {
		name  string
		token string
		clock time.Duration // how far the clock moves first
		want  []string      // what the page says
	}{
		{"ErrTamperedBody", flip(body, 12) + "." + sig, 0, []string{"This link is not valid", "Este enlace no es válido"}},
		{"ErrTamperedSignature", body + "." + flip(sig, 20), 0, []string{"This link is not valid", "contact the clinic that sent them"}},
		{"ErrCutShort", good[:len(good)-5], 0, []string{"This link is not valid"}},
		{"ErrOtherPurpose", a.token(aftercare.PurposePatientPage, a.Main.ID, a.ana.ID, time.Hour), 0, []string{"This link is not valid"}},
		{"ErrOtherKey", otherKey.Sign(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID, a.Now().Add(time.Hour)), 0, []string{"This link is not valid"}},
		// Ana is no patient of the other clinic: a genuine token whose ids do not match.
		{"ErrOtherClinic", a.token(aftercare.PurposeUnsubscribe, a.Other.ID, a.ana.ID, time.Hour), 0, []string{"This link is not valid"}},
		{"ErrNoSuchPatient", a.token(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID+1000, time.Hour), 0, []string{"This link is not valid"}},
		// Expired, but genuine: the page can name the clinic, in Ana's language.
		{"ErrExpired", a.token(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID, time.Hour), time.Hour,
			[]string{`<html lang="es">`, "Este enlace no es válido", "Ha caducado", "llame a Glow Skin Studio al", `href="tel:+14155550199"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Subtests share the app and its clock: not parallel.
			a.Advance(tt.clock)
			defer a.Advance(-tt.clock)
			before := a.snapshot(t)
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				status, page := a.call(t, method, "/u/"+tt.token)
				if status != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", method, status)
				}
				contains(t, method+"'s page", page, tt.want...)
				lacks(t, method+"'s page", page, "<form", "Ana", "cross-origin")
				if tt.name != "ErrExpired" {
					lacks(t, method+"'s page", page, "Glow Skin Studio", "Other Clinic")
				}
			}
			a.unchanged(t, before, "a refused link")
			if p := a.patient(t); !p.EmailOptOut.IsZero() {
				t.Fatal("a refused link opted Ana out")
			}
		})
	}
}

// TestUnsubscribeWithoutSigner: a server that signs no links refuses them all.
func TestUnsubscribeWithoutSigner(t *testing.T) {
	t.Parallel()
	a := newUnsubscribeApp(t)
	tok := a.token(aftercare.PurposeUnsubscribe, a.Main.ID, a.ana.ID, time.Hour)
	a.Server.Signer = nil
	if status, _ := a.call(t, http.MethodPost, "/u/"+tok); status != http.StatusForbidden {
		t.Errorf("POST without a signer: %d, want 403", status)
	}
	if p := a.patient(t); !p.EmailOptOut.IsZero() {
		t.Error("opted out without a signer")
	}
}

// TestUnsubscribeOnlyExemptRoute: the cross-origin check lets a cross-site
// POST through to /u/TOKEN and to nothing else.
func TestUnsubscribeOnlyExemptRoute(t *testing.T) {
	t.Parallel()
	a := newUnsubscribeApp(t)
	for _, path := range []string{"/signin", "/signout", "/enroll", "/u/a/b", "/u/", "/uu/x", "/api/v1/enrollments", "/x/u/abc"} {
		status, page := a.call(t, http.MethodPost, path)
		if status != http.StatusForbidden || !strings.Contains(page, "cross-origin request refused") {
			t.Errorf("cross-site POST %s: %d, want the cross-origin refusal:\n%.300s", path, status, page)
		}
	}
	// An unsubscribe POST passes the check and meets the token's.
	status, page := a.call(t, http.MethodPost, "/u/not-a-token")
	if status != http.StatusForbidden || strings.Contains(page, "cross-origin") || !strings.Contains(page, "This link is not valid") {
		t.Errorf("cross-site POST /u/not-a-token: %d, want the token's refusal:\n%s", status, page)
	}
}
