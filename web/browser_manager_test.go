package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

const bfLogRowsJS = `Array.from(document.querySelectorAll("table.log tbody tr")).filter(tr => tr.querySelector("a[href^='/log/']")).map(tr => ({
	id: Number(tr.querySelector("a[href^='/log/']").getAttribute("href").match(/^\/log\/(\d+)/)[1]),
	state: tr.querySelector(".badge").textContent.trim(),
	channel: tr.cells[4].textContent.trim(),
	patient: tr.cells[2].textContent.trim(),
}))`

// TestBrowserManagerLog: the manager filters the delivery log through its
// form, pages through it, and exports it; every page and the CSV hold
// exactly what the store has for that filter.
func TestBrowserManagerLog(t *testing.T) {
	app := newTestApp(t)
	seed := bfSeed(t, app)
	email, pw := bfUser(t, app, app.Main, aftercare.RoleManager, "Dr. Lena Park", "lena@glowskin.example")
	ctx := newChrome(t, 1280, 900)
	signInBrowser(t, ctx, app, email, pw)

	bfOpen(t, ctx, app, "/log", 200)
	// The first visit shows the last seven days of the clinic.
	if since := bfRun(t, ctx, "reading From", chromedp.Value(chromedp.ID("since"))); since != "2026-11-17" {
		t.Errorf("the log starts on %q, want 2026-11-17", since)
	}
	bfDo(t, ctx, "filtering the log",
		chromedp.SetValue(chromedp.ID("since"), "2026-11-10"),
		chromedp.SetValue(chromedp.ID("channel"), "sms"),
		chromedp.Click(chromedp.CSS(`input[name="state"][value="delivered"]`)),
		chromedp.Click(chromedp.CSS(`input[name="state"][value="failed"]`)),
	)
	bfFollow(t, ctx, "showing the filtered log", 200, chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
	if loc := bfRun(t, ctx, "reading the location", chromedp.Location()); !strings.Contains(loc, "channel=sms") || !strings.Contains(loc, "state=failed") {
		t.Fatalf("the filter did not apply: %s", loc)
	}
	want := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Channel: aftercare.SMS,
		Statuses: []aftercare.Status{aftercare.StatusDelivered, aftercare.StatusFailed},
		Since:    time.Date(2026, 11, 10, 0, 0, 0, 0, bfLA), Until: time.Date(2026, 11, 24, 0, 0, 0, 0, bfLA)})
	if len(want) <= 50 || mgrCount(want, aftercare.StatusFailed) == 0 {
		t.Fatalf("the seed has %d delivered or failed texts (%d failed): the test needs more than a page, and failures", len(want), mgrCount(want, aftercare.StatusFailed))
	}
	var rows []bfLogRow
	for pages := 1; ; pages++ {
		got := bfRun(t, ctx, "reading the log", chromedp.Evaluate[[]bfLogRow](bfLogRowsJS))
		if len(got) == 0 || len(got) > 50 {
			t.Fatalf("page %d has %d rows", pages, len(got))
		}
		rows = append(rows, got...)
		next := bfRun(t, ctx, "looking for the next page", chromedp.Evaluate[int](`document.querySelectorAll("a[rel=next]").length`))
		if next == 0 {
			break
		}
		if pages > 10 {
			t.Fatal("more than 10 pages")
		}
		bfFollow(t, ctx, "following the next page", 200, chromedp.Click(chromedp.CSS("a[rel=next]")))
		if bar := bfRun(t, ctx, "reading the toolbar", chromedp.Text(chromedp.CSS(".toolbar"))); !strings.Contains(bar, "a later page") {
			t.Errorf("page %d says %q", pages+1, bar)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("the log's pages show %d rows, the store has %d", len(rows), len(want))
	}
	names := map[int64]string{}
	for _, p := range seed.Patients {
		names[p.ID] = p.Name
	}
	for i, r := range rows {
		if i >= len(want) {
			break
		}
		w := want[i]
		if r.ID != w.ID || r.State != string(w.Status) || r.Channel != "SMS" || r.Patient != names[w.PatientID] {
			t.Errorf("row %d shows %+v, the store has #%d %s %s of %s", i, r, w.ID, w.Status, w.Channel, names[w.PatientID])
		}
	}

	// Export: the link's file, fetched by the page with the session's
	// cookie, holds every page of the filter, and nothing else.
	href := bfRun(t, ctx, "reading the export link", chromedp.Evaluate[string](`(() => { const a = Array.from(document.querySelectorAll("a")).find(a => a.textContent.trim() === "Export CSV"); return a ? a.href : ""; })()`))
	if !strings.Contains(href, "/log.csv?") || strings.Contains(href, "after=") {
		t.Fatalf("the export link is %q", href)
	}
	text := bfRun(t, ctx, "downloading the export", chromedp.Evaluate[string](
		fmt.Sprintf(`fetch(%q, {credentials: "same-origin"}).then(r => r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)))`, href), chromedp.EvalAwaitPromise))
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v\n%s", err, text)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], web.MessageCSVHeader) {
		t.Fatalf("the export's header: %v", recs[:min(1, len(recs))])
	}
	recs = recs[1:]
	if len(recs) != len(want) {
		t.Errorf("the export has %d rows, the store %d", len(recs), len(want))
	}
	for i, r := range recs {
		if i >= len(want) {
			break
		}
		w := want[i]
		if r[0] != strconv.FormatInt(w.ID, 10) || r[2] != strconv.FormatInt(w.PatientID, 10) || r[4] != w.StepKey || r[6] != string(w.Channel) ||
			r[7] != string(w.Status) || r[8] != w.SendAt.UTC().Format(time.RFC3339) || r[14] != w.ProviderID || r[15] != w.ErrorCode || r[3] == "" {
			t.Errorf("export row %d: %v; the store has %+v", i, r, *w)
		}
	}
}

// TestBrowserTenantIsolation: a manager of the other clinic, signed in in
// the browser, who opens the main clinic's patient and message addresses
// gets the not-found page and sees nothing of that patient.
func TestBrowserTenantIsolation(t *testing.T) {
	app := newTestApp(t)
	bg := context.Background()
	wire := newBFWire(t, app)
	res, err := app.Service.Enroll(bg, app.Main, scheduler.EnrollRequest{Name: "Valentina Brightwater", Phone: "+14155550133", Email: "valentina@example.com",
		TZ: "America/Los_Angeles", Protocol: "microneedling", TreatedAt: "2026-11-23T08:50", SMSConsent: true, EmailConsent: true, Source: "test"})
	if err != nil {
		t.Fatal(err)
	}
	wire.runUntil(t, app.Now().Add(time.Minute))
	msgs := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, EnrollmentID: res.Enrollment.ID, Statuses: []aftercare.Status{aftercare.StatusSent}})
	if len(msgs) == 0 {
		t.Fatal("nothing was sent")
	}
	pid := res.Patient.ID
	msgPath := fmt.Sprintf("/log/%d?at=%s", msgs[0].ID, msgs[0].SendAt.UTC().Format("2006-01-02T15:04:05.000Z"))
	secret := []string{"Valentina", "Brightwater", "valentina@example.com", "555-0133", "0133"}

	// The addresses are real: the main clinic's manager opens them.
	mine := app.SignIn(app.Main, aftercare.RoleManager)
	for _, path := range []string{fmt.Sprintf("/patients/%d", pid), msgPath} {
		resp := mine.Get(path)
		if body := readBody(t, resp); resp.StatusCode != 200 || !strings.Contains(body, "Valentina Brightwater") {
			t.Fatalf("the owner's GET %s: %d", path, resp.StatusCode)
		}
	}

	email, pw := bfUser(t, app, app.Other, aftercare.RoleManager, "Tom Reyes", "tom@other.example")
	ctx := newChrome(t, 1280, 900)
	signInBrowser(t, ctx, app, email, pw)
	for _, tc := range []struct {
		path   string
		status int64
		head   string
		says   string // what the page must say; the search echoed is not a leak
	}{
		{fmt.Sprintf("/patients/%d", pid), 404, "Not found", "no patient"},
		{msgPath, 404, "Not found", fmt.Sprintf("no message #%d here", msgs[0].ID)},
		{fmt.Sprintf("/enroll?patient=%d", pid), 404, "Not found", "no patient"},
		{"/patients?q=Valentina", 200, "Patients", "No patient found for “Valentina”"},
		{"/patients?q=0133", 200, "Patients", "No patient found for “0133”"},
		{fmt.Sprintf("/log?patient=%d", pid), 400, "Delivery log", fmt.Sprintf("this clinic has no patient #%d", pid)},
		{"/log?since=2026-11-01", 200, "Delivery log", "No messages match this filter"},
		{"/", 200, "Today", "No one has been enrolled yet today"},
	} {
		bfOpen(t, ctx, app, tc.path, tc.status)
		if h := bfRun(t, ctx, "reading the heading", chromedp.Text(chromedp.CSS("main h1"))); h != tc.head {
			t.Errorf("GET %s shows %q, want %q", tc.path, h, tc.head)
		}
		text := bfPageText(t, ctx)
		if !strings.Contains(text, tc.says) {
			t.Errorf("GET %s does not say %q:\n%s", tc.path, tc.says, text)
		}
		if strings.HasPrefix(tc.says, "No patient found") {
			text = strings.ReplaceAll(text, tc.says, "")
		}
		for _, s := range secret {
			if strings.Contains(text, s) {
				t.Errorf("GET %s as the other clinic shows %q:\n%s", tc.path, s, text)
			}
		}
		if !strings.Contains(text, "Other Clinic") {
			t.Errorf("GET %s: the page does not say which clinic is signed in", tc.path)
		}
	}
}

// bfImportCSV is a day's list as a clinic exports it, with one mistake.
const bfImportCSV = "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n" +
	"Isabel Duarte,+14155550141,isabel.duarte@example.com,America/Los_Angeles,es,microneedling,2026-11-23T14:00,yes,yes\n" +
	"Kenji Watanabe,(415) 555-0142,,America/Los_Angeles,en,microneedling,2026-11-23T14:30,yes,no\n" +
	"Ruth Abernathy,555-01,ruth@example.com,America/Los_Angeles,en,microneedling,2026-11-23T15:00,yes,yes\n" +
	"Leo Fischer,+14155550144,leo.fischer@example.com,America/Phoenix,en,microneedling,2026-11-23T15:20,no,yes\n"

// TestBrowserScreenshots goes through the main pages of a clinic at the
// end of a busy Monday, as the front desk and as the admin, on a desktop
// and on a phone: every page renders, none scrolls sideways, and with
// AFTERCARE_SCREENSHOTS set each is saved to docs/screenshots.
func TestBrowserScreenshots(t *testing.T) {
	app := newTestApp(t)
	seed := bfSeed(t, app)
	bg := context.Background()
	fdEmail, fdPW := bfUser(t, app, app.Main, aftercare.RoleFrontDesk, "Rosa Delgado", "rosa@glowskin.example")
	adEmail, adPW := bfUser(t, app, app.Main, aftercare.RoleAdmin, "Dr. Lena Park", "lena@glowskin.example")
	daniel := fmt.Sprintf("/patients/%d", seed.Patients["Daniel Kim"].ID)

	t.Run("frontdesk", func(t *testing.T) {
		ctx := newChrome(t, 1280, 900)
		signInBrowser(t, ctx, app, fdEmail, fdPW)
		bfOpen(t, ctx, app, "/", 200)
		if text := bfPageText(t, ctx); !strings.Contains(text, "Chloé Martin") || !strings.Contains(text, "Grace Whitfield") {
			t.Errorf("the start page lacks today's or earlier patients:\n%s", text)
		}
		bfFits(t, ctx, "home", true)
		bfShot(t, ctx, "home")

		bfOpen(t, ctx, app, "/enroll", 200)
		bfDo(t, ctx, "filling the enroll form",
			chromedp.SetValue(chromedp.ID("f-treated_at"), "2026-11-23T16:25"),
			chromedp.SendKeys(chromedp.ID("f-name"), "Amara Nwosu"),
			chromedp.SendKeys(chromedp.ID("f-phone"), "(415) 555-0150"),
			chromedp.SendKeys(chromedp.ID("f-email"), "amara.nwosu@example.com"),
			chromedp.Click(chromedp.ID("f-sms_consent")),
		)
		bfWaitPreview(t, ctx, "Hi Amara,")
		bfFits(t, ctx, "enroll", true)
		// On a desktop the preview is beside the form, level with it.
		if d := bfRun(t, ctx, "placing the preview", chromedp.Evaluate[float64](
			`window.scrollTo(0, 0), Math.abs(document.querySelector(".preview-card").getBoundingClientRect().top - document.querySelector(".enroll-cols > section.card").getBoundingClientRect().top)`)); d > 2 {
			t.Errorf("the preview starts %.0f px away from the top of the form, want beside it", d)
		}
		bfShot(t, ctx, "enroll")

		// A treatment three weeks ago: the preview warns, and enrolling
		// asks first.
		bfEnrollOldDate(t, ctx)
		if text := bfPageText(t, ctx); !strings.Contains(text, "Check the treatment date.") || !strings.Contains(text, "will be skipped") {
			t.Errorf("the form does not ask about the date:\n%s", text)
		}
		if n := fdPatientCount(t, app, app.Main, "Amara Nwosu"); n != 0 {
			t.Errorf("Amara was enrolled before the date was confirmed")
		}
		bfShot(t, ctx, "enroll-confirm-date")

		bfOpen(t, ctx, app, "/help/protocols", 200)
		if text := bfPageText(t, ctx); !strings.Contains(text, "Writing a protocol") || !strings.Contains(text, "A first example") {
			t.Errorf("the protocol guide:\n%s", text)
		}
		bfFits(t, ctx, "help-protocols", false)
		screenshotTop(t, ctx, "help-protocols")

		bfOpen(t, ctx, app, daniel, 200)
		if text := bfPageText(t, ctx); !strings.Contains(text, "undelivered") || !strings.Contains(text, "delivered") || !strings.Contains(text, "pending") {
			t.Errorf("Daniel Kim's timeline lacks the states of his fortnight:\n%s", text)
		}
		bfFits(t, ctx, "patient", true)
		bfShot(t, ctx, "patient")

		file := filepath.Join(t.TempDir(), "monday-afternoon.csv")
		if err := os.WriteFile(file, []byte(bfImportCSV), 0o600); err != nil {
			t.Fatal(err)
		}
		bfOpen(t, ctx, app, "/import", 200)
		bfDo(t, ctx, "choosing the day's list", chromedp.SetUploadFiles(chromedp.ID("f-file"), []string{file}))
		bfFollow(t, ctx, "uploading the day's list", 200, chromedp.Click(chromedp.CSS(`form[action="/import"] button[type="submit"]`)))
		// The import runs on the server; while it does, the page shows
		// its progress and reloads itself at the end.
		if report := bfRun(t, ctx, "reading the location", chromedp.Location()); !strings.HasPrefix(report, app.URL+"/import/") {
			t.Fatalf("uploading landed on %s", report)
		}
		bfDo(t, ctx, "waiting for the import to end",
			chromedp.WaitNotPresent(chromedp.CSS("[data-progress]")),
			chromedp.WaitVisible(chromedp.CSS("main h1")))
		if h := bfRun(t, ctx, "reading the heading", chromedp.Text(chromedp.CSS("main h1"))); h != "Import of monday-afternoon.csv" {
			t.Errorf("the report is headed %q", h)
		}
		if text := bfPageText(t, ctx); !strings.Contains(text, "3\nnew enrollments stored") || !strings.Contains(text, `"555-01" is not a valid phone number`) {
			t.Errorf("the import report does not show the bad row:\n%s", text)
		}
		bfFits(t, ctx, "import report", true)
		bfShot(t, ctx, "import-report")
		// The dispatcher sends the new patients' first messages.
		seed.Wire.runUntil(t, app.Now())
	})

	t.Run("admin", func(t *testing.T) {
		ctx := newChrome(t, 1280, 900)
		signInBrowser(t, ctx, app, adEmail, adPW)
		for _, tc := range []struct{ name, path, want string }{
			{"log", "/log", "Daniel Kim"},
			{"attention", "/attention", "James O'Connor"},
			{"stats", "/stats", "delivered"},
			{"settings", "/settings", "Glow Skin Studio"},
		} {
			bfOpen(t, ctx, app, tc.path, 200)
			if text := bfPageText(t, ctx); !strings.Contains(text, tc.want) {
				t.Errorf("%s lacks %q:\n%s", tc.path, tc.want, text)
			}
			bfFits(t, ctx, tc.name, true)
			bfShot(t, ctx, tc.name)
		}

		// A protocol edit with a mistake: the page says where, and
		// nothing is saved.
		before, err := app.DB.ListProtocols(bg, app.Main.ID)
		if err != nil {
			t.Fatal(err)
		}
		bfOpen(t, ctx, app, "/protocols/microneedling/edit", 200)
		bfDo(t, ctx, "breaking the protocol",
			chromedp.Evaluate[chromedp.Void](`(() => { const y = document.getElementById("yaml"); y.value = y.value.replace("after: 30m", "after: ninety minutes"); })()`))
		bfFollow(t, ctx, "saving the protocol", 400, chromedp.Click(chromedp.CSS(`form[action$="/edit"] button.primary`)))
		if text := bfRun(t, ctx, "reading the problems", chromedp.Text(chromedp.CSS(".problems-card"))); !strings.Contains(text, "ninety minutes") {
			t.Errorf("the problem does not quote the mistake:\n%s", text)
		}
		after, err := app.DB.ListProtocols(bg, app.Main.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range before {
			if after[i].Version != before[i].Version {
				t.Errorf("a protocol with a mistake was saved: %s v%d", after[i].Slug, after[i].Version)
			}
		}
		bfFits(t, ctx, "protocol edit", true)
		// Show the line in question in the listing, as a reader who
		// follows the problem's link sees it.
		bfDo(t, ctx, "scrolling to the mistake", chromedp.Evaluate[chromedp.Void](
			`(() => { const box = document.querySelector(".code-lines"), bad = box.querySelector("tr.bad"); box.scrollTop = bad.offsetTop - box.clientHeight / 3; })()`))
		bfShot(t, ctx, "protocol-edit-error")
	})

	t.Run("phone", func(t *testing.T) {
		// 390 px: a common phone; the admin sees the longest menu.
		ctx := newChrome(t, 390, 844)
		signInBrowser(t, ctx, app, adEmail, adPW)
		for _, tc := range []struct{ name, path string }{
			{"home-390", "/"}, {"enroll-390", "/enroll"}, {"patient-390", daniel}, {"import-390", "/import"},
			{"log-390", "/log"}, {"attention-390", "/attention"}, {"protocols-390", "/protocols"}, {"settings-390", "/settings"},
			{"stats-390", "/stats"},
		} {
			bfOpen(t, ctx, app, tc.path, 200)
			bfFits(t, ctx, tc.name, false)
			bfShot(t, ctx, tc.name)
		}
		bfOpen(t, ctx, app, "/help/protocols", 200)
		bfFits(t, ctx, "help-protocols-390", false)
		bfDo(t, ctx, "scrolling to the first example", chromedp.Evaluate[chromedp.Void](`document.getElementById("a-first-example").scrollIntoView()`))
		screenshotTop(t, ctx, "help-protocols-390")
		// On a phone the timeline comes after the form, so a line above
		// the submit button says what enrolling will do.
		bfOpen(t, ctx, app, "/enroll", 200)
		bfDo(t, ctx, "filling the enroll form",
			chromedp.SendKeys(chromedp.ID("f-name"), "Amara Nwosu"),
			chromedp.SendKeys(chromedp.ID("f-phone"), "(415) 555-0150"),
			chromedp.Click(chromedp.ID("f-sms_consent")))
		bfWaitPreview(t, ctx, "Hi Amara,")
		got := bfRun(t, ctx, "reading the line above the button", chromedp.Evaluate[[]string](
			`(() => { const e = document.getElementById("preview-echo"), b = document.querySelector('form[action="/enroll"] button.primary'), p = document.querySelector(".preview-card"); return [e.innerText, String(e.offsetHeight > 0 && e.getBoundingClientRect().bottom <= b.getBoundingClientRect().top && b.getBoundingClientRect().bottom <= p.getBoundingClientRect().top)]; })()`))
		if !strings.Contains(got[0], "will be sent") || got[1] != "true" {
			t.Errorf("above the submit button on a phone: %q (placed before it, the timeline after: %s)", got[0], got[1])
		}
		bfShot(t, ctx, "enroll-submit-390")
		bfEnrollOldDate(t, ctx)
		// The question is where the page opens, not below the form, and
		// has the focus.
		bfWaitPreview(t, ctx, "Check the date.")
		bfInView(t, ctx, "the date question", "f-confirm_date-box")
		if id := bfFocused(t, ctx); id != "f-confirm_date" {
			t.Errorf("asking about the date, the focus is on %q, want its box", id)
		}
		bfShot(t, ctx, "enroll-confirm-date-390")
		// Another date typed after the question and the box ticked: the
		// form asks about that date in turn and stores nothing.
		enroll := chromedp.Click(chromedp.CSS(`form[action="/enroll"] button.primary`))
		bfDo(t, ctx, "typing another date and ticking the box", chromedp.SetValue(chromedp.ID("f-treated_at"), "2026-11-12T16:25"),
			chromedp.Click(chromedp.ID("f-confirm_date")))
		bfFollow(t, ctx, "enrolling with a date changed after the question", 200, enroll)
		if n := fdPatientCount(t, app, app.Main, "Amara Nwosu"); n != 0 {
			t.Fatalf("Amara was enrolled on a date no one was asked about")
		}
		if text := bfPageText(t, ctx); !strings.Contains(text, "Check the treatment date.") || !strings.Contains(text, "Thu 12 Nov 2026") {
			t.Errorf("the date changed after the question, the form does not ask about it:\n%s", text)
		}
		bfInView(t, ctx, "the question about the new date", "f-confirm_date-box")
		// Ticked for the date it asks about, the patient is enrolled.
		bfDo(t, ctx, "confirming the new date", chromedp.Click(chromedp.ID("f-confirm_date")))
		bfFollow(t, ctx, "enrolling with the confirmed date", 200, enroll)
		if text := bfPageText(t, ctx); !strings.Contains(text, "Amara Nwosu is enrolled") || !strings.Contains(text, "Treatment ended Thu 12 Nov 2026, 16:25 PST") {
			t.Errorf("after confirming the date the page says:\n%s", text)
		}
	})
}

// bfEnrollOldDate types a treatment three weeks ago into the enroll form,
// waits for the preview's warning and submits: the form comes back asking
// about the date.
func bfEnrollOldDate(t *testing.T, ctx context.Context) {
	t.Helper()
	bfDo(t, ctx, "typing a date three weeks ago", chromedp.SetValue(chromedp.ID("f-treated_at"), "2026-11-02T16:25"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-treated_at").dispatchEvent(new Event("change", {bubbles: true}))`))
	bfWaitPreview(t, ctx, "Check the date.")
	bfFollow(t, ctx, "enrolling with the old date", 200, chromedp.Click(chromedp.CSS(`form[action="/enroll"] button.primary`)))
}
