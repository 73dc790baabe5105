package scheduler

import (
	"fmt"
	"time"

	"github.com/aftercare/aftercare"
)

// Treatment dates far enough from today that a typo in the day, month or
// year is likelier than the booking: enrolling or rescheduling asks first
// on the web and warns on the command line and in the API
// (TreatmentDateWarning).
const (
	// UnusualPastDays: a treatment ended more than this many days ago.
	UnusualPastDays = 7
	// UnusualAheadMonths: a treatment more than this many months ahead.
	UnusualAheadMonths = 3
)

// TreatmentDateWarning says what enrolling will do when the treatment
// (treated, in the patient's zone loc) ended more than UnusualPastDays
// before now or is more than UnusualAheadMonths after it, and "" for a
// usual date. msgs are its planned messages: those whose time has passed
// (skipped by Enroll; due before now in a preview) are counted.
func TreatmentDateWarning(treated, now time.Time, loc *time.Location, msgs []*aftercare.Message) string {
	day := treated.In(loc).Format("Mon 2 Jan 2006")
	switch {
	case treated.Before(now.AddDate(0, 0, -UnusualPastDays)):
		past := 0
		for _, m := range msgs {
			if m.Status == aftercare.StatusSkipped || m.Status == aftercare.StatusPending && m.SendAt.Before(now) {
				past++
			}
		}
		return fmt.Sprintf("the treatment ended %s, %d days ago: %d of its %d messages are already past and will be skipped. Check the date (day, month and year).",
			day, calendarDays(treated, now, loc), past, len(msgs))
	case treated.After(now.AddDate(0, UnusualAheadMonths, 0)):
		return fmt.Sprintf("the treatment is on %s, %d days from today: the messages follow it, the first on %s. Check the date (day, month and year).",
			day, calendarDays(now, treated, loc), firstSend(msgs, loc))
	}
	return ""
}

// calendarDays counts the days in loc from a's date to b's.
func calendarDays(a, b time.Time, loc *time.Location) int {
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return int(time.Date(by, bm, bd, 12, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)).Hours() / 24)
}

// firstSend is the local date of the first message of msgs.
func firstSend(msgs []*aftercare.Message, loc *time.Location) string {
	var first time.Time
	for _, m := range msgs {
		if first.IsZero() || m.SendAt.Before(first) {
			first = m.SendAt
		}
	}
	if first.IsZero() {
		return "—"
	}
	return first.In(loc).Format("Mon 2 Jan 2006")
}
