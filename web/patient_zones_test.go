package web_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/web"
)

// timeOfDay finds the times of day a page shows ("08:30"), with the zone
// that follows them, if any; a "T" before them is a form's value
// (datetime-local), not a time shown.
var timeOfDay = regexp.MustCompile(`[^T\d](\d{2}:\d{2})( (?:[A-Z]{2,5}|[+-]\d{2,4})\b)?`)

// TestPatientPageZones: a London patient of a Los Angeles clinic. Every
// time of day on their page names its zone: the treatment and messages in
// GMT (the patient's), consent in PST (the clinic's), and the page says
// which is which.
func TestPatientPageZones(t *testing.T) {
	app := newTestApp(t)
	tok := app.Token(app.Main, aftercare.RoleFrontDesk)
	req := anaRequest()
	req["tz"], req["phone"] = "Europe/London", "+1 415 555 0101"
	var en web.EnrollAnswerJSON
	app.do(tok, "POST", "/api/v1/enrollments", req).decode(t, http.StatusCreated, &en)
	app.dispatch(t)
	resp := app.SignIn(app.Main, aftercare.RoleFrontDesk).Get(fmt.Sprintf("/patients/%d", en.PatientID))
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET the patient: %d", resp.StatusCode)
	}
	// A scheduler's note names its zone once, at its end.
	notes := regexp.MustCompile(`<p class="note">[^<]*\(times in GMT, the patient’s zone\)</p>`)
	if !notes.MatchString(page) {
		t.Errorf("no note (quiet hours) names the patient's zone: %s", regexp.MustCompile(`.*06:30.*`).FindString(page))
	}
	zones := map[string]int{}
	for _, m := range timeOfDay.FindAllStringSubmatch(notes.ReplaceAllString(page, ""), -1) {
		if m[2] == "" {
			t.Errorf("the time %s has no zone: …%s…", m[1], m[0])
			continue
		}
		zones[strings.TrimSpace(m[2])]++
	}
	if zones["GMT"] == 0 || zones["PST"] == 0 || len(zones) != 2 {
		t.Errorf("the page's times are in %v, want GMT (the patient's) and PST (the clinic's)", zones)
	}
	for _, want := range []string{"patient's time (GMT)", "clinic's (PST, America/Los_Angeles)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page does not say %q", want)
		}
	}
}
