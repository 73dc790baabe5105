package dispatch

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
)

func TestICSText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "Wear sunscreen", "Wear sunscreen"},
		{"Comma", "Hi Ana, wash gently", `Hi Ana\, wash gently`},
		{"Semicolon", "a; b", `a\; b`},
		{"Backslash", `C:\path`, `C:\\path`},
		{"Newline", "one\ntwo", `one\ntwo`},
		{"CRLF", "one\r\ntwo", `one\ntwo`},
		{"LoneCR", "one\rtwo", `one\ntwo`},
		{"ControlDropped", "a\x00b\x07c", "abc"},
		{"TabKept", "a\tb", "a\tb"},
		{"UTF8", "Mañana: protector solar", "Mañana: protector solar"},
		{"AllTogether", "x,y;z\\\n", `x\,y\;z\\\n`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := icsText(tt.in); got != tt.want {
				t.Errorf("icsText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestICSFold(t *testing.T) {
	t.Parallel()
	a75 := strings.Repeat("a", 75)
	tests := []struct {
		name, in, want string
	}{
		{"Short", "SUMMARY:hi", "SUMMARY:hi"},
		{"Exactly75", a75, a75},
		{"76", a75 + "b", a75 + "\r\n b"},
		{"TwoFolds", a75 + strings.Repeat("b", 74) + "c", a75 + "\r\n " + strings.Repeat("b", 74) + "\r\n c"},
		// "ñ" is two octets at 74-75: it moves whole to the next line.
		{"RuneAtBoundary", strings.Repeat("a", 74) + "ñb", strings.Repeat("a", 74) + "\r\n ñb"},
		// "€" is three octets at 73-75: it fits exactly.
		{"RuneFitsExactly", strings.Repeat("a", 72) + "€b", strings.Repeat("a", 72) + "€\r\n b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := icsFold(tt.in); got != tt.want {
				t.Errorf("icsFold:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	t.Run("LongUTF8NeverSplitsARune", func(t *testing.T) {
		in := "DESCRIPTION:" + strings.Repeat("día ñandú 日本語 ", 40)
		got := icsFold(in)
		for i, l := range strings.Split(got, "\r\n") {
			if len(l) > 75 {
				t.Errorf("line %d has %d octets", i, len(l))
			}
			if !utf8.ValidString(l) {
				t.Errorf("line %d splits a character: %q", i, l)
			}
			if i > 0 && !strings.HasPrefix(l, " ") {
				t.Errorf("continuation line %d lacks its space", i)
			}
		}
		if unfold(got) != in {
			t.Error("unfolding does not give the line back")
		}
	})
}

// unfold undoes RFC 5545 folding: a CRLF followed by one space or tab goes.
func unfold(s string) string {
	s = strings.ReplaceAll(s, "\r\n ", "")
	return strings.ReplaceAll(s, "\r\n\t", "")
}

// parseICS is a minimal RFC 5545 reader for tests: it checks the line
// ends and lengths, unfolds, and returns each VEVENT's properties with
// their TEXT values unescaped.
func parseICS(t *testing.T, data []byte) (cal map[string]string, events []map[string]string) {
	t.Helper()
	s := string(data)
	if !strings.HasSuffix(s, "\r\n") || strings.Contains(strings.ReplaceAll(s, "\r\n", ""), "\n") {
		t.Fatalf("calendar lines must end in CRLF:\n%q", s)
	}
	for i, l := range strings.Split(strings.TrimSuffix(s, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line %d is %d octets, more than 75: %q", i+1, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("line %d is not valid UTF-8 (a character split by folding?): %q", i+1, l)
		}
	}
	lines := strings.Split(strings.TrimSuffix(unfold(s), "\r\n"), "\r\n")
	cal = map[string]string{}
	var cur map[string]string
	var stack []string
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("line without a colon: %q", l)
		}
		switch name {
		case "BEGIN":
			stack = append(stack, value)
			if value == "VEVENT" {
				cur = map[string]string{}
			}
			continue
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				t.Fatalf("END:%s does not close %v", value, stack)
			}
			stack = stack[:len(stack)-1]
			if value == "VEVENT" {
				events = append(events, cur)
				cur = nil
			}
			continue
		}
		if _, dup := cur[name]; dup {
			t.Errorf("property %s twice in an event", name)
		}
		if cur != nil {
			cur[name] = unescapeICS(t, value)
		} else {
			cal[name] = unescapeICS(t, value)
		}
	}
	if len(stack) != 0 || len(lines) == 0 || lines[0] != "BEGIN:VCALENDAR" {
		t.Fatalf("not one closed VCALENDAR: open %v", stack)
	}
	return cal, events
}

func unescapeICS(t *testing.T, v string) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ',' || c == ';' {
			t.Errorf("unescaped %q in %q", c, v)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(v) {
			t.Fatalf("a lone backslash ends %q", v)
		}
		switch v[i] {
		case 'n', 'N':
			b.WriteByte('\n')
		case '\\', ',', ';':
			b.WriteByte(v[i])
		default:
			t.Errorf("bad escape \\%c in %q", v[i], v)
		}
	}
	return b.String()
}

func TestTimelineCalendar(t *testing.T) {
	t.Parallel()
	la, _ := time.LoadLocation("America/Los_Angeles")
	day0 := time.Date(2026, 3, 7, 17, 30, 0, 0, la).UTC()
	msg := func(id int64, step string, occ int, ch aftercare.Channel, st aftercare.Status, at time.Time, subject, body string) *aftercare.Message {
		return &aftercare.Message{ID: id, ClinicID: 3, EnrollmentID: 9, StepKey: step, Occurrence: occ, Channel: ch, Lang: "en",
			Status: st, SendAt: at, Subject: subject, Body: body}
	}
	long := "Glow Skin Studio: Hi Ana, your treatment is done. Redness, warmth, swelling and tightness are normal; ease in 1-2 days.\n" +
		"Reply STOP to opt out, HELP for help. Msg & data rates may apply."
	msgs := []*aftercare.Message{
		msg(1, "welcome", 0, aftercare.SMS, aftercare.StatusSent, day0, "", long),
		msg(2, "welcome", 0, aftercare.Email, aftercare.StatusSending, day0, "Your aftercare from Glow Skin Studio", "Hi Ana,\n\nWash gently; no makeup, please.\n"),
		msg(3, "sunscreen", 0, aftercare.SMS, aftercare.StatusPending, day0.Add(15*time.Hour), "", "Glow Skin Studio: Sunscreen today, SPF 30."),
		msg(4, "sunscreen", 1, aftercare.SMS, aftercare.StatusPending, day0.Add(39*time.Hour), "", "Glow Skin Studio: Sunscreen again, SPF 30."),
		msg(5, "retinol", 0, aftercare.SMS, aftercare.StatusCancelled, day0.Add(72*time.Hour), "", "cancelled"),
		msg(6, "late", 0, aftercare.Email, aftercare.StatusSkipped, day0.Add(-time.Hour), "Skipped", "skipped"),
	}
	stamp := time.Date(2026, 3, 8, 1, 30, 5, 0, time.UTC)
	clinic := &aftercare.Clinic{Name: "Glow Skin Studio"}
	data := timelineCalendar(clinic, msgs, "care.example.com", stamp)
	cal, events := parseICS(t, data)
	if cal["VERSION"] != "2.0" || cal["METHOD"] != "PUBLISH" || cal["PRODID"] == "" || cal["X-WR-CALNAME"] != "Glow Skin Studio" {
		t.Errorf("calendar properties %v", cal)
	}
	if len(events) != 3 {
		t.Fatalf("%d events, want 3 (welcome once for two channels, sunscreen twice; cancelled and skipped left out):\n%s", len(events), data)
	}
	want := []struct{ uid, start, summary string }{
		{"aftercare-3-9-welcome-0@care.example.com", "20260308T013000Z", "Your aftercare from Glow Skin Studio"},
		{"aftercare-3-9-sunscreen-0@care.example.com", "20260308T163000Z", "Sunscreen today, SPF 30."},
		{"aftercare-3-9-sunscreen-1@care.example.com", "20260309T163000Z", "Sunscreen again, SPF 30."},
	}
	for i, w := range want {
		e := events[i]
		if e["UID"] != w.uid || e["DTSTART"] != w.start || e["SUMMARY"] != w.summary {
			t.Errorf("event %d: UID %q DTSTART %q SUMMARY %q; want %q %q %q", i, e["UID"], e["DTSTART"], e["SUMMARY"], w.uid, w.start, w.summary)
		}
		if e["DTSTAMP"] != "20260308T013005Z" || e["DURATION"] != "PT15M" {
			t.Errorf("event %d: DTSTAMP %q DURATION %q", i, e["DTSTAMP"], e["DURATION"])
		}
	}
	if d := events[0]["DESCRIPTION"]; d != "Hi Ana,\n\nWash gently; no makeup, please.\n" {
		t.Errorf("the welcome's description is %q, want the email's body", d)
	}
	if strings.Contains(string(data), "STOP") {
		t.Error("the calendar carries the SMS opt-out notice")
	}
	// The same timeline made again later has the same UIDs.
	_, again := parseICS(t, timelineCalendar(clinic, msgs, "care.example.com", stamp.Add(time.Hour)))
	for i := range again {
		if again[i]["UID"] != events[i]["UID"] {
			t.Errorf("event %d's UID changed: %q, then %q", i, events[i]["UID"], again[i]["UID"])
		}
	}
}

func TestTextTitle(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, body, want string }{
		{"ClinicPrefixAndFirstSentence", "Glow: Hi Ana, your treatment is done. Redness is normal.", "Hi Ana, your treatment is done."},
		{"FirstLineOnly", "Glow: Sunscreen today\nReply STOP to opt out.", "Sunscreen today"},
		{"OtherPrefixKept", "Other: hello", "Other: hello"},
		{"LongCutAtWord", "Glow: " + strings.Repeat("word ", 30), strings.TrimSpace(strings.Repeat("word ", 14)) + "…"},
		{"LongWithoutSpaces", strings.Repeat("ñ", 100), strings.Repeat("ñ", 69) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := textTitle(tt.body, "Glow")
			if got != tt.want {
				t.Errorf("textTitle = %q, want %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > maxTitle {
				t.Errorf("%d characters, more than %d", n, maxTitle)
			}
		})
	}
}

type linksFunc func(clinicID, patientID int64, now time.Time) string

func (f linksFunc) Unsubscribe(c, p int64, now time.Time) string { return f(c, p, now) }

// TestEmailExtras: emails get the link made at sending time; texts get
// nothing; only a first email asks for the timeline.
func TestEmailExtras(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 8, 1, 0, 0, 0, time.UTC)
	d := &Dispatcher{Now: func() time.Time { return now }, Links: linksFunc(func(c, p int64, at time.Time) string {
		return fmt.Sprintf("https://care.example.com/u/%d-%d-%d", c, p, at.Unix())
	})}
	d.init()
	claim := func(ch aftercare.Channel, first bool) *aftercare.Claimed {
		return &aftercare.Claimed{Message: &aftercare.Message{ID: 1, ClinicID: 3, PatientID: 5, EnrollmentID: 9, Channel: ch},
			Patient: &aftercare.Patient{}, Clinic: &aftercare.Clinic{Name: "Glow"}, FirstEmail: first, FirstSMS: first}
	}
	sms := claim(aftercare.SMS, true)
	o := outgoing(sms)
	d.emailExtras(context.Background(), sms, o)
	if o.UnsubscribeURL != "" || o.Calendar != nil {
		t.Errorf("a text got %q and a calendar of %d bytes", o.UnsubscribeURL, len(o.Calendar))
	}
	later := claim(aftercare.Email, false)
	o = outgoing(later)
	d.emailExtras(context.Background(), later, o)
	if want := fmt.Sprintf("https://care.example.com/u/3-5-%d", now.Unix()); o.UnsubscribeURL != want || o.Calendar != nil {
		t.Errorf("a later email: link %q, calendar %d bytes; want %q and none", o.UnsubscribeURL, len(o.Calendar), want)
	}
	var asked aftercare.MessageFilter
	d.Messages = messagesFunc(func(f aftercare.MessageFilter) []*aftercare.Message {
		asked = f
		return []*aftercare.Message{{ClinicID: 3, EnrollmentID: 9, StepKey: "welcome", Channel: aftercare.Email, Status: aftercare.StatusSending, SendAt: now, Subject: "Hi"}}
	})
	first := claim(aftercare.Email, true)
	o = outgoing(first)
	d.emailExtras(context.Background(), first, o)
	if asked.ClinicID != 3 || asked.EnrollmentID != 9 || !strings.Contains(string(o.Calendar), "UID:aftercare-3-9-welcome-0@care.example.com") {
		t.Errorf("the first email: asked %+v, calendar:\n%s", asked, o.Calendar)
	}
}

type messagesFunc func(aftercare.MessageFilter) []*aftercare.Message

func (f messagesFunc) ListMessages(_ context.Context, mf aftercare.MessageFilter) ([]*aftercare.Message, error) {
	return f(mf), nil
}
