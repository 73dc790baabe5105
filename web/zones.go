package web

import (
	"regexp"
	"time"

	"github.com/aftercare/aftercare"
)

// clockTime finds a time of day in a scheduler's note ("moved to 08:00").
var clockTime = regexp.MustCompile(`\b\d{2}:\d{2}\b`)

// zonedNote labels the times of day in a message's note with the zone the
// scheduler wrote them in (the patient's, tz), so that a page with times
// in two zones never leaves one unlabelled; a note without a time is
// returned as it is.
func zonedNote(note string, at time.Time, tz string) string {
	if !clockTime.MatchString(note) {
		return note
	}
	loc, err := aftercare.LoadZone(tz)
	if err != nil {
		return note
	}
	return note + " (times in " + at.In(loc).Format("MST") + ", the patient’s zone)"
}
