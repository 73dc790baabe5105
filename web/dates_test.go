package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

// TestListsShowOtherYears: a date in another year than the clinic's
// current one (by the injected clock) says its year; this year's do not.
func TestListsShowOtherYears(t *testing.T) {
	app := newTestApp(t)
	loc, _ := time.LoadLocation(app.Main.TZ)
	// Treated on 20 December: the follow-ups run into January.
	treated := time.Date(app.Now().In(loc).Year(), 12, 20, 15, 0, 0, 0, loc)
	res, err := app.Service.Enroll(context.Background(), app.Main, scheduler.EnrollRequest{Name: "Noel Year", Phone: "+14155559988",
		TZ: app.Main.TZ, Lang: "en", Protocol: "microneedling", TreatedAt: treated.Format(time.RFC3339), SMSConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var next, this *aftercare.Message
	for _, m := range res.Messages {
		if m.SendAt.In(loc).Year() > treated.Year() && next == nil {
			next = m
		}
		if m.SendAt.In(loc).Year() == treated.Year() && this == nil {
			this = m
		}
	}
	if next == nil || this == nil {
		t.Fatalf("the plan does not cross the new year: %v", res.Messages)
	}
	fd := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	_, body := mgrGet(fd, fmt.Sprintf("/patients/%d", res.Patient.ID))
	for _, want := range []string{
		next.SendAt.In(loc).Format("Mon 2 Jan 2006 · 15:04 MST"),
		this.SendAt.In(loc).Format("Mon 2 Jan · 15:04 MST"),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the patient's timeline lacks %q", want)
		}
	}
	if strings.Contains(body, this.SendAt.In(loc).Format("Mon 2 Jan 2006 · 15:04")) {
		t.Errorf("a date of this year shows its year")
	}
	// The clock, not the machine's: a year later, this year's dates say
	// their year too.
	app.Advance(366 * 24 * time.Hour)
	fd = app.SignIn(app.Main, aftercare.RoleManager) // the session expired
	_, body = mgrGet(fd, fmt.Sprintf("/patients/%d", res.Patient.ID))
	if !strings.Contains(body, this.SendAt.In(loc).Format("Mon 2 Jan 2006 · 15:04 MST")) {
		t.Errorf("a year later, %s does not show its year", this.SendAt.In(loc).Format("Mon 2 Jan"))
	}
}

// TestAPIEnrollWarnings: POST /enrollments answers warnings, empty for a
// usual treatment date, saying what will happen for one more than a week
// ago; the enrollment is stored all the same.
func TestAPIEnrollWarnings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	var usual, old web.EnrollAnswerJSON
	res := w.do(w.FD, "POST", "/api/v1/enrollments", anaRequest())
	res.decode(t, http.StatusOK, &usual) // newWorld enrolled her already
	if usual.Warnings == nil || len(usual.Warnings) != 0 || !strings.Contains(res.Body, `"warnings":[]`) {
		t.Errorf("a usual date: warnings %q", usual.Warnings)
	}
	req := anaRequest()
	req["treated_at"] = "2026-11-10T08:30"
	w.do(w.FD, "POST", "/api/v1/enrollments", req).decode(t, http.StatusCreated, &old)
	if len(old.Warnings) != 1 || !strings.Contains(old.Warnings[0], "days ago") || !strings.Contains(old.Warnings[0], "will be skipped") {
		t.Errorf("a treatment 13 days ago: warnings %q", old.Warnings)
	}
	if old.ID == 0 || old.ID == usual.ID {
		t.Errorf("the enrollment was not stored: %+v", old.EnrollmentJSON)
	}
}

// TestEnrollFormAsksForUnusualDate: a treatment more than a week ago (or
// months ahead) is not enrolled until the form's box is ticked; the form
// says what will happen, and the live preview warns first.
func TestEnrollFormAsksForUnusualDate(t *testing.T) {
	app := newTestApp(t)
	fd := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	for _, tc := range []struct{ name, treated, says string }{
		{"Past", "2026-11-10T08:30", "are already past and will be skipped"},
		{"Ahead", "2027-04-02T10:00", "days from today"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := fdForm("treated_at", tc.treated, "name", "Ana "+tc.name)
			resp := fd.PostForm("/enroll/preview", form)
			preview := readBody(t, resp)
			if !strings.Contains(preview, `class="date-warn"`) || !strings.Contains(preview, tc.says) {
				t.Errorf("the preview does not warn about the date:\n%s", preview)
			}
			resp = fd.PostForm("/enroll", form)
			body := readBody(t, resp)
			// The preview and the form count the same messages.
			counts := regexp.MustCompile(`\d+ of its \d+ messages|\d+ days from today`)
			if p, f := counts.FindString(preview), counts.FindString(body); p == "" || p != f {
				t.Errorf("the preview says %q, the form %q", p, f)
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Check the treatment date.") || !strings.Contains(body, tc.says) ||
				!strings.Contains(body, `name="confirm_date"`) || !strings.Contains(body, "Enroll with this date") {
				t.Fatalf("an unusual date: %d, want the form asking to confirm it\n%s", resp.StatusCode, body)
			}
			if n := fdPatientCount(t, app, app.Main, "Ana "+tc.name); n != 0 {
				t.Fatalf("asked first, yet %d patients were stored", n)
			}
			form.Set("confirm_date", tc.treated+" America/Los_Angeles")
			fdEnroll(t, fd, form)
		})
	}
	// A usual date is enrolled at once.
	fdEnroll(t, fd, fdForm("name", "Ana Usual"))
}

// TestEnrollFormAsksAgainForChangedDate: the box answering the date
// question confirms the time asked about, not whatever time comes with
// it. A date changed after the question and sent with the box ticked is
// asked about in turn, with nothing stored; ticked for the time sent, the
// patient is enrolled with it.
func TestEnrollFormAsksAgainForChangedDate(t *testing.T) {
	app := newTestApp(t)
	fd := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	asks := func(what string, form url.Values, day string) {
		t.Helper()
		resp := fd.PostForm("/enroll", form)
		body := readBody(t, resp)
		box := fmt.Sprintf(`id="f-confirm_date" name="confirm_date" type="checkbox" value="%s %s"`, form.Get("treated_at"), form.Get("tz"))
		for _, want := range []string{"Check the treatment date.", day, box, "Enroll with this date"} {
			if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("%s: status %d, no %q", what, resp.StatusCode, want)
			}
		}
		if n := fdPatientCount(t, app, app.Main, "Ana Ahead"); n != 0 {
			t.Fatalf("%s: asked, yet %d patients were stored", what, n)
		}
	}
	form := fdForm("name", "Ana Ahead", "treated_at", "2027-04-02T10:00")
	asks("an unusual date", form, "Fri 2 Apr 2027")
	// The front desk changes the month, to a date as unusual, and ticks
	// the box that was asked about 2 April.
	asks("a date changed after the question", changed(form, "treated_at", "2027-03-02T10:00", "confirm_date", "2027-04-02T10:00 America/Los_Angeles"), "Tue 2 Mar 2027")
	// A box from a page older than the check says only "yes", or only the
	// time (before the zone came with it).
	asks("a box without a time", changed(form, "confirm_date", "yes"), "Tue 2 Mar 2027")
	asks("a box with the time alone", changed(form, "confirm_date", "2027-03-02T10:00"), "Tue 2 Mar 2027")
	// The zone changed after the question: the same time there is another
	// moment, asked about in turn.
	asks("a zone changed after the question", changed(form, "tz", "Pacific/Auckland", "confirm_date", "2027-03-02T10:00 America/Los_Angeles"), "Tue 2 Mar 2027")
	form.Set("tz", "America/Los_Angeles")

	_, eid := fdEnroll(t, fd, changed(form, "confirm_date", "2027-03-02T10:00 America/Los_Angeles"))
	e, err := app.DB.FindEnrollment(context.Background(), app.Main.ID, eid)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2027, 3, 2, 18, 0, 0, 0, time.UTC); !e.TreatedAt.Equal(want) {
		t.Errorf("confirmed 2 March 2027 10:00 PST, enrolled at %s", e.TreatedAt)
	}
}
