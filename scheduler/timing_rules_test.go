package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

// ruleStep is a step of a protocol built for one timing-rule case.
type ruleStep struct {
	key      string
	timing   aftercare.Timing
	expires  time.Duration
	priority aftercare.Priority
}

func after(d time.Duration) aftercare.Timing {
	return aftercare.Timing{Kind: aftercare.TimingAfter, Offset: d}
}

func dayAt(day int, hhmm string) aftercare.Timing {
	c, _ := aftercare.ParseClock(hhmm)
	return aftercare.Timing{Kind: aftercare.TimingDayAt, Day: day, At: c}
}

func every(spec string, from, to int) aftercare.Timing {
	return aftercare.Timing{Kind: aftercare.TimingEvery, Cron: spec, FromDay: from, ToDay: to}
}

// ruleProtocol builds an SMS-only protocol whose texts are the step keys.
func ruleProtocol(t *testing.T, steps ...ruleStep) (*aftercare.Protocol, *templates.Renderer) {
	t.Helper()
	p := &aftercare.Protocol{Slug: "rules", Name: "Rules", Languages: []string{"en"}}
	for _, s := range steps {
		exp := s.expires
		if exp == 0 {
			exp = aftercare.DefaultExpires
		}
		p.Steps = append(p.Steps, aftercare.Step{Key: s.key, Channels: []aftercare.Channel{aftercare.SMS}, Timing: s.timing,
			Expires: exp, Priority: s.priority, Text: map[string]aftercare.StepText{"en": {SMS: "{{.ClinicName}}: " + s.key}}})
	}
	r, err := templates.Compile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// outcome is where one message ended up: "pending 2026-06-11 08:00" or
// "skipped".
type outcome map[string]string

func TestExpandTimingRules(t *testing.T) {
	t.Parallel()
	const zone = "America/New_York"
	loc := mustLoc(t, zone)
	window := aftercare.Window{Start: 8 * 60, End: 21 * 60}
	tests := []struct {
		name    string
		treated string
		cap     int
		steps   []ruleStep
		want    outcome // by Ident; messages not listed are not checked
		note    map[string]string
	}{
		{
			name: "QuietHoursPastExpirySkipped", treated: "2026-06-10T21:30", cap: 3,
			steps: []ruleStep{{key: "home", timing: after(0), expires: 3 * time.Hour}},
			want:  outcome{"home#0/sms": "skipped"},
			note:  map[string]string{"home#0/sms": "after it expires at Thu Jun 11 00:30"},
		},
		{
			name: "QuietHoursWithinExpiryMoved", treated: "2026-06-10T21:30", cap: 3,
			steps: []ruleStep{{key: "home", timing: after(0)}},
			want:  outcome{"home#0/sms": "pending 2026-06-11 08:00"},
			note:  map[string]string{"home#0/sms": "quiet hours"},
		},
		{
			name: "ExpiryCountsFromPlannedNotMovedTime", treated: "2026-06-10T21:30", cap: 3,
			// planned 23:00, window opens 08:00 (9 h later): with 8 h it is stale
			steps: []ruleStep{{key: "late", timing: after(90 * time.Minute), expires: 8 * time.Hour}},
			want:  outcome{"late#0/sms": "skipped"},
		},
		{
			name: "CapMovesWithinExpiry", treated: "2026-06-10T09:00", cap: 1,
			steps: []ruleStep{{key: "a", timing: after(0)}, {key: "b", timing: after(time.Hour), expires: 48 * time.Hour}},
			want:  outcome{"a#0/sms": "pending 2026-06-10 09:00", "b#0/sms": "pending 2026-06-11 08:00"},
			note:  map[string]string{"b#0/sms": "daily cap: 1 sms messages already on Wed Jun 10; moved to Thu Jun 11 08:00"},
		},
		{
			name: "CapPastExpirySkipped", treated: "2026-06-10T09:00", cap: 1,
			steps: []ruleStep{{key: "a", timing: after(0)}, {key: "b", timing: after(time.Hour), expires: 3 * time.Hour}},
			want:  outcome{"a#0/sms": "pending 2026-06-10 09:00", "b#0/sms": "skipped"},
			note:  map[string]string{"b#0/sms": "daily cap"},
		},
		{
			name: "ImportantNeverMovedByCap", treated: "2026-06-10T09:00", cap: 1,
			steps: []ruleStep{
				{key: "tip", timing: after(0), expires: 48 * time.Hour},
				{key: "red-flags", timing: dayAt(0, "19:00"), priority: aftercare.PriorityHigh},
			},
			want: outcome{"red-flags#0/sms": "pending 2026-06-10 19:00", "tip#0/sms": "pending 2026-06-11 08:00"},
		},
		{
			name: "ImportantKeptEvenOverCap", treated: "2026-06-10T09:00", cap: 1,
			steps: []ruleStep{
				{key: "welcome", timing: after(0), priority: aftercare.PriorityHigh},
				{key: "red-flags", timing: after(time.Hour), priority: aftercare.PriorityHigh},
			},
			want: outcome{"welcome#0/sms": "pending 2026-06-10 09:00", "red-flags#0/sms": "pending 2026-06-10 10:00"},
		},
		{
			name: "LowerPriorityMovesFirst", treated: "2026-06-10T08:30", cap: 2,
			steps: []ruleStep{
				{key: "low", timing: dayAt(0, "09:00"), priority: aftercare.PriorityLow, expires: 48 * time.Hour},
				{key: "normal", timing: dayAt(0, "10:00"), expires: 48 * time.Hour},
				{key: "high", timing: dayAt(0, "11:00"), priority: aftercare.PriorityHigh},
			},
			want: outcome{"low#0/sms": "pending 2026-06-11 08:00", "normal#0/sms": "pending 2026-06-10 10:00", "high#0/sms": "pending 2026-06-10 11:00"},
		},
		{
			name: "RecurrencePushedByWindowDropped", treated: "2026-06-10T12:00", cap: 3,
			steps: []ruleStep{{key: "nightly", timing: every("30 22 * * *", 1, 2)}},
			want:  outcome{"nightly#0/sms": "skipped", "nightly#1/sms": "skipped"},
			note:  map[string]string{"nightly#0/sms": "not moved to the next day"},
		},
		{
			name: "RecurrenceMovedWithinItsDayKept", treated: "2026-06-10T12:00", cap: 3,
			steps: []ruleStep{{key: "early", timing: every("0 7 * * *", 1, 1)}},
			want:  outcome{"early#0/sms": "pending 2026-06-11 08:00"},
		},
		{
			name: "RecurrencePushedByCapDropped", treated: "2026-06-10T12:00", cap: 1,
			steps: []ruleStep{
				{key: "morning", timing: dayAt(1, "08:30")},
				{key: "daily", timing: every("0 9 * * *", 1, 2), expires: 48 * time.Hour},
			},
			want: outcome{"morning#0/sms": "pending 2026-06-11 08:30", "daily#0/sms": "skipped", "daily#1/sms": "pending 2026-06-12 09:00"},
			note: map[string]string{"daily#0/sms": "the next one covers it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, r := ruleProtocol(t, tt.steps...)
			c := testClinic(window)
			c.TZ, c.DailyCap = zone, tt.cap
			treated, err := aftercare.ParseTreatmentTime(tt.treated, loc)
			if err != nil {
				t.Fatal(err)
			}
			msgs := expand(t, Plan{Protocol: p, Renderer: r, Clinic: c, Patient: consenting(zone), TreatedAt: treated})
			got := map[string]*aftercare.Message{}
			for _, m := range msgs {
				got[m.Ident()] = m
			}
			for id, want := range tt.want {
				m := got[id]
				if m == nil {
					t.Fatalf("no message %s", id)
				}
				have := string(m.Status)
				if m.Status == aftercare.StatusPending {
					have += " " + m.SendAt.In(loc).Format("2006-01-02 15:04")
				}
				if have != want {
					t.Errorf("%s: %s (note %q), want %s", id, have, m.Note, want)
				}
			}
			for id, want := range tt.note {
				if m := got[id]; m == nil || !strings.Contains(m.Note, want) {
					t.Errorf("%s: note %q, want it to contain %q", id, m.Note, want)
				}
			}
			// Whatever moved, a message's expiry is its planned time plus
			// expires, and no pending message goes out at or after it.
			for _, m := range msgs {
				if m.Status == aftercare.StatusPending && !m.SendAt.Before(m.ExpiresAt) {
					t.Errorf("%s goes out at %s, at or after its expiry %s", m.Ident(), m.SendAt.In(loc), m.ExpiresAt.In(loc))
				}
			}
		})
	}
}

func TestExpandOptOutNoticeOnFirstSMS(t *testing.T) {
	t.Parallel()
	zone := "America/New_York"
	loc := mustLoc(t, zone)
	p, r := ruleProtocol(t, ruleStep{key: "home", timing: after(0), expires: 3 * time.Hour}, ruleStep{key: "morning", timing: dayAt(1, "09:00")},
		ruleStep{key: "later", timing: dayAt(2, "09:00")})
	c := testClinic(aftercare.Window{Start: 8 * 60, End: 21 * 60})
	c.TZ = zone
	notice := aftercare.OptOutNotice("en")
	for _, tt := range []struct{ name, treated, first string }{
		{"OnTheWelcome", "2026-06-10T15:00", "home#0/sms"},
		{"OnTheFirstThatGoesWhenTheWelcomeIsSkipped", "2026-06-10T21:30", "morning#0/sms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			treated, _ := aftercare.ParseTreatmentTime(tt.treated, loc)
			msgs := expand(t, Plan{Protocol: p, Renderer: r, Clinic: c, Patient: consenting(zone), TreatedAt: treated})
			for _, m := range msgs {
				has := strings.HasSuffix(m.Body, "\n"+notice)
				if has != (m.Ident() == tt.first) {
					t.Errorf("%s (%s): notice %v, want it only on %s", m.Ident(), m.Status, has, tt.first)
				}
				if n, _ := templates.Segments(m.Body); n != m.Segments {
					t.Errorf("%s: %d segments counted, the body has %d", m.Ident(), m.Segments, n)
				}
			}
		})
	}
}
