package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// TestBrowserEnrollRefused: on a 390 px phone, an enroll form sent with
// mistakes comes back open on the list of what to fix, which has the
// focus (a screen reader reads it first), and each field in error says so
// and names its message.
func TestBrowserEnrollRefused(t *testing.T) {
	app := newTestApp(t)
	email, pw := bfUser(t, app, app.Main, aftercare.RoleFrontDesk, "Rosa Delgado", "rosa@glowskin.example")
	ctx := newChrome(t, 390, 844)
	signInBrowser(t, ctx, app, email, pw)
	bfOpen(t, ctx, app, "/enroll", 200)
	bfDo(t, ctx, "filling the form with mistakes",
		chromedp.SendKeys(chromedp.ID("f-name"), "Amara Nwosu"),
		chromedp.SendKeys(chromedp.ID("f-phone"), "555-01"),
		chromedp.SetValue(chromedp.ID("f-tz"), "Mars/Olympus"),
		chromedp.Click(chromedp.ID("f-email_consent")))
	bfFollow(t, ctx, "enrolling", 400, chromedp.Click(chromedp.CSS(`form[action="/enroll"] button.primary`)))
	if n := fdPatientCount(t, app, app.Main, "Amara Nwosu"); n != 0 {
		t.Fatalf("a form with mistakes stored %d patients", n)
	}
	bfInView(t, ctx, "the list of what to fix", "f-problems")
	if id := bfFocused(t, ctx); id != "f-problems" {
		t.Errorf("the focus is on %q, want the list of what to fix", id)
	}
	bfFieldErrorsNamed(t, ctx, `form[action="/enroll"]`, "f-phone", "f-tz", "f-email_consent")
	bfFits(t, ctx, "the enroll form with mistakes", false)
}

// bfFieldErrorsNamed checks the fields in error of the form (a CSS
// selector) for a screen reader: exactly the fields of ids want are
// aria-invalid, each names by aria-describedby its error shown beside it,
// and every error shown is named by a field.
func bfFieldErrorsNamed(t *testing.T, ctx context.Context, form string, want ...string) {
	t.Helper()
	got := bfRun(t, ctx, "reading the fields in error", chromedp.Evaluate[[]string](fmt.Sprintf(`(() => {
		const f = document.querySelector(%q), out = [];
		const named = new Set();
		for (const e of f.querySelectorAll('[aria-invalid="true"]')) {
			const ids = (e.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
			const errs = ids.map(id => document.getElementById(id)).filter(d => d && d.classList.contains("field-error") && d.innerText.trim() !== "");
			errs.forEach(d => named.add(d));
			out.push(e.id + (errs.length ? "" : " (names no error)"));
		}
		for (const d of f.querySelectorAll(".field-error")) {
			if (!named.has(d)) out.push("error not named by a field: " + d.innerText);
		}
		return out;
	})()`, form)))
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("fields in error: %q, want %q", got, want)
	}
}

// TestBrowserPatientEditRefused: on a 390 px phone, the patient's edit
// form sent with mistakes comes back open on the list of what to fix,
// which has the focus, and each field in error names its message. Without
// the focus the list sat at 734 to 993 px of the 844 px window, cut off.
func TestBrowserPatientEditRefused(t *testing.T) {
	app := newTestApp(t)
	res, err := app.Service.Enroll(context.Background(), app.Main, scheduler.EnrollRequest{Name: "Ines Duarte", Phone: "+14155550160", TZ: "America/Los_Angeles",
		Protocol: "microneedling", TreatedAt: "2026-11-23T08:15", SMSConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	email, pw := bfUser(t, app, app.Main, aftercare.RoleFrontDesk, "Rosa Delgado", "rosa@glowskin.example")
	ctx := newChrome(t, 390, 844)
	signInBrowser(t, ctx, app, email, pw)
	bfOpen(t, ctx, app, fmt.Sprintf("/patients/%d", res.Patient.ID), 200)
	form := fmt.Sprintf(`form[action="/patients/%d"]`, res.Patient.ID)
	bfDo(t, ctx, "changing the details with mistakes",
		chromedp.Click(chromedp.CSS("details.edit > summary")),
		chromedp.SetValue(chromedp.ID("e-phone"), "555-01"),
		chromedp.SetValue(chromedp.ID("e-tz"), "Mars/Olympus"))
	bfFollow(t, ctx, "saving", 400, chromedp.Click(chromedp.CSS(form+" button.primary")))
	bfInView(t, ctx, "the list of what to fix", "e-problems")
	if id := bfFocused(t, ctx); id != "e-problems" {
		t.Errorf("the focus is on %q, want the list of what to fix", id)
	}
	bfFieldErrorsNamed(t, ctx, form, "e-phone", "e-tz")
}
