package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/aftercare/aftercare"
)

// The front desk's pages, through the real server and a real SQLite file.
// The clock stands at Mon 23 Nov 2026 17:00 UTC: 09:00 in the main clinic's
// zone (America/Los_Angeles).

// fdForm is a valid enroll form; changes override its fields ("" deletes).
func fdForm(changes ...string) url.Values {
	v := url.Values{
		"name": {"Ana García"}, "phone": {"(415) 555-0142"}, "email": {"ana@example.com"},
		"tz": {"America/Los_Angeles"}, "lang": {"es"}, "protocol": {"microneedling"},
		"treated_at": {"2026-11-23T08:30"}, "sms_consent": {"yes"}, "email_consent": {"yes"},
	}
	return changed(v, changes...)
}

// changed sets the fields of form that changes name in pairs (field,
// value; an empty value deletes the field) and returns form.
func changed(form url.Values, changes ...string) url.Values {
	for i := 0; i+1 < len(changes); i += 2 {
		if changes[i+1] == "" {
			form.Del(changes[i])
		} else {
			form.Set(changes[i], changes[i+1])
		}
	}
	return form
}

// fdEnroll enrolls through the form and returns the patient's and the
// enrollment's ids.
func fdEnroll(t *testing.T, b *Browser, form url.Values) (patientID, enrollmentID int64) {
	t.Helper()
	resp := b.PostForm("/enroll", form)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /enroll: %d\n%s", resp.StatusCode, body)
	}
	m := regexp.MustCompile(`^/patients/(\d+)#enrollment-(\d+)$`).FindStringSubmatch(resp.Header.Get("Location"))
	if m == nil {
		t.Fatalf("POST /enroll redirected to %q", resp.Header.Get("Location"))
	}
	patientID, _ = strconv.ParseInt(m[1], 10, 64)
	enrollmentID, _ = strconv.ParseInt(m[2], 10, 64)
	return patientID, enrollmentID
}

// fdEnrollments lists a clinic's enrollments straight from the store.
func fdEnrollments(t *testing.T, app *testApp, c *aftercare.Clinic) []*aftercare.EnrollmentSummary {
	t.Helper()
	es, err := app.DB.ListEnrollments(context.Background(), aftercare.EnrollmentFilter{ClinicID: c.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// fdPatientCount counts a clinic's patients whose name contains q.
func fdPatientCount(t *testing.T, app *testApp, c *aftercare.Clinic, q string) int {
	t.Helper()
	ps, err := app.DB.SearchPatients(context.Background(), c.ID, q, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(ps)
}

// fdGet fetches a page and returns its status and body.
func fdGet(t *testing.T, b *Browser, path string) (int, string) {
	t.Helper()
	resp := b.Get(path)
	return resp.StatusCode, readBody(t, resp)
}

// fdUpload posts a file the way the import form does (multipart), with the
// session's CSRF token unless csrf is false.
func fdUpload(t *testing.T, b *Browser, filename, content string, csrf bool) *http.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrf {
		mw.WriteField("csrf", b.CSRF)
	}
	if filename != "" {
		fw, err := mw.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(content))
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.app.URL+"/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", b.app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// fdPostRaw posts a form exactly as given: no CSRF token is added.
func fdPostRaw(t *testing.T, b *Browser, path string, form url.Values, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", b.app.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.app.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return send(t, b.Client, req, header...)
}

// fdWaitImport waits for an import to finish (the progress endpoint's
// ?wait=1 answers at the end) and returns its final progress.
func fdWaitImport(t *testing.T, b *Browser, id string) map[string]any {
	t.Helper()
	resp := b.Get("/import/" + id + "/progress?wait=1")
	body := readBody(t, resp)
	var p map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &p) != nil {
		t.Fatalf("import progress: %d %s", resp.StatusCode, body)
	}
	if p["finished"] != true {
		t.Fatalf("import %s has not finished: %s", id, body)
	}
	return p
}

// fdStartImport uploads a CSV and returns the job's id.
func fdStartImport(t *testing.T, b *Browser, filename, content string) string {
	t.Helper()
	resp := fdUpload(t, b, filename, content, true)
	body := readBody(t, resp)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/import/") {
		t.Fatalf("POST /import: %d %q\n%s", resp.StatusCode, loc, body)
	}
	return strings.TrimPrefix(loc, "/import/")
}

func TestFrontDeskPagesOK(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	pid, eid := fdEnroll(t, b, fdForm())
	job := fdStartImport(t, b, "day.csv", "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\nBen Okafor,+14155550101,,America/Los_Angeles,en,microneedling,2026-11-23T08:00,yes,no\n")
	fdWaitImport(t, b, job)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"Enrolled today", "Ana García", "Ben Okafor", `href="/enroll"`, `action="/patients"`, "Microneedling aftercare"}},
		{"/enroll", []string{`name="name"`, `name="treated_at" type="datetime-local" value="2026-11-23T09:00"`, `value="America/Los_Angeles"`, `data-preview="/enroll/preview"`, "Treatment day", "whole timeline", "STOP"}},
		{"/enroll?patient=" + strconv.FormatInt(pid, 10), []string{`value="Ana García"`, "again"}},
		{"/patients", []string{`name="q"`}},
		{"/patients?q=garc", []string{"Ana García", fmt.Sprintf(`href="/patients/%d"`, pid)}},
		{"/patients?q=0142", []string{"Ana García"}},
		{fmt.Sprintf("/patients/%d", pid), []string{"Ana García", "415-555-0142", "ana@example.com", fmt.Sprintf(`id="enrollment-%d"`, eid),
			"PST", "by frontdesk@main.example in the web app", fmt.Sprintf(`action="/enrollments/%d/cancel"`, eid), fmt.Sprintf(`action="/enrollments/%d/reschedule"`, eid)}},
		{"/import", []string{`enctype="multipart/form-data"`, "treated_at", "/import/template.csv", "day.csv"}},
		{"/import/" + job, []string{`1</span> new enrollment stored`, `1</span> row read`, "Every row was imported"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			status, body := fdGet(t, b, tc.path)
			if status != 200 {
				t.Fatalf("GET %s: %d\n%s", tc.path, status, body)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tc.path, w)
				}
			}
		})
	}
	t.Run("template.csv", func(t *testing.T) {
		resp := b.Get("/import/template.csv")
		body := readBody(t, resp)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(body, "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n") {
			t.Fatalf("template: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		// The template itself imports cleanly.
		id := fdStartImport(t, b, "template.csv", body)
		fdWaitImport(t, b, id)
		if _, page := fdGet(t, b, "/import/"+id); !strings.Contains(page, "Every row was imported") {
			t.Errorf("the template did not import cleanly:\n%s", page)
		}
	})
	t.Run("manager", func(t *testing.T) {
		m := app.SignIn(app.Main, aftercare.RoleManager)
		if status, _ := fdGet(t, m, "/"); status != 200 {
			t.Fatalf("GET / as a manager: %d", status)
		}
	})
}

func TestHomeOlderLink(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	// 22 enrollments yesterday: the home page lists 20 of them and links
	// to the rest.
	app.Advance(-24 * time.Hour)
	for i := range 22 {
		fdEnroll(t, b, fdForm("name", fmt.Sprintf("Patient %02d", i), "phone", "", "sms_consent", "", "email", fmt.Sprintf("p%d@example.com", i), "treated_at", "2026-11-22T08:30"))
	}
	app.Advance(24 * time.Hour)
	fdEnroll(t, b, fdForm())
	_, body := fdGet(t, b, "/")
	if !strings.Contains(body, "Ana García") || !strings.Contains(body, "Patient 21") || strings.Contains(body, "Patient 01<") {
		t.Fatalf("first page:\n%s", body)
	}
	m := regexp.MustCompile(`href="(/\?before=\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no Older link")
	}
	_, body = fdGet(t, b, m[1])
	if !strings.Contains(body, "Patient 01<") || !strings.Contains(body, "Patient 00<") || strings.Contains(body, "Ana García") {
		t.Fatalf("second page:\n%s", body)
	}
	if status, _ := fdGet(t, b, "/?before=x"); status != http.StatusBadRequest {
		t.Errorf("GET /?before=x: %d", status)
	}
}

func TestEnrollErrorsBesideFields(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	for _, tc := range []struct {
		name   string
		form   url.Values
		fields []string // inputs that must be marked invalid, with their error
		want   string   // in the message
	}{
		{"ErrNameMissing", fdForm("name", ""), []string{"name"}, "name is required"},
		{"ErrPhoneInvalid", fdForm("phone", "12"), []string{"phone"}, "phone number"},
		{"ErrEmailInvalid", fdForm("email", "Ana <ana@example.com>"), []string{"email"}, "not an email address"},
		{"ErrNotReachable", fdForm("phone", "", "email", "", "sms_consent", "", "email_consent", ""), []string{"phone"}, "phone number or an email"},
		{"ErrTZUnknown", fdForm("tz", "Mars/Olympus"), []string{"tz"}, "unknown time zone"},
		{"ErrTreatedAtBad", fdForm("treated_at", "yesterday"), []string{"treated_at"}, "is not a time"},
		{"ErrTreatedAtYears", fdForm("treated_at", "2029-11-23T08:30"), []string{"treated_at"}, "more than a year"},
		{"ErrProtocolUnknown", fdForm("protocol", "botox"), []string{"protocol"}, "no protocol"},
		{"ErrLangNotInProtocol", fdForm("lang", "fr"), []string{"lang"}, "not written in"},
		{"ErrNoConsent", fdForm("sms_consent", "", "email_consent", ""), []string{"consent"}, "agreed to no messages"},
		{"ErrAllInPast", fdForm("treated_at", "2026-09-01T08:30"), []string{"treated_at"}, "was due before now"},
		{"ErrConsentWithoutPhone", fdForm("phone", ""), []string{"sms_consent"}, "no phone number"},
		{"ErrCheckboxValue", fdForm("sms_consent", "maybe"), []string{"sms_consent"}, "Tick the box"},
		{"ErrSeveral", fdForm("name", "", "phone", "12", "tz", "Nowhere"), []string{"name", "phone", "tz"}, "Fix these 3 things"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := b.PostForm("/enroll", tc.form)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400\n%s", resp.StatusCode, body)
			}
			for _, f := range tc.fields {
				// The error sits beside its input, which points at it.
				errP := regexp.MustCompile(`<p class="field-error" id="f-` + f + `-error">([^<]+)</p>`).FindStringSubmatch(body)
				if errP == nil {
					t.Errorf("no error beside %s", f)
					continue
				}
				if f != "consent" && !regexp.MustCompile(`id="f-`+f+`"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="f-`+f+`"|id="f-`+f+`"[^>]*aria-describedby="[^"]*f-`+f+`-error`).MatchString(body) {
					t.Errorf("input %s is not marked invalid", f)
				}
			}
			if !strings.Contains(strings.ToLower(body), strings.ToLower(tc.want)) {
				t.Errorf("page lacks %q", tc.want)
			}
			// The list of what to fix takes the focus, and it alone, so
			// that the page opens on it and a screen reader reads it first.
			if !strings.Contains(body, `id="f-problems" role="alert" tabindex="-1" autofocus>`) || strings.Count(body, "autofocus") != 1 {
				t.Errorf("the list of what to fix does not take the focus alone (%d autofocus)", strings.Count(body, "autofocus"))
			}
			// What was typed is kept.
			if n := tc.form.Get("name"); n != "" && !strings.Contains(body, `value="`+n+`"`) {
				t.Errorf("the name typed is gone")
			}
			if es := fdEnrollments(t, app, app.Main); len(es) != 0 {
				t.Errorf("a rejected form stored %d enrollments", len(es))
			}
			if n := fdPatientCount(t, app, app.Main, "a"); n != 0 {
				t.Errorf("a rejected form stored %d patients", n)
			}
		})
	}
}

func TestEnrollOK(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	pid, eid := fdEnroll(t, b, fdForm())
	ctx := context.Background()
	p, err := app.DB.FindPatient(ctx, app.Main.ID, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.Phone != "+14155550142" || p.Lang != "es" || p.SMSConsent.Source != "web:frontdesk@main.example" || !p.EmailConsent.Given() {
		t.Errorf("patient stored as %+v", p)
	}
	e, err := app.DB.FindEnrollment(ctx, app.Main.ID, eid)
	if err != nil {
		t.Fatal(err)
	}
	if e.Source != "web:frontdesk@main.example" || !e.TreatedAt.Equal(time.Date(2026, 11, 23, 16, 30, 0, 0, time.UTC)) {
		t.Errorf("enrollment stored as %+v", e)
	}
	// The patient page shows the flash and the timeline.
	status, body := fdGet(t, b, fmt.Sprintf("/patients/%d", pid))
	if status != 200 || !strings.Contains(body, `class="flash"`) || !strings.Contains(body, "is enrolled on Microneedling aftercare") {
		t.Fatalf("after enrolling: %d\n%s", status, body)
	}
	// The same form again stores nothing new and says so.
	if pid2, eid2 := fdEnroll(t, b, fdForm()); pid2 != pid || eid2 != eid {
		t.Errorf("enrolling again made patient %d enrollment %d", pid2, eid2)
	}
	if _, body := fdGet(t, b, fmt.Sprintf("/patients/%d", pid)); !strings.Contains(body, "already enrolled") {
		t.Errorf("enrolling twice was not reported")
	}
	if n := len(fdEnrollments(t, app, app.Main)); n != 1 {
		t.Errorf("%d enrollments, want 1", n)
	}
}

func TestEnrollPreview(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	// As the script sends it: the form's fields, the token in a header.
	preview := func(form url.Values) (int, string) {
		form.Del("csrf")
		resp := fdPostRaw(t, b, "/enroll/preview", form, "X-CSRF-Token", b.CSRF)
		return resp.StatusCode, readBody(t, resp)
	}
	t.Run("LocalTimes", func(t *testing.T) {
		// A patient in Tokyo treated at 10:00 there: the first message is
		// due at 10:00 JST, and later ones follow Tokyo's clock.
		status, body := preview(fdForm("tz", "Asia/Tokyo", "treated_at", "2026-11-24T10:00", "lang", "en"))
		if status != 200 {
			t.Fatalf("status %d\n%s", status, body)
		}
		for _, w := range []string{"10:00 JST", "Treatment day", "Tue 24 Nov 2026", "Asia/Tokyo", "Day 1", "will be sent", "Ana,"} {
			if !strings.Contains(body, w) {
				t.Errorf("preview lacks %q\n%s", w, body)
			}
		}
		if strings.Contains(body, "<html") || strings.Contains(body, "PST") {
			t.Errorf("the fragment has the layout or the clinic's zone:\n%s", body)
		}
	})
	for _, c := range []struct {
		name       string
		form       url.Values
		want, what string
	}{
		// Treated at 22:00: the immediate message waits for the window.
		{"QuietHours", fdForm("treated_at", "2026-11-24T22:00"), "quiet hours", "no quiet-hours note"},
		{"PastSkipped", fdForm("treated_at", "2026-11-10T15:00"), "skipped: its time has passed", "past messages not marked skipped"},
		{"NoConsent", fdForm("email_consent", ""), "not sent: no email consent", "emails without consent not marked"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, body := preview(c.form); !strings.Contains(body, c.want) {
				t.Errorf("%s:\n%s", c.what, body)
			}
		})
	}
	t.Run("Errors", func(t *testing.T) {
		status, body := preview(fdForm("tz", "Nowhere/Town", "protocol", "botox"))
		if status != http.StatusBadRequest || !strings.Contains(body, `href="#f-tz"`) || !strings.Contains(body, `href="#f-protocol"`) {
			t.Fatalf("status %d\n%s", status, body)
		}
	})
	if es := fdEnrollments(t, app, app.Main); len(es) != 0 {
		t.Errorf("previews stored %d enrollments", len(es))
	}
	t.Run("WithoutScript", func(t *testing.T) {
		f := fdForm("tz", "Europe/London", "treated_at", "2026-11-24T10:00")
		f.Set("action", "preview")
		resp := b.PostForm("/enroll", f)
		body := readBody(t, resp)
		if resp.StatusCode != 200 || !strings.Contains(body, "10:00 GMT") || !strings.Contains(body, `value="Ana García"`) {
			t.Fatalf("status %d\n%s", resp.StatusCode, body)
		}
		if es := fdEnrollments(t, app, app.Main); len(es) != 0 {
			t.Errorf("the preview button enrolled")
		}
	})
}

func TestImportPage(t *testing.T) {
	app := newTestApp(t)
	b := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	const header = "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n"
	csv := header +
		"Ana García,+14155550142,ana@example.com,America/Los_Angeles,es,microneedling,2026-11-23T08:30,yes,yes\n" +
		"Ben Okafor,555,,America/Los_Angeles,en,microneedling,2026-11-23T08:45,yes,no\n" +
		"Chloé Martin,,chloe@example.com,Europe/Paris,en,microneedling,2026-11-23T16:00,no,yes\n" +
		"Dev Patel,+14155550143,,America/Los_Angeles,en,microneedling,2026-11-23T09:00,perhaps,no\n"

	t.Run("RowErrors", func(t *testing.T) {
		id := fdStartImport(t, b, "monday.csv", csv)
		p := fdWaitImport(t, b, id)
		if p["done"] != float64(4) || p["total"] != float64(4) {
			t.Errorf("progress at the end: %v", p)
		}
		status, body := fdGet(t, b, "/import/"+id)
		if status != 200 {
			t.Fatalf("report: %d", status)
		}
		for _, w := range []string{
			`<td class="num">3</td><td><code>phone</code></td>`, `<td class="num">5</td><td><code>sms_consent</code></td>`,
			"2 new enrollments", "rows with errors, not stored", "Nothing from them was saved",
		} {
			if !strings.Contains(body, w) {
				t.Errorf("report lacks %q\n%s", w, body)
			}
		}
		if strings.Contains(body, "data-progress") {
			t.Errorf("a finished import still polls")
		}
		if n := len(fdEnrollments(t, app, app.Main)); n != 2 {
			t.Errorf("%d enrollments stored, want 2", n)
		}
		if fdPatientCount(t, app, app.Main, "Ben") != 0 || fdPatientCount(t, app, app.Main, "Dev") != 0 {
			t.Errorf("a bad row stored its patient")
		}
		// Enrolled with the import as the source, line by line.
		es := fdEnrollments(t, app, app.Main)
		if src := es[len(es)-1].Enrollment.Source; src != "import:monday.csv:2" {
			t.Errorf("source %q", src)
		}
	})
	t.Run("AgainStoresNothingNew", func(t *testing.T) {
		id := fdStartImport(t, b, "monday.csv", csv)
		fdWaitImport(t, b, id)
		_, body := fdGet(t, b, "/import/"+id)
		if !strings.Contains(body, "2 rows were already enrolled") || !strings.Contains(body, `<span class="stat">0</span> new enrollments stored`) {
			t.Errorf("second import:\n%s", body)
		}
		if n := len(fdEnrollments(t, app, app.Main)); n != 2 {
			t.Errorf("%d enrollments after importing again, want 2", n)
		}
	})
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"ErrNoFile", "", "", "Choose the CSV file"},
		{"ErrEmpty", "empty.csv", "", "is empty"},
		{"ErrHeader", "bad.csv", "name,phone\nAna,+14155550142\n", "it has no column email"},
		{"ErrUnknownColumn", "bad.csv", strings.TrimSuffix(header, "\n") + ",notes\n", "unknown column"},
		{"ErrNoRows", "bad.csv", header, "no patients"},
		{"ErrSpreadsheet", "day.xlsx", "PK\x03\x04rest", "spreadsheet"},
		{"ErrNotUTF8", "day.csv", header + "Chlo\xe9,+14155550142,,America/Los_Angeles,en,microneedling,2026-11-23T08:30,yes,no\n", "not UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := fdUpload(t, b, tc.file, tc.content, true)
			body := readBody(t, resp)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="f-file-error"`) || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, want 400 with %q\n%s", resp.StatusCode, tc.want, body)
			}
			if n := len(fdEnrollments(t, app, app.Main)); n != 2 {
				t.Errorf("%d enrollments, want 2", n)
			}
		})
	}
	t.Run("NotFound", func(t *testing.T) {
		for _, path := range []string{"/import/nope", "/import/nope/progress"} {
			if status, _ := fdGet(t, b, path); status != http.StatusNotFound {
				t.Errorf("GET %s: %d", path, status)
			}
		}
	})
}

// TestBrowserFrontDesk drives the front desk's pages in a real browser on
// a phone-sized screen and on a desktop: the live preview follows what is
// typed, enrolling lands on the patient's page, and no page scrolls
// sideways.
func TestBrowserFrontDesk(t *testing.T) {
	app := newTestApp(t)
	email, pw := app.User(app.Main, aftercare.RoleFrontDesk)
	b := app.SignInAs(email, pw)
	pid, _ := fdEnroll(t, b, fdForm())
	job := fdStartImport(t, b, "monday.csv", "name,phone,email,tz,lang,protocol,treated_at,sms_consent,email_consent\n"+
		"Ben Okafor,+14155550101,,America/Los_Angeles,en,microneedling,2026-11-23T08:00,yes,no\n"+
		"Chloé Martin,555,chloe.martin.with.a.rather.long.address@example.com,Europe/Paris,en,microneedling,2026-11-23T08:00,yes,no\n")
	fdWaitImport(t, b, job)
	for _, width := range []int{375, 1280} {
		t.Run(strconv.Itoa(width), func(t *testing.T) {
			ctx := newChrome(t, width, 900)
			signInBrowser(t, ctx, app, email, pw)
			for _, tc := range []struct{ name, path string }{
				{"today", "/"},
				{"enroll", "/enroll"},
				{"patients", "/patients?q=a"},
				{"patient", fmt.Sprintf("/patients/%d", pid)},
				{"import", "/import"},
				{"import-report", "/import/" + job},
			} {
				err := chromedp.Do(ctx, chromedp.Navigate(app.URL+tc.path), chromedp.WaitVisible(chromedp.CSS("main h1")))
				if err != nil {
					t.Fatalf("%s: %v", tc.path, err)
				}
				scroll, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
				if err != nil {
					t.Fatal(err)
				}
				inner, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.innerWidth`))
				if err != nil {
					t.Fatal(err)
				}
				if scroll > inner {
					t.Errorf("%s is %d px wide in a %d px window: the page scrolls sideways", tc.path, scroll, inner)
				}
				// (docs screenshots come from TestBrowserScreenshots)
			}

			// The live preview follows the form, then enrolling lands on
			// the patient's page.
			err := chromedp.Do(ctx,
				chromedp.Navigate(app.URL+"/enroll"),
				chromedp.WaitVisible(chromedp.ID("f-name")),
				chromedp.SendKeys(chromedp.ID("f-name"), "Zoë Adams"),
				chromedp.SendKeys(chromedp.ID("f-phone"), "415 555 0177"),
				chromedp.Click(chromedp.ID("f-sms_consent")),
				chromedp.Poll[chromedp.Void](`document.getElementById("preview").textContent.includes("Hi Zoë,")`, chromedp.WithPollingMutation()),
			)
			if err != nil {
				t.Fatalf("the preview did not follow the name typed: %v", err)
			}
			// (docs screenshots come from TestBrowserScreenshots)
			err = chromedp.Do(ctx,
				chromedp.Click(chromedp.CSS(`form.fd-form button.primary`)),
				chromedp.WaitVisible(chromedp.CSS(".flash")),
			)
			if err != nil {
				t.Fatalf("enrolling in the browser: %v", err)
			}
			flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
			if err != nil || !strings.Contains(flash, "Zoë Adams") {
				t.Fatalf("enrolling in the browser: %v %q", err, flash)
			}
			// (docs screenshots come from TestBrowserScreenshots)
		})
	}
}
