package web_test

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/smtp"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// Whole tasks done in a real browser, the way staff do them: the front
// desk enrolls, finds and cancels; the manager filters the delivery log and
// exports it; a user of another clinic sees none of it. The messages are
// sent by the real dispatcher through the real Twilio and SMTP senders to
// fakes of those services on loopback, with the injected clock. The
// same data, a clinic's fortnight, makes the screenshots in
// docs/screenshots (AFTERCARE_SCREENSHOTS=1, make screenshots).

// bfLA is the main clinic's zone.
var bfLA = bfZone("America/Los_Angeles")

func bfZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// bfDo runs browser steps and stops the test with what was being done.
func bfDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// bfRun runs one browser action that returns a value.
func bfRun[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// bfPageText is what the page shows, as a reader sees it.
func bfPageText(t *testing.T, ctx context.Context) string {
	t.Helper()
	return bfRun(t, ctx, "reading the page", chromedp.Evaluate[string](`document.body.innerText`))
}

// bfWaitPreview waits until the enroll form's live preview has answered
// the last change to the form and shows want, and returns its text.
func bfWaitPreview(t *testing.T, ctx context.Context, want string) string {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.getElementById("preview"); return e.getAttribute("aria-busy") === "false" && e.textContent.includes(%q); })()`, want)
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingMutation())); err != nil {
		got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("preview")))
		t.Fatalf("waiting for %q in the preview: %v; it shows:\n%s", want, err, got)
	}
	return bfRun(t, ctx, "reading the preview", chromedp.Text(chromedp.ID("preview")))
}

// bfFollow runs steps that load a new page (a click on a link or a
// submit button) and waits for it, checking its HTTP status.
func bfFollow(t *testing.T, ctx context.Context, what string, status int64, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != status {
		t.Fatalf("%s: %s answered %d, want %d", what, resp.URL, resp.Status, status)
	}
}

// bfOpen navigates to path, checks the HTTP status, and waits for the
// page's heading.
func bfOpen(t *testing.T, ctx context.Context, app *testApp, path string, status int64) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(app.URL+path))
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	if resp.Status != status {
		t.Fatalf("GET %s: %d, want %d", path, resp.Status, status)
	}
	bfDo(t, ctx, "waiting for the heading of "+path, chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// bfFits fails when the page is wider than the window, or, on a desktop
// (tables too), when a table is wider than its frame: on a phone a table
// may scroll sideways inside its frame, on a desktop it should not have to.
func bfFits(t *testing.T, ctx context.Context, name string, tables bool) {
	t.Helper()
	w := bfRun(t, ctx, "measuring "+name, chromedp.Evaluate[[]int](`[document.documentElement.scrollWidth, window.innerWidth]`))
	if w[0] > w[1] {
		t.Errorf("%s is %d px wide in a %d px window: it scrolls sideways", name, w[0], w[1])
	}
	if !tables {
		return
	}
	wide := bfRun(t, ctx, "measuring the tables of "+name, chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll(".table-wrap")).filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.scrollWidth + " px in " + e.clientWidth)`))
	for _, x := range wide {
		t.Errorf("a table of %s is wider than its frame: %s", name, x)
	}
}

// bfInView fails unless the element with id lies within the window as the
// page is now: a page back from a POST should open on what it asks or
// refuses, not leave it a phone's length below.
func bfInView(t *testing.T, ctx context.Context, what, id string) {
	t.Helper()
	bfAutofocused(ctx)
	seen := bfRun(t, ctx, "finding "+what, chromedp.Evaluate[[]float64](fmt.Sprintf(
		`(() => { const e = document.getElementById(%q); if (!e) return []; const r = e.getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]; })()`, id)))
	switch {
	case len(seen) != 3:
		t.Errorf("%s: no #%s on the page", what, id)
	case seen[0] < 0 || seen[1] > seen[2]:
		t.Errorf("%s is at %.0f to %.0f px of a %.0f px window: out of sight", what, seen[0], seen[1], seen[2])
	}
}

// bfAutofocused waits until the browser has applied the page's autofocus,
// which it does at a rendering update after the page is parsed, so that a
// check made as soon as the page has loaded can run before it: until the
// first element with the attribute has the focus (and has been scrolled to
// it), or 5 s. It reports nothing: the checks that follow (bfInView,
// bfFocused) say where the focus and the element are.
func bfAutofocused(ctx context.Context) {
	_, _ = chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const a = document.querySelector("[autofocus]"); return !a || document.activeElement === a; })()`,
		chromedp.WithPollingTimeout(5*time.Second)))
}

// bfFocused is the id of the element that has the focus ("" for none),
// where a screen reader starts reading.
func bfFocused(t *testing.T, ctx context.Context) string {
	t.Helper()
	bfAutofocused(ctx)
	return bfRun(t, ctx, "finding the focus", chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
}

// bfShot saves a screenshot (with AFTERCARE_SCREENSHOTS set) of the page
// as it first appears: scrolled to the top, nothing focused.
func bfShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	bfDo(t, ctx, "scrolling to the top", chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`))
	screenshot(t, ctx, name)
}

// bfAnswerDialogs answers the tab's JavaScript dialogs (window.confirm)
// with answers in turn, the last one for all that follow, and sends each
// dialog's message on the channel returned once it is answered.
func bfAnswerDialogs(t *testing.T, ctx context.Context, answers ...bool) <-chan string {
	t.Helper()
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	seen := make(chan string, 16)
	go func() {
		n := 0
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			accept := answers[min(n, len(answers)-1)]
			n++
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept}); err != nil {
				return
			}
			seen <- ev.Message
		}
	}()
	return seen
}

// bfDialog waits for the next dialog answered by bfAnswerDialogs.
func bfDialog(t *testing.T, ctx context.Context, seen <-chan string) string {
	t.Helper()
	select {
	case msg := <-seen:
		return msg
	case <-ctx.Done():
		t.Fatal("no confirmation dialog opened")
		return ""
	}
}

// bfSetClock moves the injected clock to at.
func bfSetClock(app *testApp, at time.Time) { app.Advance(at.Sub(app.Now())) }

// bfUser adds a member of staff with a real name and returns the email
// and password to sign in with.
func bfUser(t *testing.T, app *testApp, c *aftercare.Clinic, role aftercare.Role, name, email string) (string, string) {
	t.Helper()
	const pw = "correct horse battery"
	hash, err := app.Accounts.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.DB.CreateUser(context.Background(), &aftercare.User{ClinicID: c.ID, Email: email, Name: name, Role: role, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	return email, pw
}

// bfMail is an SMTP server on loopback (emersion/go-smtp) that takes every
// message, except for recipients listed in reject, which it refuses at RCPT
// with 550 as a mailbox provider does for an address that does not exist.
type bfMail struct {
	reject map[string]bool
}

func newBFMail(t *testing.T, reject ...string) (host string, port int) {
	t.Helper()
	m := &bfMail{reject: map[string]bool{}}
	for _, r := range reject {
		m.reject[r] = true
	}
	return "127.0.0.1", notifytest.ServeSMTP(t, func() gosmtp.Session { return &bfMailSession{m: m} })
}

type bfMailSession struct{ m *bfMail }

func (s *bfMailSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *bfMailSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.m.reject[strings.Trim(to, "<>")] {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "The email account that you tried to reach does not exist"}
	}
	return nil
}
func (s *bfMailSession) Data(r io.Reader) error { _, err := io.Copy(io.Discard, r); return err }
func (s *bfMailSession) Reset()                 {}
func (s *bfMailSession) Logout() error          { return nil }

// bfWire is the clinic's sending as `aftercare serve` wires it: the real
// dispatcher, notify/twilio against Twilio's fake, notify/smtp against an
// SMTP server, all on the injected clock.
type bfWire struct {
	app    *testApp
	Twilio *twiliotest.Server
	d      *dispatch.Dispatcher
}

func newBFWire(t *testing.T, app *testApp, rejectEmails ...string) *bfWire {
	t.Helper()
	fake := twiliotest.NewServer(t, twiliotest.WithClock(app.Now))
	tw, err := twilio.New(twilio.Config{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, From: "+14155550100", BaseURL: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	tw.Now = app.Now
	host, port := newBFMail(t, rejectEmails...)
	mail, err := smtp.New(smtp.Config{Host: host, Port: port, TLS: smtp.TLSNone, From: "care@glowskin.example"})
	if err != nil {
		t.Fatal(err)
	}
	mail.Now = app.Now
	return &bfWire{app: app, Twilio: fake, d: &dispatch.Dispatcher{Store: app.DB, Now: app.Now, Owner: "browser-test/1",
		Jitter: func() float64 { return 0.5 },
		Routes: map[aftercare.Channel]dispatch.Route{
			aftercare.SMS:   {Name: "twilio", Sender: tw},
			aftercare.Email: {Name: "smtp", Sender: mail},
		}}}
}

// runUntil plays the dispatcher from the clock's time to end: it moves the
// clock to each message's due time (plus a few seconds, as a real tick
// would) and sends what is due, so every message is sent when it was
// meant to be. The clock is left at end.
func (w *bfWire) runUntil(t *testing.T, end time.Time) {
	t.Helper()
	ctx := context.Background()
	from := w.app.Now()
	for {
		next, err := w.app.DB.ListMessages(ctx, aftercare.MessageFilter{ClinicID: w.app.Main.ID,
			Statuses: []aftercare.Status{aftercare.StatusPending}, Since: from, Until: end, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(next) == 0 {
			break
		}
		due := next[0].SendAt
		if at := due.Add(3 * time.Second); at.After(w.app.Now()) && !at.After(end) {
			bfSetClock(w.app, at)
		}
		if _, err := w.d.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		from = due.Add(time.Millisecond)
	}
	bfSetClock(w.app, end)
	if _, err := w.d.Tick(ctx); err != nil {
		t.Fatal(err)
	}
}

// deliveryReports applies Twilio's status callbacks: every text the fake
// accepted is delivered a few seconds after it was sent, except those
// listed in undelivered (by provider id), and those sent after quiet,
// whose report has not come yet.
func (w *bfWire) deliveryReports(t *testing.T, quiet time.Time, undelivered map[string]bool) {
	t.Helper()
	ctx := context.Background()
	sent, err := w.app.DB.ListMessages(ctx, aftercare.MessageFilter{ClinicID: w.app.Main.ID, Channel: aftercare.SMS,
		Statuses: []aftercare.Status{aftercare.StatusSent}})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sent {
		st, code := aftercare.StatusDelivered, ""
		switch {
		case undelivered[m.ProviderID]:
			st, code = aftercare.StatusUndelivered, "30003"
		case m.SentAt.After(quiet):
			continue
		}
		if _, err := w.app.DB.ApplyProviderStatus(ctx, m.ProviderID, st, code, m.SentAt.Add(7*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}

// bfVisit is one patient of the seeded fortnight: treated at a local time
// in their zone, enrolled by the front desk ten minutes later.
type bfVisit struct {
	Name, Phone, Email, TZ, Lang string
	Treated                      string // local, 2006-01-02T15:04
	SMS, Mail                    bool
	CancelAfter                  time.Duration // > 0: the enrollment is cancelled this long after
}

// bfFortnight is the main clinic, Glow Skin Studio in Los Angeles, from
// Tuesday 10 November to Monday 23 November 2026: who was treated, and
// what went wrong. One patient's "mobile" is a landline (every text
// fails), one mailbox does not exist, one carrier loses a text, one send
// to Twilio ends without an answer.
var bfFortnight = []bfVisit{
	{Name: "Grace Whitfield", Phone: "+14155550111", Email: "grace.whitfield@example.com", Treated: "2026-11-10T11:00", SMS: true, Mail: true},
	{Name: "Daniel Kim", Phone: "+14155550112", Treated: "2026-11-12T15:30", SMS: true},
	{Name: "Aisha Okafor", Phone: "+14155550113", Email: "aisha.okafor@example.net", Treated: "2026-11-14T10:15", SMS: true, Mail: true},
	{Name: "Noah Williams", Phone: "+17205550114", TZ: "America/Denver", Treated: "2026-11-16T14:00", SMS: true, CancelAfter: 50 * time.Hour},
	{Name: "Emma Rossi", Phone: "+14155550115", Email: "emma.rossi@example.com", Treated: "2026-11-18T16:00", SMS: true, Mail: true},
	{Name: "Olivia Chen", Phone: "+14155550116", Email: "olivia.chen@example.org", Treated: "2026-11-20T14:45", SMS: true, Mail: true},
	{Name: "Sofía Márquez", Phone: "+14155550117", Lang: "es", Treated: "2026-11-21T10:30", SMS: true},
	{Name: "James O'Connor", Phone: "+14155550118", Email: "jim.oconnor@example.com", Treated: "2026-11-21T12:00", SMS: true, Mail: true},
	{Name: "Hannah Lee", Phone: "+14155550119", Email: "hannah.lee@example.com", Treated: "2026-11-23T09:20", SMS: true, Mail: true},
	{Name: "Priya Raman", Phone: "+14155550120", Treated: "2026-11-23T11:05", SMS: true},
	{Name: "Marcus Bell", Phone: "+14155550121", Email: "marcus.bell@example.com", Treated: "2026-11-23T13:40", SMS: true, Mail: true},
	{Name: "Chloé Martin", Phone: "+14155550122", Treated: "2026-11-23T15:10", SMS: true},
}

// bfSeeded is what bfSeed made.
type bfSeeded struct {
	Patients map[string]*aftercare.Patient
	Wire     *bfWire
}

// bfSeed plays the fortnight: enrollments at their times, the dispatcher
// sending between them, delivery reports, and leaves the clock at
// Monday 23 November 16:40 in Los Angeles. Call it before signing in.
func bfSeed(t *testing.T, app *testApp) *bfSeeded {
	t.Helper()
	ctx := context.Background()
	w := newBFWire(t, app, "aisha.okafor@example.net")
	w.Twilio.AlwaysFor("+14155550118", twiliotest.TwilioError(400, twiliotest.CodeNotMobile, "The 'To' number +14155550118 is not a valid mobile number"))
	w.Twilio.NextFor("+14155550116", twiliotest.ServerErrorHTML(502))
	end := time.Date(2026, 11, 23, 16, 40, 0, 0, bfLA)
	s := &bfSeeded{Patients: map[string]*aftercare.Patient{}, Wire: w}
	type cancel struct {
		at time.Time
		id int64
	}
	var cancels []cancel
	bfSetClock(app, time.Date(2026, 11, 10, 8, 0, 0, 0, bfLA))
	for _, v := range bfFortnight {
		tz := v.TZ
		if tz == "" {
			tz = "America/Los_Angeles"
		}
		treated, err := time.ParseInLocation("2006-01-02T15:04", v.Treated, bfZone(tz))
		if err != nil {
			t.Fatal(err)
		}
		enrolled := treated.Add(10 * time.Minute)
		for len(cancels) > 0 && cancels[0].at.Before(enrolled) {
			w.runUntil(t, cancels[0].at)
			if _, err := app.Service.Cancel(ctx, app.Main.ID, cancels[0].id); err != nil {
				t.Fatal(err)
			}
			cancels = cancels[1:]
		}
		w.runUntil(t, enrolled)
		lang := v.Lang
		if lang == "" {
			lang = "en"
		}
		res, err := app.Service.Enroll(ctx, app.Main, scheduler.EnrollRequest{Name: v.Name, Phone: v.Phone, Email: v.Email, TZ: tz, Lang: lang,
			Protocol: "microneedling", TreatedAt: v.Treated, SMSConsent: v.SMS, EmailConsent: v.Mail, Source: "web:rosa@glowskin.example"})
		if err != nil {
			t.Fatalf("enrolling %s: %v", v.Name, err)
		}
		s.Patients[v.Name] = res.Patient
		if v.CancelAfter > 0 {
			cancels = append(cancels, cancel{enrolled.Add(v.CancelAfter), res.Enrollment.ID})
		}
	}
	w.runUntil(t, end)
	// A carrier lost one of Daniel Kim's texts.
	lost := map[string]bool{}
	ms, err := app.DB.ListMessages(ctx, aftercare.MessageFilter{ClinicID: app.Main.ID, PatientID: s.Patients["Daniel Kim"].ID, Channel: aftercare.SMS})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.StepKey == "makeup-ok" {
			lost[m.ProviderID] = true
		}
	}
	w.deliveryReports(t, end.Add(-20*time.Minute), lost)
	return s
}

// TestBrowserFrontDeskFlow: the front desk's day in the browser. Sign in,
// enroll a patient while the preview shows the timeline in the patient's
// own zone, find them again from the start page, and cancel the
// enrollment through the confirmation: the page and the store agree on
// what was sent and what will not be.
func TestBrowserFrontDeskFlow(t *testing.T) {
	app := newTestApp(t)
	bg := context.Background()
	wire := newBFWire(t, app)
	// Another Adams, so that finding the patient means picking the right one.
	if _, err := app.Service.Enroll(bg, app.Main, scheduler.EnrollRequest{Name: "Ben Adams", Phone: "+14155550190", TZ: "America/Los_Angeles",
		Protocol: "microneedling", TreatedAt: "2026-11-23T08:15", SMSConsent: true, Source: "test"}); err != nil {
		t.Fatal(err)
	}
	email, pw := bfUser(t, app, app.Main, aftercare.RoleFrontDesk, "Rosa Delgado", "rosa@glowskin.example")
	ctx := newChrome(t, 1280, 900)
	signInBrowser(t, ctx, app, email, pw)

	// Enroll: a patient in Denver, treated at 09:50 their time (16:50
	// UTC, ten minutes before the clock).
	bfOpen(t, ctx, app, "/enroll", 200)
	bfDo(t, ctx, "filling the enroll form",
		chromedp.SetValue(chromedp.ID("f-treated_at"), "2026-11-23T09:50"),
		chromedp.Clear(chromedp.ID("f-tz")),
		chromedp.SendKeys(chromedp.ID("f-tz"), "America/Denver"),
		chromedp.SendKeys(chromedp.ID("f-name"), "Zoë Adams"),
		chromedp.SendKeys(chromedp.ID("f-phone"), "(415) 555-0177"),
		chromedp.SendKeys(chromedp.ID("f-email"), "zoe.adams@example.com"),
		chromedp.Click(chromedp.ID("f-sms_consent")),
		chromedp.Click(chromedp.ID("f-email_consent")),
	)
	// The preview follows what was typed, in the patient's zone: both
	// consents are in, so nothing is marked as not sent.
	preview := bfWaitPreview(t, ctx, "Hi Zoë,")
	for _, want := range []string{"09:50 MST", "America/Denver", "Glow Skin Studio", "Treatment day", "Mon 23 Nov 2026"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q:\n%s", want, preview)
		}
	}
	for _, bad := range []string{"PST", "no email consent", "no SMS consent", "whole timeline"} {
		if strings.Contains(preview, bad) {
			t.Errorf("the preview shows %q:\n%s", bad, preview)
		}
	}
	if n := bfRun(t, ctx, "counting the preview's messages", chromedp.Evaluate[int](`document.querySelectorAll("#preview .timeline li").length`)); n < 10 {
		t.Errorf("the preview's timeline has %d messages", n)
	}
	bfFollow(t, ctx, "enrolling", 200, chromedp.Click(chromedp.CSS("form.fd-form button.primary")))
	if flash := bfRun(t, ctx, "reading the flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "Zoë Adams") {
		t.Errorf("after enrolling the page says %q", flash)
	}
	loc := bfRun(t, ctx, "reading the location", chromedp.Location())
	m := regexp.MustCompile(`/patients/(\d+)#enrollment-(\d+)$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("enrolling landed on %s", loc)
	}
	pid, _ := strconv.ParseInt(m[1], 10, 64)
	eid, _ := strconv.ParseInt(m[2], 10, 64)
	p, err := app.DB.FindPatient(bg, app.Main.ID, pid)
	if err != nil || p.Name != "Zoë Adams" || p.Phone != "+14155550177" || p.TZ != "America/Denver" || !p.SMSConsent.Given() || !p.EmailConsent.Given() ||
		p.SMSConsent.Source != "web:rosa@glowskin.example" {
		t.Fatalf("stored patient %+v, %v", p, err)
	}

	// The dispatcher sends what was due ten minutes ago.
	wire.runUntil(t, app.Now().Add(time.Minute))
	sent := 0
	for _, msg := range app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, EnrollmentID: eid}) {
		if msg.Status == aftercare.StatusSent {
			sent++
		}
	}
	if sent != 3 {
		t.Fatalf("%d messages sent at the treatment, want the welcome text and email and the actives pause", sent)
	}

	// Find her again from the start page.
	bfOpen(t, ctx, app, "/", 200)
	bfDo(t, ctx, "typing the search", chromedp.SendKeys(chromedp.ID("home-q"), "adams"))
	bfFollow(t, ctx, "searching from the start page", 200, chromedp.Submit(chromedp.ID("home-q")))
	results := bfRun(t, ctx, "reading the results", chromedp.Text(chromedp.CSS("main table")))
	if !strings.Contains(results, "Zoë Adams") || !strings.Contains(results, "Ben Adams") {
		t.Fatalf("searching adams found:\n%s", results)
	}
	bfFollow(t, ctx, "opening the patient", 200, chromedp.Click(chromedp.CSS(fmt.Sprintf(`main table a[href="/patients/%d"]`, pid))))
	if h := bfRun(t, ctx, "reading the heading", chromedp.Text(chromedp.CSS("main h1"))); h != "Zoë Adams" {
		t.Fatalf("opened %q", h)
	}

	// Cancel: the first time the confirmation is dismissed and nothing
	// happens; the second time it is accepted.
	seen := bfAnswerDialogs(t, ctx, false, true)
	cancelButton := chromedp.CSS(fmt.Sprintf("#enrollment-%d form.cancel button", eid))
	bfDo(t, ctx, "cancelling, then changing one's mind", chromedp.Click(cancelButton))
	if msg := bfDialog(t, ctx, seen); !strings.Contains(msg, "Cancel this enrollment?") {
		t.Errorf("the confirmation says %q", msg)
	}
	if e, _ := app.DB.FindEnrollment(bg, app.Main.ID, eid); e.Status != aftercare.EnrollmentActive {
		t.Fatalf("a dismissed confirmation cancelled the enrollment")
	}
	if still := bfRun(t, ctx, "reading the location", chromedp.Location()); still != fmt.Sprintf("%s/patients/%d", app.URL, pid) {
		t.Fatalf("a dismissed confirmation left the page for %s", still)
	}
	bfFollow(t, ctx, "cancelling", 200, chromedp.Click(cancelButton))
	bfDialog(t, ctx, seen)

	// The store: the enrollment is cancelled, what was sent stays sent,
	// nothing is left to send.
	e, err := app.DB.FindEnrollment(bg, app.Main.ID, eid)
	if err != nil || e.Status != aftercare.EnrollmentCancelled {
		t.Fatalf("enrollment after cancelling: %+v %v", e, err)
	}
	stored := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, EnrollmentID: eid})
	var want []string
	cancelled := 0
	for _, msg := range stored {
		want = append(want, "st-"+string(msg.Status))
		switch msg.Status {
		case aftercare.StatusCancelled:
			cancelled++
		case aftercare.StatusSent:
		default:
			t.Errorf("message %d (%s %s) is %s after cancelling", msg.ID, msg.StepKey, msg.Channel, msg.Status)
		}
	}
	if cancelled == 0 {
		t.Fatal("no message was cancelled")
	}
	flash := bfRun(t, ctx, "reading the flash", chromedp.Text(chromedp.CSS(".flash")))
	if !strings.Contains(flash, fmt.Sprintf("%d pending messages will not be sent", cancelled)) {
		t.Errorf("the flash says %q; %d were cancelled", flash, cancelled)
	}
	// The page shows the same timeline, state by state, and no Cancel
	// button any more.
	enr := fmt.Sprintf("#enrollment-%d", eid)
	got := bfRun(t, ctx, "reading the timeline", chromedp.Evaluate[[]string](
		fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(li => Array.from(li.classList).find(c => c.startsWith("st-")))`, enr+" .timeline li.msg")))
	if !slices.Equal(got, want) {
		t.Errorf("the timeline shows\n%v\nthe store has\n%v", got, want)
	}
	badge := bfRun(t, ctx, "reading the enrollment's state", chromedp.Text(chromedp.CSS(enr+" .enr-head .badge")))
	if !strings.HasPrefix(badge, "cancelled") {
		t.Errorf("the enrollment is marked %q", badge)
	}
	if n := bfRun(t, ctx, "looking for the cancel button", chromedp.Evaluate[int](fmt.Sprintf(`document.querySelectorAll(%q).length`, enr+" form.cancel"))); n != 0 {
		t.Errorf("a cancelled enrollment still offers to cancel")
	}
	// The other Adams is untouched.
	for _, es := range fdEnrollments(t, app, app.Main) {
		if es.Enrollment.ID != eid && es.Enrollment.Status != aftercare.EnrollmentActive {
			t.Errorf("enrollment %d is %s", es.Enrollment.ID, es.Enrollment.Status)
		}
	}
}

// bfLogRow is one row of the delivery log as the browser shows it.
type bfLogRow struct {
	ID      int64  `json:"id"`
	State   string `json:"state"`
	Channel string `json:"channel"`
	Patient string `json:"patient"`
}
