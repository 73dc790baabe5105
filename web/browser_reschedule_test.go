package web_test

import (
	"context"
	"fmt"
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
	res, err := app.Service.Enroll(bg, app.Main, scheduler.EnrollRequest{Name: "Ines Duarte", Phone: "+14155550160", TZ: "America/Los_Angeles",
		Protocol: "microneedling", TreatedAt: "2026-11-23T08:15", SMSConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	eid, was := res.Enrollment.ID, res.Enrollment.TreatedAt
	email, pw := bfUser(t, app, app.Main, aftercare.RoleFrontDesk, "Rosa Delgado", "rosa@glowskin.example")
	ctx := newChrome(t, 390, 844)
	signInBrowser(t, ctx, app, email, pw)
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
