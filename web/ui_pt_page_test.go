package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// withPages gives the test app a signing key and page links under its own
// address, as serve does.
func withPages(t *testing.T, app *testApp) *dispatch.PageLinks {
	t.Helper()
	signer, err := aftercare.NewSigner([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	pages := &dispatch.PageLinks{Signer: signer, PublicURL: app.URL, Store: app.DB}
	app.Server.Pages, app.Service.Pages = pages, pages
	return pages
}

// enrollForPage enrolls a patient on the built-in microneedling protocol,
// treated at the app's now, and returns the enrollment and its page link.
func enrollForPage(t *testing.T, app *testApp, pages *dispatch.PageLinks, name, lang, tz string) (*scheduler.EnrollResult, string) {
	t.Helper()
	ctx := context.Background()
	r, err := app.Service.Enroll(ctx, app.Main, scheduler.EnrollRequest{Name: name, Phone: "+1 415 555 0142", Email: "ana.ruiz@example.com",
		TZ: tz, Lang: lang, Protocol: "microneedling", TreatedAt: app.Now().Format(time.RFC3339),
		SMSConsent: true, EmailConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := pages.URL(ctx, app.Main.ID, r.Enrollment.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r, u
}

// getPage fetches a page as a patient's phone does: no cookie, no sign-in.
func getPage(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, readBody(t, resp)
}

func mustContain(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(strings.ToLower(body), strings.ToLower(b)) {
			t.Errorf("%s shows %q", what, b)
		}
	}
}

// TestPatientPage: the page opens without sign-in, in the patient's
// language, with the first name only, the clinic's tap-to-call phone,
// today's texts in the patient's zone, what comes next and the dates of
// the protocol; no surname, contact details, treatment name or staff
// notes, and nothing a carrier needs on the text.
func TestPatientPage(t *testing.T) {
	app := newTestApp(t)
	pages := withPages(t, app)
	_, u := enrollForPage(t, app, pages, "Ana Ruiz", "en", "America/Los_Angeles")
	status, h, body := getPage(t, u)
	if status != http.StatusOK {
		t.Fatalf("GET page: %d\n%s", status, body)
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("X-Robots-Tag"), "noindex") {
		t.Errorf("headers: %v", h)
	}
	if len(h.Values("Set-Cookie")) > 0 {
		t.Errorf("the page sets cookies: %v", h.Values("Set-Cookie"))
	}
	// 09:00 on Monday 23 November in Los Angeles.
	mustContain(t, "English page", body, `lang="en"`, "Hi, Ana", "Glow Skin Studio", `href="tel:&#43;14155550199"`, "&#43;1 415-555-0199",
		"Today <span class=\"pp-date\">Monday, November 23</span>",
		"Redness,", // the welcome text, sent today
		"Coming up", "Tuesday, November 24", "Good morning!",
		"Your dates, step by step", "makeup is fine again")
	mustNotContain(t, "English page", body, "Ruiz", "0142", "ana.ruiz@", "microneedling", "Reply STOP", "/p/", "skipped", "quiet hours")

	// A day later the morning's care is today's, the welcome is not.
	app.Advance(24 * time.Hour)
	_, _, body = getPage(t, u)
	today := body[strings.Index(body, `id="today-h"`):strings.Index(body, `id="coming-h"`)]
	mustContain(t, "next day's Today", today, "Tuesday, November 24", "Good morning!")
	mustNotContain(t, "next day's Today", today, "Redness,")
}

// TestPatientPageLanguageZoneTreatment: a Spanish patient in Tokyo gets the
// page in Spanish, with Tokyo's today (already Tuesday when it is Monday
// in Los Angeles); the treatment is named only when the clinic allows it.
func TestPatientPageLanguageZoneTreatment(t *testing.T) {
	app := newTestApp(t)
	pages := withPages(t, app)
	_, u := enrollForPage(t, app, pages, "Ana Ruiz", "es", "Asia/Tokyo")
	_, _, body := getPage(t, u)
	mustContain(t, "Spanish page", body, `lang="es"`, "Hola, Ana", "Hoy <span class=\"pp-date\">martes 24 de noviembre</span>",
		"Próximamente", "Sus fechas, paso a paso", "Llamar al &#43;1 415-555-0199")
	mustNotContain(t, "Spanish page", body, "Ruiz", "microneedling", "Responda STOP", "Today <")

	app.Main.ShowTreatment = true
	if err := app.DB.UpdateClinic(context.Background(), app.Main); err != nil {
		t.Fatal(err)
	}
	_, u2 := enrollForPage(t, app, pages, "Bea Soto", "en", "America/Los_Angeles")
	_, _, body = getPage(t, u2)
	mustContain(t, "page of a clinic that names the treatment", body, "Your aftercare: microneedling", "your microneedling is done")
}

// TestPatientPageRefused: a tampered token, a token made for another
// purpose (unsubscribe) or naming another clinic, and an expired one open
// nothing: a page in both languages with no data of anyone.
func TestPatientPageRefused(t *testing.T) {
	app := newTestApp(t)
	pages := withPages(t, app)
	r, u := enrollForPage(t, app, pages, "Ana Ruiz", "en", "America/Los_Angeles")
	token := u[strings.LastIndex(u, "/")+1:]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	far := app.Now().Add(90 * 24 * time.Hour)
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"tampered id", flip(token, 20), http.StatusForbidden},
		{"tampered signature", flip(token, len(token)-3), http.StatusForbidden},
		{"cut short", token[:len(token)-10], http.StatusForbidden},
		{"an unsubscribe token", pages.Signer.Sign(aftercare.PurposeUnsubscribe, app.Main.ID, r.Enrollment.ID, far), http.StatusForbidden},
		{"another clinic", pages.Signer.Sign(aftercare.PurposePatientPage, app.Other.ID, r.Enrollment.ID, far), http.StatusGone},
	} {
		status, h, body := getPage(t, app.URL+"/p/"+tc.token)
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.status)
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", tc.name, h.Get("Cache-Control"))
		}
		mustContain(t, tc.name, body, `lang="en"`, `lang="es"`)
		mustNotContain(t, tc.name, body, "Ana", "Glow Skin", "415", "Redness")
	}

	// Past its expiry (a week after the last message, to midnight UTC).
	last := r.Messages[len(r.Messages)-1].SendAt
	app.Advance(last.Add(dispatch.PageGrace + 24*time.Hour).Sub(app.Now()))
	status, _, body := getPage(t, u)
	if status != http.StatusGone {
		t.Errorf("expired: status %d, want 410", status)
	}
	mustContain(t, "expired", body, "This link has expired", "Este enlace ha caducado")
	mustNotContain(t, "expired", body, "Ana", "Glow Skin")
}

// TestPatientPageCancelled: after the clinic cancels, the page says the
// messages stopped and gives the clinic's phone, and no texts.
func TestPatientPageCancelled(t *testing.T) {
	app := newTestApp(t)
	pages := withPages(t, app)
	r, u := enrollForPage(t, app, pages, "Ana Ruiz", "es", "America/Los_Angeles")
	if _, err := app.Service.Cancel(context.Background(), app.Main.ID, r.Enrollment.ID); err != nil {
		t.Fatal(err)
	}
	status, _, body := getPage(t, u)
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mustContain(t, "cancelled page", body, "Estos mensajes se han detenido", "Glow Skin Studio detuvo", `href="tel:&#43;14155550199"`, "Hola, Ana")
	mustNotContain(t, "cancelled page", body, "Hoy", "Próximamente", "rojez")
}

// TestStaffSeesPatientPageLink: the staff patient page shows the link of
// each enrollment, and it opens the patient's page.
func TestStaffSeesPatientPageLink(t *testing.T) {
	app := newTestApp(t)
	pages := withPages(t, app)
	r, u := enrollForPage(t, app, pages, "Ana Ruiz", "en", "America/Los_Angeles")
	b := app.SignIn(app.Main, "frontdesk")
	body := readBody(t, b.Get(fmt.Sprintf("/patients/%d", r.Patient.ID)))
	mustContain(t, "staff patient page", body, "Patient's page", `value="`+u+`"`)
	if status, _, _ := getPage(t, u); status != http.StatusOK {
		t.Errorf("the staff page's link gives %d", status)
	}
	// Without a public URL there is no link to show.
	app.Server.Pages = &dispatch.PageLinks{Signer: pages.Signer, Store: app.DB}
	body = readBody(t, b.Get(fmt.Sprintf("/patients/%d", r.Patient.ID)))
	mustNotContain(t, "staff patient page without a public URL", body, "/p/")
}
