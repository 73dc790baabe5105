package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPatientPage: the patient's page on a 375 px phone, as the
// patient opens it from a text: no sign-in, nothing wider than the
// screen, a call button big enough to tap that calls the clinic, today's
// texts first. With AFTERCARE_SCREENSHOTS set it is saved as
// docs/screenshots/patient-page-375.png; the refused link too.
func TestBrowserPatientPage(t *testing.T) {
	app := newTestApp(t)
	pages := withPages(t, app)
	_, u := enrollForPage(t, app, pages, "Ana Ruiz", "en", "America/Los_Angeles")
	path := strings.TrimPrefix(u, app.URL)
	ctx := newChrome(t, 375, 812)

	bfOpen(t, ctx, app, path, 200)
	bfFits(t, ctx, "the patient's page", false)
	call := bfRun(t, ctx, "measuring the call button", chromedp.Evaluate[[]any](
		`(() => { const a = document.querySelector("a.pp-call"); const r = a.getBoundingClientRect(); return [a.getAttribute("href"), r.height, r.width]; })()`))
	if call[0] != "tel:+14155550199" || call[1].(float64) < 44 || call[2].(float64) < 300 {
		t.Errorf("call button: href %v, %v x %v px; want tel:+14155550199, at least 300 x 44", call[0], call[2], call[1])
	}
	order := bfRun(t, ctx, "reading the sections", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("section h2")).map(h => h.id)`))
	if strings.Join(order, ",") != "today-h,coming-h,dates-h" {
		t.Errorf("sections %v, want today, coming up, dates", order)
	}
	text := bfPageText(t, ctx)
	if !strings.Contains(text, "Hi, Ana") || strings.Contains(text, "Ruiz") {
		t.Errorf("greeting: %q", text[:min(200, len(text))])
	}
	bfShot(t, ctx, "patient-page-375")

	bfOpen(t, ctx, app, "/p/not-a-token", 403)
	bfFits(t, ctx, "the refused link's page", false)
	bfShot(t, ctx, "patient-page-refused-375")
}
