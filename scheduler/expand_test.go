package scheduler

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

func loadProtocol(t testing.TB, path string) (*aftercare.Protocol, *templates.Renderer) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := templates.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	r, err := templates.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// onlySteps silences every step of p but the named ones (their dates stay
// known to the templates).
func onlySteps(p *aftercare.Protocol, keys ...string) *aftercare.Protocol {
	q := *p
	q.Steps = append([]aftercare.Step(nil), p.Steps...)
	for i := range q.Steps {
		keep := false
		for _, k := range keys {
			keep = keep || q.Steps[i].Key == k
		}
		if !keep {
			q.Steps[i].Channels = nil
		}
	}
	return &q
}

var allDay = aftercare.Window{Start: 0, End: 24 * 60}

func testClinic(w aftercare.Window) *aftercare.Clinic {
	return &aftercare.Clinic{ID: 1, Slug: "main", Name: "Glow Clinic", Phone: "+14155550100", Country: "US", TZ: "UTC", Window: w, DailyCap: 10}
}

func consenting(tz string) *aftercare.Patient {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return &aftercare.Patient{Name: "Ana Ruiz", Phone: "+14155550100", Email: "ana@example.com", TZ: tz, Lang: "en",
		SMSConsent: aftercare.Consent{At: now, Source: "test"}, EmailConsent: aftercare.Consent{At: now, Source: "test"}}
}

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func expand(t *testing.T, p Plan) []*aftercare.Message {
	t.Helper()
	msgs, err := Expand(p)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// local formats a message's send time in zone as "2006-01-02 15:04 MST".
func local(m *aftercare.Message, loc *time.Location) string {
	return m.SendAt.In(loc).Format("2006-01-02 15:04 MST")
}

func TestExpandDST(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	tests := []struct {
		name    string
		tz      string
		treated string // local
		step    string
		want    []string // local send times of the step's SMS, in order
		moved   []bool   // whether each carries a DST note
	}{
		// New York springs forward on 2026-03-08 at 02:00 -> 03:00.
		{"NewYorkDayAtInGap", "America/New_York", "2026-03-07T17:30", "at-night", []string{"2026-03-08 03:00 EDT"}, []bool{true}},
		{"NewYorkRecurrenceKeepsWallClock", "America/New_York", "2026-03-06T12:00", "daily",
			[]string{"2026-03-06 02:30 EST", "2026-03-07 02:30 EST", "2026-03-08 03:00 EDT", "2026-03-09 02:30 EDT"}, []bool{false, false, true, false}},
		// New York falls back on 2026-11-01 at 02:00 -> 01:00: 01:30 happens twice, but 02:30 once.
		{"NewYorkFallBackOnce", "America/New_York", "2026-10-30T12:00", "daily",
			[]string{"2026-10-30 02:30 EDT", "2026-10-31 02:30 EDT", "2026-11-01 02:30 EST", "2026-11-02 02:30 EST"}, []bool{false, false, false, false}},
		// London springs forward on 2026-03-29 at 01:00 -> 02:00; 02:30 exists.
		{"LondonDayAt", "Europe/London", "2026-03-28T10:00", "at-night", []string{"2026-03-29 02:30 BST"}, []bool{false}},
		// Lord Howe moves by 30 minutes: 2026-10-04 02:00 -> 02:30, so 02:30 is the first valid minute... and exists.
		{"LordHoweHalfHour", "Australia/Lord_Howe", "2026-10-03T12:00", "daily",
			[]string{"2026-10-03 02:30 +1030", "2026-10-04 02:30 +11", "2026-10-05 02:30 +11", "2026-10-06 02:30 +11"}, []bool{false, false, false, false}},
		{"NoDSTZone", "Asia/Tokyo", "2026-03-07T17:30", "daily",
			[]string{"2026-03-07 02:30 JST", "2026-03-08 02:30 JST", "2026-03-09 02:30 JST", "2026-03-10 02:30 JST"}, []bool{false, false, false, false}},
		// Offsets are exact elapsed time: 24h after 17:30 EST is 18:30 EDT across the change.
		{"OffsetIsElapsedTime", "America/New_York", "2026-03-07T17:30", "day-one", []string{"2026-03-08 18:30 EDT"}, []bool{false}},
		{"BeforeStep", "Europe/London", "2026-04-10T10:00", "pre", []string{"2026-04-03 10:00 BST"}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loc := mustLoc(t, tt.tz)
			treated, err := aftercare.ParseTreatmentTime(tt.treated, loc)
			if err != nil {
				t.Fatal(err)
			}
			msgs := expand(t, Plan{Protocol: onlySteps(p, tt.step), Renderer: r, Clinic: testClinic(allDay), Patient: consenting(tt.tz), TreatedAt: treated})
			var got []string
			for i, m := range msgs {
				got = append(got, local(m, loc))
				if i < len(tt.moved) && tt.moved[i] != strings.Contains(m.Note, "DST") {
					t.Errorf("message %d note %q: want DST note %v", i, m.Note, tt.moved[i])
				}
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestWallTimeLordHoweGap(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "Australia/Lord_Howe")
	got, moved := aftercare.WallTime(loc, 2026, time.October, 4, 2, 15)
	if !moved || got.In(loc).Format("15:04") != "02:30" {
		t.Errorf("02:15 in the Lord Howe gap: got %s moved=%v, want 02:30 moved", got.In(loc), moved)
	}
	// 01:45 happens twice on 2026-04-05 (02:00 -> 01:30): the first one is chosen.
	got, moved = aftercare.WallTime(loc, 2026, time.April, 5, 1, 45)
	if moved || got.In(loc).Format("15:04 -0700") != "01:45 +1100" {
		t.Errorf("repeated 01:45: got %s, want the first (+1100)", got.In(loc))
	}
}

func TestExpandQuietHours(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	loc := mustLoc(t, "America/Los_Angeles")
	w := aftercare.Window{Start: 8 * 60, End: 21 * 60}
	tests := []struct {
		name, treated, want string
		moved               bool
	}{
		{"InsideAt2059", "2026-06-10T20:59", "2026-06-10 20:59 PDT", false},
		{"ClosedAt2100", "2026-06-10T21:00", "2026-06-11 08:00 PDT", true},
		{"BeforeOpening", "2026-06-10T07:59", "2026-06-10 08:00 PDT", true},
		{"AtOpening", "2026-06-10T08:00", "2026-06-10 08:00 PDT", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			treated, _ := aftercare.ParseTreatmentTime(tt.treated, loc)
			msgs := expand(t, Plan{Protocol: onlySteps(p, "now"), Renderer: r, Clinic: testClinic(w), Patient: consenting("America/Los_Angeles"), TreatedAt: treated})
			if len(msgs) != 2 {
				t.Fatalf("want sms and email, got %d messages", len(msgs))
			}
			for _, m := range msgs {
				if got := local(m, loc); got != tt.want {
					t.Errorf("%s: got %s want %s", m.Channel, got, tt.want)
				}
				if strings.Contains(m.Note, "quiet hours") != tt.moved {
					t.Errorf("%s: note %q, want quiet-hours note %v", m.Channel, m.Note, tt.moved)
				}
				if !m.ExpiresAt.Equal(treated.Add(aftercare.DefaultExpires)) {
					t.Errorf("expiry %s is not the planned time + 12h", m.ExpiresAt)
				}
			}
		})
	}
}

func TestExpandDailyCap(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	loc := mustLoc(t, "Europe/London")
	treated, _ := aftercare.ParseTreatmentTime("2026-06-10T09:00", loc)
	c := testClinic(aftercare.Window{Start: 8 * 60, End: 21 * 60})
	c.DailyCap = 2
	pr := onlySteps(p, "now", "ninety")
	pr.Steps[1].Expires = 2 * 24 * time.Hour // "ninety" lives long enough to be moved
	t.Run("ThirdSMSMovesToNextOpening", func(t *testing.T) {
		busy := []Busy{{At: treated.Add(-time.Hour), Channel: aftercare.SMS}} // another enrollment's text that morning
		msgs := expand(t, Plan{Protocol: pr, Renderer: r, Clinic: c, Patient: consenting("Europe/London"), TreatedAt: treated, Busy: busy})
		var sms []*aftercare.Message
		for _, m := range msgs {
			if m.Channel == aftercare.SMS {
				sms = append(sms, m)
			}
		}
		if len(sms) != 2 {
			t.Fatalf("want 2 SMS, got %d", len(sms))
		}
		if got := local(sms[0], loc); got != "2026-06-10 09:00 BST" {
			t.Errorf("first SMS at %s", got)
		}
		if got := local(sms[1], loc); got != "2026-06-11 08:00 BST" || !strings.Contains(sms[1].Note, "daily cap") {
			t.Errorf("second SMS at %s note %q: want next day's opening with a daily-cap note", got, sms[1].Note)
		}
	})
	t.Run("EmailHasItsOwnCap", func(t *testing.T) {
		msgs := expand(t, Plan{Protocol: pr, Renderer: r, Clinic: c, Patient: consenting("Europe/London"), TreatedAt: treated})
		for _, m := range msgs {
			if strings.Contains(m.Note, "daily cap") {
				t.Errorf("%s moved by the cap without reaching it: %q", m.Ident(), m.Note)
			}
		}
	})
}

func TestExpandRecurrenceWindow(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	loc := mustLoc(t, "America/Chicago")
	treated, _ := aftercare.ParseTreatmentTime("2026-05-01T12:00", loc)
	msgs := expand(t, Plan{Protocol: onlySteps(p, "daily"), Renderer: r, Clinic: testClinic(allDay), Patient: consenting("America/Chicago"), TreatedAt: treated})
	if len(msgs) != 4 { // days 0, 1, 2, 3 inclusive
		t.Fatalf("from_day 0 to_day 3 should fire 4 times, got %d", len(msgs))
	}
	for i, m := range msgs {
		if m.Occurrence != i {
			t.Errorf("message %d has occurrence %d", i, m.Occurrence)
		}
	}
}

func TestExpandLateEnrollment(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	loc := mustLoc(t, "America/New_York")
	w := aftercare.Window{Start: 8 * 60, End: 21 * 60}
	t.Run("FirstStepSentNowOthersSkipped", func(t *testing.T) {
		treated, _ := aftercare.ParseTreatmentTime("2026-06-10T10:00", loc)
		now := treated.Add(2 * time.Hour)
		msgs := expand(t, Plan{Protocol: onlySteps(p, "now", "ninety", "day-one"), Renderer: r, Clinic: testClinic(w), Patient: consenting("America/New_York"), TreatedAt: treated, Now: now})
		got := map[string]*aftercare.Message{}
		for _, m := range msgs {
			got[m.Ident()] = m
		}
		if m := got["now#0/sms"]; m.Status != aftercare.StatusPending || !m.SendAt.Equal(now) {
			t.Errorf("after:0s step: %s at %s, want pending now", m.Status, m.SendAt)
		}
		if m := got["ninety#0/sms"]; m.Status != aftercare.StatusSkipped || !strings.Contains(m.Note, "skipped") {
			t.Errorf("past step: %s %q, want skipped with a note", m.Status, m.Note)
		}
		if m := got["day-one#0/sms"]; m.Status != aftercare.StatusPending {
			t.Errorf("future step: %s, want pending", m.Status)
		}
	})
	t.Run("StaleFirstStepSkipped", func(t *testing.T) {
		treated, _ := aftercare.ParseTreatmentTime("2026-06-10T20:00", loc)
		now := treated.Add(2 * time.Hour) // 22:00, window closed; it would go at 08:00 = 12h after: stale
		msgs := expand(t, Plan{Protocol: onlySteps(p, "now"), Renderer: r, Clinic: testClinic(w), Patient: consenting("America/New_York"), TreatedAt: treated, Now: now})
		for _, m := range msgs {
			if m.Status != aftercare.StatusSkipped {
				t.Errorf("%s: %s at %s, want skipped (stale by the time the window opens)", m.Ident(), m.Status, local(m, loc))
			}
		}
	})
}

func TestExpandConsent(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	pt := consenting("UTC")
	pt.SMSConsent = aftercare.Consent{}
	treated := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	msgs := expand(t, Plan{Protocol: p, Renderer: r, Clinic: testClinic(allDay), Patient: pt, TreatedAt: treated})
	if len(msgs) != 1 || msgs[0].Channel != aftercare.Email {
		t.Fatalf("without SMS consent only the email step should be planned, got %d messages", len(msgs))
	}
	if !strings.Contains(msgs[0].Body, "Glow Clinic") || !strings.Contains(msgs[0].Body, "Ana") || msgs[0].Subject != "Now" {
		t.Errorf("rendered email: subject %q body %q", msgs[0].Subject, msgs[0].Body)
	}
}

func TestExpandRejectsBadZone(t *testing.T) {
	t.Parallel()
	p, r := loadProtocol(t, "testdata/clock.yaml")
	for _, tz := range []string{"", "Local", "Mars/Olympus"} {
		pt := consenting(tz)
		_, err := Expand(Plan{Protocol: p, Renderer: r, Clinic: testClinic(allDay), Patient: pt, TreatedAt: time.Now()})
		if aftercare.ErrorCode(err) != aftercare.EINVALID {
			t.Errorf("zone %q: got %v, want EINVALID", tz, err)
		}
	}
}

func TestWallTimeFallBackChoosesFirst(t *testing.T) {
	t.Parallel()
	loc := mustLoc(t, "America/New_York")
	got, moved := aftercare.WallTime(loc, 2026, time.November, 1, 1, 30)
	if moved || got.In(loc).Format("15:04 MST") != "01:30 EDT" {
		t.Errorf("01:30 on the fall-back day: got %s, want the first (EDT)", got.In(loc))
	}
}

func TestExpandClinicWithoutPhone(t *testing.T) {
	t.Parallel()
	src := []byte("slug: p\nname: P\nlanguages: [en]\nsteps:\n  - key: a\n    channels: [sms]\n    after: 0s\n    text:\n      en:\n        sms: \"Worried? Call {{.ClinicPhone}}.\"\n")
	p, err := templates.Parse("p.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := templates.Compile(p)
	c := testClinic(allDay)
	c.Phone = ""
	msgs := expand(t, Plan{Protocol: p, Renderer: r, Clinic: c, Patient: consenting("UTC"), TreatedAt: time.Now()})
	if got := strings.TrimSuffix(msgs[0].Body, "\n"+aftercare.OptOutNotice("en")); got != "Worried? Call Glow Clinic." {
		t.Errorf("body %q: a clinic without a phone must be named instead", got)
	}
}
