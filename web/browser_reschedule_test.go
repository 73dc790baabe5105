package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// TestBrowserRescheduleAsksDate: on a 390 px phone, moving a treatment to a date
// three months ahead brings the patient's page back with the warning and a
// box to tick between the time and the button, within the screen, and
// nothing moved; ticked, the treatment moves.
func TestBrowserRescheduleAsksDate(t *testing.T) {
	app := newTestApp(t)
	bg := context.Background()
	res, ctx := bfRescheduleSetup(t, app)
	eid, was := res.Enrollment.ID, res.Enrollment.TreatedAt
	bfOpen(t, ctx, app, fmt.Sprintf("/patients/%d", res.Patient.ID), 200)

	form := fmt.Sprintf(`form[action="/enrollments/%d/reschedule"]`, eid)
	bfDo(t, ctx, "typing a date in March", chromedp.SetValue(chromedp.ID(fmt.Sprintf("r-%d", eid)), "2027-03-01T10:00"))
	bfFollow(t, ctx, "rescheduling", 200, chromedp.Click(chromedp.CSS(form+" button")))
	box := fmt.Sprintf("r-%d-confirm_date-box", eid)
	if text := bfRun(t, ctx, "reading the question", chromedp.Text(chromedp.ID(box))); !strings.Contains(text, "Check the treatment date.") || !strings.Contains(text, "Mon 1 Mar 2027") {
		t.Errorf("the question says %q", text)
	}
	if e, _ := app.DB.FindEnrollment(bg, app.Main.ID, eid); !e.TreatedAt.Equal(was) {
		t.Fatalf("asked first, yet the treatment moved to %s", e.TreatedAt)
	}
	bfFits(t, ctx, "the patient's page asking about the date", false)
	// The question is where the page opens, not a phone's length below it.
	bfInView(t, ctx, "the question", box)
	// Read top to bottom: the time, the box, then the button.
	tops := bfRun(t, ctx, "placing the question", chromedp.Evaluate[[]float64](fmt.Sprintf(`(() => {
		const f = document.querySelector(%q), r = e => e.getBoundingClientRect();
		return [r(f.querySelector("input[name=treated_at]")).bottom, r(f.querySelector(".date-confirm")).top,
			r(f.querySelector(".date-confirm")).bottom, r(f.querySelector("button")).top];
	})()`, form)))
	if tops[0] > tops[1] || tops[2] > tops[3] {
		t.Errorf("time ends at %.0f, box %.0f to %.0f, button at %.0f: want them in that order", tops[0], tops[1], tops[2], tops[3])
	}
	bfShot(t, ctx, "patient-reschedule-confirm-date-390")

	bfDo(t, ctx, "confirming the date", chromedp.Click(chromedp.ID(fmt.Sprintf("r-%d-confirm_date", eid))))
	bfFollow(t, ctx, "rescheduling to the confirmed date", 200, chromedp.Click(chromedp.CSS(form+" button")))
	if flash := bfRun(t, ctx, "reading the flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "Rescheduled to Mon 1 Mar 2027, 10:00 PST") {
		t.Errorf("after confirming the page says %q", flash)
	}
	if e, _ := app.DB.FindEnrollment(bg, app.Main.ID, eid); !e.TreatedAt.Equal(time.Date(2027, 3, 1, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("confirmed, the treatment is at %s", e.TreatedAt)
	}
}

// TestBrowserRescheduleRefused: on a 390 px phone, a move the scheduler
// refuses brings the patient's page back open on the error rather than at
// its top, the enrollment's card a phone's length below: the time's field
// has the focus and names the error, which is in view. The same when the
// enrollment was cancelled (in another tab) before the move was sent.
func TestBrowserRescheduleRefused(t *testing.T) {
	app := newTestApp(t)
	bg := context.Background()
	res, ctx := bfRescheduleSetup(t, app)
	eid, was := res.Enrollment.ID, res.Enrollment.TreatedAt
	page := fmt.Sprintf("/patients/%d", res.Patient.ID)
	field, msg := fmt.Sprintf("r-%d", eid), fmt.Sprintf("r-%d-error", eid)
	form := fmt.Sprintf(`form[action="/enrollments/%d/reschedule"]`, eid)

	t.Run("Refused", func(t *testing.T) {
		// A year back: every message's time has passed, nothing to move.
		bfOpen(t, ctx, app, page, 200)
		bfDo(t, ctx, "typing a date a year back", chromedp.SetValue(chromedp.ID(field), "2025-11-23T08:15"))
		bfFollow(t, ctx, "rescheduling", 400, chromedp.Click(chromedp.CSS(form+" button")))
		if e, _ := app.DB.FindEnrollment(bg, app.Main.ID, eid); !e.TreatedAt.Equal(was) {
			t.Fatalf("refused, yet the treatment moved to %s", e.TreatedAt)
		}
		if text := bfRun(t, ctx, "reading the error", chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q)?.innerText ?? ""`, msg))); !strings.Contains(text, "due before now") {
			t.Errorf("the error says %q", text)
		}
		bfInView(t, ctx, "the error", msg)
		if id := bfFocused(t, ctx); id != field {
			t.Errorf("the focus is on %q, want the time's field %q", id, field)
		}
		attrs := bfRun(t, ctx, "reading the field", chromedp.Evaluate[[]string](fmt.Sprintf(
			`(() => { const e = document.getElementById(%q); return [e.getAttribute("aria-invalid"), e.getAttribute("aria-describedby")]; })()`, field)))
		if attrs[0] != "true" || !slices.Contains(strings.Fields(attrs[1]), msg) {
			t.Errorf("the field says aria-invalid=%q aria-describedby=%q, want true and %s", attrs[0], attrs[1], msg)
		}
		bfFits(t, ctx, "the patient's page refusing a move", false)
	})
	t.Run("Cancelled", func(t *testing.T) {
		bfOpen(t, ctx, app, page, 200)
		if _, err := app.Service.Cancel(bg, app.Main.ID, eid); err != nil {
			t.Fatal(err)
		}
		bfDo(t, ctx, "typing a new time", chromedp.SetValue(chromedp.ID(field), "2026-11-23T09:15"))
		bfFollow(t, ctx, "rescheduling a cancelled enrollment", 400, chromedp.Click(chromedp.CSS(form+" button")))
		if text := bfRun(t, ctx, "reading the error", chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById(%q)?.innerText ?? ""`, msg))); !strings.Contains(text, "cancelled") {
			t.Errorf("the error says %q", text)
		}
		bfInView(t, ctx, "the error", msg)
		if id := bfFocused(t, ctx); id != msg {
			t.Errorf("the focus is on %q, want the error %q (the form is gone with the enrollment)", id, msg)
		}
	})
}

// bfRescheduleSetup enrolls Ines Duarte (treated 23 November 2026, 08:15
// Los Angeles) and signs the front desk in on a 390 px phone.
func bfRescheduleSetup(t *testing.T, app *testApp) (*scheduler.EnrollResult, context.Context) {
	t.Helper()
	res, err := app.Service.Enroll(context.Background(), app.Main, scheduler.EnrollRequest{Name: "Ines Duarte", Phone: "+14155550160",
		TZ: "America/Los_Angeles", Protocol: "microneedling", TreatedAt: "2026-11-23T08:15", SMSConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	email, pw := bfUser(t, app, app.Main, aftercare.RoleFrontDesk, "Rosa Delgado", "rosa@glowskin.example")
	ctx := newChrome(t, 390, 844)
	signInBrowser(t, ctx, app, email, pw)
	return res, ctx
}
