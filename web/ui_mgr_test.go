package web_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/web"
)

// The practice manager's and admin's pages: each route against each role,
// tenant isolation route by route, the log's pages and export, protocol
// editing, users, tokens and settings.

// mgrSeed enrolls n patients of clinic c on microneedling as if three
// weeks ago, then plays the dispatcher hour by hour up to the test clock:
// each message claimed when due gets the next outcome of a cycle
// (delivered, sent, failed, undelivered, unknown). The rest of the
// protocol stays pending. Call it before signing in: it moves the clock.
func mgrSeed(t *testing.T, app *testApp, c *aftercare.Clinic, n int) []*aftercare.Patient {
	t.Helper()
	ctx := context.Background()
	const back = 21 * 24 * time.Hour
	app.Advance(-back)
	defer app.Advance(back)
	var patients []*aftercare.Patient
	for i := range n {
		treated := app.Now().Add(time.Hour + time.Duration(i)*7*time.Minute).UTC().Format(time.RFC3339)
		res, err := app.Service.Enroll(ctx, c, scheduler.EnrollRequest{
			Name: fmt.Sprintf("Pat %s %d", c.Slug, i), Phone: fmt.Sprintf("+1415555%04d", 1000+i), Email: fmt.Sprintf("pat%d@%s.example", i, c.Slug),
			TZ: "America/Los_Angeles", Lang: "en", Protocol: "microneedling", TreatedAt: treated,
			SMSConsent: true, EmailConsent: true, Source: "test"})
		if err != nil {
			t.Fatal(err)
		}
		patients = append(patients, res.Patient)
	}
	cycle := []aftercare.Status{aftercare.StatusDelivered, aftercare.StatusSent, aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown}
	k := 0
	for at := app.Now(); at.Before(app.Now().Add(back)); at = at.Add(time.Hour) {
		claimed, err := app.DB.ClaimDue(ctx, at, "seed", 100_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, cl := range claimed {
			m := cl.Message
			st := cycle[k%len(cycle)]
			k++
			sid := fmt.Sprintf("SM%06d", m.ID)
			o := &aftercare.Outcome{MessageID: m.ID, ClinicID: m.ClinicID, ClaimedBy: "seed", Status: st, Sender: "twilio",
				Attempt: aftercare.Attempt{Number: m.Attempts, At: at, Channel: m.Channel, Sender: "twilio", Outcome: st, Latency: 120 * time.Millisecond}}
			switch st {
			case aftercare.StatusDelivered, aftercare.StatusSent, aftercare.StatusUndelivered:
				o.Status, o.Attempt.Outcome = aftercare.StatusSent, aftercare.StatusSent
				o.SentAt, o.ProviderID, o.ProviderState = at, sid, "queued"
				o.Attempt.ProviderID, o.Attempt.ProviderStatus = sid, "queued"
			case aftercare.StatusFailed:
				o.ErrorCode, o.Error = "21211", "The 'To' number is not a valid phone number."
				o.Attempt.ErrorCode, o.Attempt.Error = o.ErrorCode, o.Error
			}
			if err := app.DB.RecordOutcome(ctx, o); err != nil {
				t.Fatal(err)
			}
			if st == aftercare.StatusDelivered || st == aftercare.StatusUndelivered {
				code := ""
				if st == aftercare.StatusUndelivered {
					code = "30003"
				}
				if _, err := app.DB.ApplyProviderStatus(ctx, sid, st, code, at.Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return patients
}

// mgrCount counts the messages in state st.
func mgrCount(ms []*aftercare.Message, st aftercare.Status) int {
	n := 0
	for _, m := range ms {
		if m.Status == st {
			n++
		}
	}
	return n
}

// mgrGet fetches a page and returns its status and body.
func mgrGet(b *Browser, path string) (int, string) {
	b.t.Helper()
	resp := b.Get(path)
	return resp.StatusCode, readBody(b.t, resp)
}

// mgrPage gets path and returns its body, failing the test unless it
// answers 200 with each of wants in it.
func mgrPage(t *testing.T, b *Browser, path string, wants ...string) string {
	t.Helper()
	code, body := mgrGet(b, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, code, body)
	}
	for _, want := range wants {
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: the page lacks %q", path, want)
		}
	}
	return body
}

// mgrPost submits a form and returns its status, body and Location.
func mgrPost(b *Browser, path string, form url.Values) (int, string, string) {
	b.t.Helper()
	resp := b.PostForm(path, form)
	return resp.StatusCode, readBody(b.t, resp), resp.Header.Get("Location")
}

var (
	mgrRowRE  = regexp.MustCompile(`href="/log/(\d+)\?at=([^"]+)"`)
	mgrNextRE = regexp.MustCompile(`href="([^"]+)" rel="next"`)
)

// mgrIDs returns the message ids of a log or attention page's rows, in order.
func mgrIDs(body string) []int64 {
	var ids []int64
	for _, m := range mgrRowRE.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// mgrBeside reports whether a form's input with that id is marked invalid
// and has an error (containing msg) after it, before the next field's label.
func mgrBeside(body, id, msg string) bool {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return false
	}
	rest := body[i:]
	if end := strings.IndexByte(rest, '>'); end < 0 || !strings.Contains(rest[:end], `aria-invalid="true"`) {
		return false
	}
	if next := strings.Index(rest, "<label "); next > 0 {
		rest = rest[:next]
	}
	j := strings.Index(rest, `<p class="field-error" role="alert">`)
	return j >= 0 && strings.Contains(rest[j:], html.EscapeString(msg))
}

// mgrLink is the page of m as the log links it.
func mgrLink(m *aftercare.Message) string {
	return fmt.Sprintf("/log/%d?at=%s", m.ID, url.QueryEscape(m.SendAt.UTC().Format("2006-01-02T15:04:05.000Z")))
}

// TestManagerRoutesByRole: every manager page answers the manager and the
// admin and refuses the front desk; every admin page refuses the manager;
// refused forms change nothing.
func TestManagerRoutesByRole(t *testing.T) {
	app := newTestApp(t)
	mgrSeed(t, app, app.Main, 2)
	msgs := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID})
	fd := app.SignIn(app.Main, aftercare.RoleFrontDesk)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	admin := app.SignIn(app.Main, aftercare.RoleAdmin)

	managerPages := []string{"/log", "/log?state=failed&channel=sms", "/log.csv", mgrLink(msgs[0]), "/stats", "/stats?days=7",
		"/attention", "/protocols", "/protocols/microneedling", "/protocols/microneedling/edit", "/protocols/new", "/users"}
	adminPages := []string{"/tokens", "/settings"}
	for _, path := range managerPages {
		t.Run("GET "+path, func(t *testing.T) {
			if code, _ := mgrGet(fd, path); code != http.StatusForbidden {
				t.Errorf("front desk: %d, want 403", code)
			}
			for _, b := range []*Browser{mgr, admin} {
				if code, body := mgrGet(b, path); code != http.StatusOK {
					t.Errorf("%d, want 200\n%s", code, body)
				}
			}
		})
	}
	for _, path := range adminPages {
		t.Run("GET "+path, func(t *testing.T) {
			for _, b := range []*Browser{fd, mgr} {
				if code, _ := mgrGet(b, path); code != http.StatusForbidden {
					t.Errorf("%d, want 403", code)
				}
			}
			if code, body := mgrGet(admin, path); code != http.StatusOK {
				t.Errorf("admin: %d, want 200\n%s", code, body)
			}
		})
	}

	// Forms a role may not mgrPost: refused, and nothing changes.
	ctx := context.Background()
	before, _ := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling", 0)
	users, _ := app.DB.ListUsers(ctx, app.Main.ID)
	for _, c := range []struct {
		b    *Browser
		path string
		form url.Values
	}{
		{fd, "/protocols/microneedling/edit", url.Values{"yaml": {before.YAML + "\n# changed\n"}}},
		{fd, "/protocols", url.Values{"yaml": {strings.Replace(before.YAML, "slug: microneedling", "slug: copy", 1)}}},
		{mgr, "/users", url.Values{"email": {"new@main.example"}, "name": {"New"}, "role": {"admin"}}},
		{mgr, fmt.Sprintf("/users/%d", users[0].ID), url.Values{"action": {"disable"}}},
		{mgr, "/tokens", url.Values{"name": {"sneaky"}, "role": {"admin"}}},
		{mgr, "/settings", url.Values{"name": {"Renamed"}, "tz": {"UTC"}, "window_start": {"08:00"}, "window_end": {"21:00"}, "daily_cap": {"3"}, "country": {"US"}}},
	} {
		if code, _, _ := mgrPost(c.b, c.path, c.form); code != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", c.path, code)
		}
	}
	after, _ := app.DB.FindProtocol(ctx, app.Main.ID, "microneedling", 0)
	if after.Version != before.Version {
		t.Errorf("a refused edit stored version %d", after.Version)
	}
	if _, err := app.DB.FindProtocol(ctx, app.Main.ID, "copy", 0); aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
		t.Errorf("a refused new protocol was stored: %v", err)
	}
	if got, _ := app.DB.ListUsers(ctx, app.Main.ID); len(got) != len(users) || !got[0].Active() {
		t.Errorf("a refused user form changed the users")
	}
	if toks, _ := app.DB.ListTokens(ctx, app.Main.ID); len(toks) != 0 {
		t.Errorf("a refused token form made %d tokens", len(toks))
	}
	if c, _ := app.DB.FindClinic(ctx, "main"); c.Name != app.Main.Name {
		t.Errorf("a refused settings form renamed the clinic to %q", c.Name)
	}
	// Signed out: sent to sign in, not shown the page.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(app.URL + "/log")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /log signed out: %d, want 303 to sign in", resp.StatusCode)
	}
}

// TestManagerTenantIsolation: a user of another clinic, even its admin,
// gets 404 for this clinic's messages, protocols, users and tokens, sees
// none of its rows in lists and exports, and changes nothing.
func TestManagerTenantIsolation(t *testing.T) {
	app := newTestApp(t)
	ctx := context.Background()
	mainPatients := mgrSeed(t, app, app.Main, 2)
	mgrSeed(t, app, app.Other, 1)
	mainMsgs := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID})
	otherMsgs := app.messages(t, aftercare.MessageFilter{ClinicID: app.Other.ID})
	if _, _, err := app.Service.ImportProtocol(ctx, app.Main.ID, "peel.yaml", []byte(mgrPeelYAML)); err != nil {
		t.Fatal(err)
	}
	mainAdmin := app.SignIn(app.Main, aftercare.RoleAdmin)
	_, tok, err := app.Accounts.CreateToken(ctx, app.Main.ID, "Main booking feed", aftercare.RoleFrontDesk, "test")
	if err != nil {
		t.Fatal(err)
	}
	mainUsers, _ := app.DB.ListUsers(ctx, app.Main.ID)
	other := app.SignIn(app.Other, aftercare.RoleAdmin)

	for _, path := range []string{mgrLink(mainMsgs[0]), mgrLink(mainMsgs[len(mainMsgs)-1]), "/protocols/peel", "/protocols/peel?version=1", "/protocols/peel/edit"} {
		if code, body := mgrGet(other, path); code != http.StatusNotFound {
			t.Errorf("GET %s as the other clinic: %d, want 404\n%s", path, code, body)
		}
	}
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/protocols/peel/edit", url.Values{"yaml": {mgrPeelYAML + "# theirs\n"}}},
		{fmt.Sprintf("/users/%d", mainUsers[0].ID), url.Values{"action": {"disable"}}},
		{fmt.Sprintf("/users/%d", mainUsers[0].ID), url.Values{"action": {"role"}, "role": {"frontdesk"}}},
		{fmt.Sprintf("/users/%d", mainUsers[0].ID), url.Values{"action": {"link"}}},
		{fmt.Sprintf("/tokens/%d/revoke", tok.ID), url.Values{}},
	} {
		if code, body, _ := mgrPost(other, c.path, c.form); code != http.StatusNotFound {
			t.Errorf("POST %s as the other clinic: %d, want 404\n%s", c.path, code, body)
		}
	}
	if p, _ := app.DB.FindProtocol(ctx, app.Main.ID, "peel", 0); p.Version != 1 {
		t.Errorf("the other clinic stored version %d of main's protocol", p.Version)
	}
	if u, _ := app.DB.FindUser(ctx, app.Main.ID, mainUsers[0].ID); !u.Active() || u.Role != aftercare.RoleAdmin {
		t.Errorf("the other clinic changed main's admin: %+v", u)
	}
	if toks, _ := app.DB.ListTokens(ctx, app.Main.ID); !toks[0].RevokedAt.IsZero() {
		t.Error("the other clinic revoked main's token")
	}
	// A filter naming main's patient finds nothing to show.
	code, body := mgrGet(other, fmt.Sprintf("/log?since=&until=&patient=%d", mainPatients[0].ID))
	if code != http.StatusBadRequest || !strings.Contains(body, "no patient") || len(mgrIDs(body)) != 0 {
		t.Errorf("the other clinic filtering on main's patient: %d\n%s", code, body)
	}
	// Lists and exports hold only the other clinic's rows.
	mine := map[int64]bool{}
	for _, m := range otherMsgs {
		mine[m.ID] = true
	}
	for _, path := range []string{"/log?since=&until=", "/attention?days=90"} {
		_, body := mgrGet(other, path)
		for _, id := range mgrIDs(body) {
			if !mine[id] {
				t.Errorf("%s as the other clinic lists message %d of main", path, id)
			}
		}
	}
	recs := mgrCSV(t, other, "/log.csv?since=&until=")
	if len(recs)-1 != len(otherMsgs) {
		t.Errorf("the other clinic's export has %d rows, want its %d", len(recs)-1, len(otherMsgs))
	}
	for _, r := range recs[1:] {
		if id, _ := strconv.ParseInt(r[0], 10, 64); !mine[id] {
			t.Errorf("the other clinic's export has main's message %d", id)
		}
	}
	_, body = mgrGet(other, "/users")
	if strings.Contains(body, "@main.example") {
		t.Error("the other clinic's user list shows main's users")
	}
	_, body = mgrGet(other, "/tokens")
	if strings.Contains(body, "Main booking feed") {
		t.Error("the other clinic's token list shows main's token")
	}
	_, body = mgrGet(other, "/protocols")
	if strings.Contains(body, "/protocols/peel") {
		t.Error("the other clinic's protocol list shows main's protocol")
	}
	// Settings change the signed-in clinic only.
	code, _, _ = mgrPost(other, "/settings", mgrSettingsForm(app.Other, "tz", "Europe/London"))
	if code != http.StatusSeeOther {
		t.Fatalf("other's settings: %d", code)
	}
	if c, _ := app.DB.FindClinic(ctx, "main"); c.TZ != app.Main.TZ {
		t.Errorf("the other clinic's settings changed main's zone to %s", c.TZ)
	}
	// Main still sees its own.
	if code, _ := mgrGet(mainAdmin, mgrLink(mainMsgs[0])); code != http.StatusOK {
		t.Errorf("main's own message: %d", code)
	}
}

const mgrPeelYAML = `slug: peel
name: Chemical peel aftercare
languages: [en]
steps:
  - key: sunscreen
    channels: [sms]
    after: 2h
    text:
      en:
        sms: >-
          {{.ClinicName}}: Hi {{.FirstName}}, wear sunscreen every morning this
          week. Questions? Call {{.ClinicPhone}}.
`

// mgrCSV downloads an export and parses it.
func mgrCSV(t *testing.T, b *Browser, path string) [][]string {
	t.Helper()
	resp := b.Get(path)
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, ".csv") {
		t.Errorf("GET %s: Content-Disposition %q", path, cd)
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return recs
}

// TestLogPagination: following "Next page" from the first page visits every
// message the filter selects exactly once, in (due time, id) order, and the
// links keep the filter.
func TestLogPagination(t *testing.T) {
	app := newTestApp(t)
	mgrSeed(t, app, app.Main, 10)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	for _, c := range []struct {
		name, query string
		filter      aftercare.MessageFilter
	}{
		{"Everything", "since=&until=", aftercare.MessageFilter{}},
		{"SMSNotPending", "since=&until=&channel=sms&state=delivered&state=sent&state=failed&state=undelivered&state=unknown&state=expired&state=skipped",
			aftercare.MessageFilter{Channel: aftercare.SMS, Statuses: []aftercare.Status{"delivered", "sent", "failed", "undelivered", "unknown", "expired", "skipped"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.filter.ClinicID = app.Main.ID
			want := app.messages(t, c.filter)
			if len(want) <= 2*50 {
				t.Fatalf("only %d messages: the test needs three pages", len(want))
			}
			var got []int64
			seen := map[int64]bool{}
			path, pages := "/log?"+c.query, 0
			for path != "" {
				body := mgrPage(t, mgr, path)
				pages++
				ids := mgrIDs(body)
				if len(ids) > 50 {
					t.Fatalf("page %d has %d rows", pages, len(ids))
				}
				for _, id := range ids {
					if seen[id] {
						t.Fatalf("message %d shown twice (page %d)", id, pages)
					}
					seen[id] = true
				}
				got = append(got, ids...)
				path = ""
				if m := mgrNextRE.FindStringSubmatch(body); m != nil {
					path = html.UnescapeString(m[1])
					if c.filter.Channel != "" && !strings.Contains(path, "channel=sms") {
						t.Fatalf("the next link lost the filter: %s", path)
					}
					if strings.Contains(path, "offset") || strings.Contains(path, "page=") {
						t.Fatalf("the next link is not a cursor: %s", path)
					}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("pages showed %d messages, the filter selects %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i].ID {
					t.Fatalf("row %d is message %d, want %d", i, got[i], want[i].ID)
				}
			}
			if wantPages := (len(want) + 49) / 50; pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}
	// A damaged cursor is an error, not a silent first page.
	if code, _ := mgrGet(mgr, "/log?since=&until=&after=bm9wZQ"); code != http.StatusBadRequest {
		t.Errorf("damaged cursor: %d, want 400", code)
	}
}

// TestLogFilters: the default range, dates in the clinic's zone, a search
// for a patient, and each problem shown beside its field.
func TestLogFilters(t *testing.T) {
	app := newTestApp(t)
	patients := mgrSeed(t, app, app.Main, 3)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)

	// A first visit shows the last seven local days, through today.
	code, body := mgrGet(mgr, "/log")
	if code != http.StatusOK || !strings.Contains(body, `value="2026-11-17"`) || !strings.Contains(body, `value="2026-11-23"`) {
		t.Errorf("first visit: %d, want the range 2026-11-17..2026-11-23 in the form\n%s", code, body)
	}
	loc, _ := time.LoadLocation(app.Main.TZ)
	theirs := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, PatientID: patients[1].ID})
	d := theirs[len(theirs)/2].SendAt.In(loc)
	since := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	until := since.AddDate(0, 0, 2)
	want := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Since: since, Until: until, PatientID: patients[1].ID})
	_, body = mgrGet(mgr, fmt.Sprintf("/log?since=%s&until=%s&patient=%d", since.Format(time.DateOnly), since.AddDate(0, 0, 1).Format(time.DateOnly), patients[1].ID))
	if ids := mgrIDs(body); len(ids) != len(want) || len(ids) == 0 || len(ids) == len(theirs) {
		t.Errorf("two local days of one patient: %d rows, want %d (of %d)", len(ids), len(want), len(theirs))
	}
	if !strings.Contains(body, patients[1].Name) {
		t.Errorf("the rows do not name the patient %q", patients[1].Name)
	}
	// The same day twice is that one day, as in the CLI and the API.
	want = app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Since: since, Until: since.AddDate(0, 0, 1), PatientID: patients[1].ID})
	_, body = mgrGet(mgr, fmt.Sprintf("/log?since=%s&until=%[1]s&patient=%d", since.Format(time.DateOnly), patients[1].ID))
	if ids := mgrIDs(body); len(ids) != len(want) || len(ids) == 0 {
		t.Errorf("one local day of one patient: %d rows, want %d", len(ids), len(want))
	}
	// A search that matches one patient filters on them.
	_, body = mgrGet(mgr, "/log?since=&until=&patient="+url.QueryEscape(patients[2].Name))
	all := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, PatientID: patients[2].ID})
	if ids := mgrIDs(body); len(ids) != min(50, len(all)) {
		t.Errorf("search for one patient: %d rows, want %d", len(ids), min(50, len(all)))
	}
	// Digits that are not an id are a phone.
	_, body = mgrGet(mgr, "/log?since=&until=&patient="+url.QueryEscape("(415) 555-1002"))
	if ids := mgrIDs(body); len(ids) != min(50, len(all)) {
		t.Errorf("search by phone: %d rows, want %d", len(ids), min(50, len(all)))
	}
	_, body = mgrGet(mgr, "/log?since=&until=&patient=4155551002")
	if ids := mgrIDs(body); len(ids) != min(50, len(all)) {
		t.Errorf("search by phone digits: %d rows, want %d", len(ids), min(50, len(all)))
	}
	// A search that matches several offers them.
	code, body = mgrGet(mgr, "/log?since=&until=&patient=Pat+main")
	if code != http.StatusBadRequest || !strings.Contains(body, "Which patient?") || !strings.Contains(body, patients[0].Name) {
		t.Errorf("a search matching three: %d\n%s", code, body)
	}
	for _, c := range []struct{ name, query, field string }{
		{"ErrSince", "since=yesterday&until=", "since"},
		{"ErrUntilBeforeSince", "since=2026-11-20&until=2026-11-10", "until"},
		{"ErrState", "since=&until=&state=lost", "state"},
		{"ErrChannel", "since=&until=&channel=fax", "channel"},
		{"ErrProtocol", "since=&until=&protocol=nope", "protocol"},
		{"ErrPatient", "since=&until=&patient=999999", "patient"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := mgrGet(mgr, "/log?"+c.query)
			if code != http.StatusBadRequest {
				t.Errorf("%d, want 400", code)
			}
			if c.field != "state" && !mgrBeside(body, c.field, "") {
				t.Errorf("the %s field is not marked invalid with its error beside it", c.field)
			}
			if !strings.Contains(body, `class="field-error"`) || len(mgrIDs(body)) != 0 {
				t.Errorf("no error beside the field, or rows shown anyway\n%s", body)
			}
			if code, _ := mgrGet(mgr, "/log.csv?"+c.query); code != http.StatusBadRequest {
				t.Errorf("export with the same filter: %d, want 400", code)
			}
		})
	}
}

// TestLogCSV: the export holds exactly the messages the filter selects (all
// of them, not one page), with the columns of `aftercare log --csv`.
func TestLogCSV(t *testing.T) {
	app := newTestApp(t)
	mgrSeed(t, app, app.Main, 80) // more rows than one export batch
	mgrSeed(t, app, app.Other, 1)
	enrollEvening(t, app) // messages with notes
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	loc, _ := time.LoadLocation(app.Main.TZ)
	for _, c := range []struct {
		name, query string
		filter      aftercare.MessageFilter
	}{
		{"Everything", "since=&until=", aftercare.MessageFilter{}},
		{"FailedSMS", "since=&until=&state=failed&state=undelivered&channel=sms", aftercare.MessageFilter{Channel: aftercare.SMS, Statuses: []aftercare.Status{"failed", "undelivered"}}},
		{"DaysAndProtocol", "since=2026-11-22&until=2026-11-24&protocol=microneedling", aftercare.MessageFilter{ProtocolSlug: "microneedling",
			Since: time.Date(2026, 11, 22, 0, 0, 0, 0, loc), Until: time.Date(2026, 11, 25, 0, 0, 0, 0, loc)}},
		{"CursorIgnored", "since=&until=&state=pending&after=" + url.QueryEscape("MTc5NTQ1NjAwMDAwMC4x"), aftercare.MessageFilter{Statuses: []aftercare.Status{"pending"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.filter.ClinicID = app.Main.ID
			want := app.messages(t, c.filter)
			recs := mgrCSV(t, mgr, "/log.csv?"+c.query)
			if !slices.Equal(recs[0], web.MessageCSVHeader) {
				t.Fatalf("header %v", recs[0])
			}
			if len(recs)-1 != len(want) {
				t.Fatalf("%d rows, the filter selects %d", len(recs)-1, len(want))
			}
			if c.name == "Everything" && len(want) <= 1000 {
				t.Fatalf("only %d messages: the export is not read in several batches", len(want))
			}
			notes := 0
			for i, m := range want {
				pt, err := app.DB.FindPatient(context.Background(), app.Main.ID, m.PatientID)
				if err != nil {
					t.Fatal(err)
				}
				r := recs[i+1]
				if !slices.Equal(r, web.MessageCSVRecord(m, pt)) {
					t.Fatalf("row %d = %v, want message %d %s %s", i, r, m.ID, m.Status, m.SendAt)
				}
				// The columns a reader needs without looking anything up.
				if r[3] != pt.Name || r[9] != m.SendAt.In(loc).Format(time.RFC3339) || r[10] != "America/Los_Angeles" || r[17] != m.Note {
					t.Fatalf("row %d = %v: want the name %q, the local time and zone, and the note %q", i, r, pt.Name, m.Note)
				}
				if m.Note != "" {
					notes++
				}
			}
			if c.name == "Everything" && notes == 0 {
				t.Errorf("no row has a note: the note column is not checked")
			}
		})
	}
	// On the page, a note is under Note, never under Error.
	_, body := mgrGet(mgr, "/log?since=&until=&patient=Eve+Ning")
	eve := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Statuses: []aftercare.Status{aftercare.StatusSkipped}, Since: app.Now().Add(-4 * 24 * time.Hour)})
	if len(eve) == 0 || eve[0].Note == "" {
		t.Fatalf("Eve's skipped messages have no note: %v", eve)
	}
	if note := `<td class="note">` + html.EscapeString(eve[0].Note) + `</td>`; !strings.Contains(body, `<th scope="col">Note</th>`) || !strings.Contains(body, note) ||
		strings.Contains(body, `<td class="reason">`+html.EscapeString(eve[0].Note)) {
		t.Errorf("the log does not show %q under Note\n%s", note, body)
	}
	// The page links to the export with the same filter.
	_, body = mgrGet(mgr, "/log?since=&until=&channel=email&state=sent")
	if !regexp.MustCompile(`href="/log\.csv\?[^"]*channel=email[^"]*state=sent`).MatchString(body) {
		t.Errorf("no export link with the filter\n%s", body)
	}
}

// TestMessagePage: one message with its attempts; a wrong or missing send
// time is 404.
func TestMessagePage(t *testing.T) {
	app := newTestApp(t)
	mgrSeed(t, app, app.Main, 1)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	failed := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Statuses: []aftercare.Status{aftercare.StatusFailed}})
	if len(failed) == 0 {
		t.Fatal("no failed message seeded")
	}
	m := failed[0]
	mgrPage(t, mgr, mgrLink(m), "21211", "not a valid phone number", "Attempts", "failed", html.EscapeString(m.Body[:20]), fmt.Sprintf("/patients/%d", m.PatientID))
	for _, path := range []string{fmt.Sprintf("/log/%d", m.ID), fmt.Sprintf("/log/%d?at=2020-01-01T00:00:00.000Z", m.ID), "/log/0", "/log/abc", fmt.Sprintf("/log/%d?at=%s", m.ID+100000, url.QueryEscape(m.SendAt.UTC().Format("2006-01-02T15:04:05.000Z")))} {
		if code, _ := mgrGet(mgr, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

// TestStatsPage: the chart is inline SVG with a title, a description, a
// legend and a table of the same numbers.
func TestStatsPage(t *testing.T) {
	app := newTestApp(t)
	mgrSeed(t, app, app.Main, 3)
	// A treatment three evenings ago: its messages that evening (skipped,
	// enrolled late) are the next day in UTC.
	enrollEvening(t, app)
	loc, _ := time.LoadLocation(app.Main.TZ)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	body := mgrPage(t, mgr, "/stats", `<svg`, `role="img"`, `<title id="svg-title">`, `<desc id="svg-desc">`, `class="legend"`, `<table>`, `class="s-delivered"`, `class="s-failed"`)
	// The totals are the store's: messages due in the last 30 days of the
	// clinic's zone, each on its local day (the seed's evening texts are
	// the next day in UTC).
	today := app.Now().In(loc).Format(time.DateOnly)
	first := app.Now().In(loc).AddDate(0, 0, -29).Format(time.DateOnly)
	since, until, err := aftercare.DayRange(first, today, loc)
	if err != nil {
		t.Fatal(err)
	}
	ms := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Since: since, Until: until})
	delivered := mgrCount(ms, aftercare.StatusDelivered)
	failed := mgrCount(ms, aftercare.StatusFailed) + mgrCount(ms, aftercare.StatusUndelivered) + mgrCount(ms, aftercare.StatusUnknown) + mgrCount(ms, aftercare.StatusExpired)
	if delivered == 0 || failed == 0 {
		t.Fatalf("seed has %d delivered and %d failed in range", delivered, failed)
	}
	if !strings.Contains(body, fmt.Sprintf(`<div class="stat ok-ink">%d</div>`, delivered)) || !strings.Contains(body, fmt.Sprintf(`<div class="stat bad-ink">%d</div>`, failed)) {
		t.Errorf("totals are not %d delivered and %d failed", delivered, failed)
	}
	// Each row of the table: delivered, sent, failed, waiting, other per
	// local day.
	want := map[string][5]int{}
	for _, m := range ms {
		day := m.SendAt.In(loc).Format("Mon 2 Jan")
		c := want[day]
		switch m.Status {
		case aftercare.StatusDelivered:
			c[0]++
		case aftercare.StatusSent:
			c[1]++
		case aftercare.StatusFailed, aftercare.StatusUndelivered, aftercare.StatusUnknown, aftercare.StatusExpired:
			c[2]++
		case aftercare.StatusPending, aftercare.StatusSending:
			c[3]++
		default:
			c[4]++
		}
		want[day] = c
	}
	rows := regexp.MustCompile(`<tr><td class="nowrap">([^<]+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>\s*<td class="num">(\d+)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>`).FindAllStringSubmatch(body, -1)
	if len(rows) != 30 {
		t.Fatalf("%d rows in the table, want 30", len(rows))
	}
	for _, r := range rows {
		w := want[r[1]]
		if got := strings.Join(r[2:], "/"); got != fmt.Sprintf("%d/%d/%d/%d/%d", w[0], w[1], w[2], w[3], w[4]) {
			t.Errorf("%s: delivered/sent/failed/waiting/other %s, want %v", r[1], got, w)
		}
	}
}

// enrollEvening enrolls Eve Ning, treated at 19:40 three days ago in the
// clinic's zone: her messages that evening are the next day in UTC, and
// are skipped with a note saying why.
func enrollEvening(t *testing.T, app *testApp) {
	t.Helper()
	loc, _ := time.LoadLocation(app.Main.TZ)
	d := app.Now().In(loc).AddDate(0, 0, -3)
	evening := time.Date(d.Year(), d.Month(), d.Day(), 19, 40, 0, 0, loc)
	if _, err := app.Service.Enroll(context.Background(), app.Main, scheduler.EnrollRequest{Name: "Eve Ning", Phone: "+14155559999",
		TZ: app.Main.TZ, Lang: "en", Protocol: "microneedling", TreatedAt: evening.Format(time.RFC3339), SMSConsent: true, Source: "test"}); err != nil {
		t.Fatal(err)
	}
}

// TestAttentionPage lists what went wrong with the provider's reason and
// links to the patient and the message.
func TestAttentionPage(t *testing.T) {
	app := newTestApp(t)
	mgrSeed(t, app, app.Main, 2)
	mgr := app.SignIn(app.Main, aftercare.RoleManager)
	body := mgrPage(t, mgr, "/attention")
	want := app.messages(t, aftercare.MessageFilter{ClinicID: app.Main.ID, Since: app.Now().Add(-30 * 24 * time.Hour),
		Statuses: []aftercare.Status{"failed", "undelivered", "unknown", "expired"}})
	ids := mgrIDs(body)
	if len(ids) != min(50, len(want)) || len(ids) == 0 {
		t.Fatalf("%d rows, want %d", len(ids), min(50, len(want)))
	}
	for i, id := range ids {
		if id != want[i].ID {
			t.Fatalf("row %d is message %d, want %d", i, id, want[i].ID)
		}
	}
	for _, s := range []string{"21211", "30003", "/patients/", ">unknown<", ">undelivered<", ">failed<"} {
		if !strings.Contains(body, s) {
			t.Errorf("the list lacks %q", s)
		}
	}
}
