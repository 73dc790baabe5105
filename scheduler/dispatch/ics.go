package dispatch

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// An iCalendar (RFC 5545) writer for the one calendar Aftercare sends: a
// patient's timeline, attached to the first email of an enrollment. It
// writes only what that needs (VCALENDAR, VEVENT, UTC times, text), so a
// library would add more than it saves.

// icsEvent is one VEVENT.
type icsEvent struct {
	UID         string
	Start       time.Time // written in UTC
	Duration    time.Duration
	Summary     string
	Description string
}

// icsCalendar is a VCALENDAR of events published (METHOD:PUBLISH) rather
// than sent as invitations: nothing to accept or decline.
type icsCalendar struct {
	Name   string    // X-WR-CALNAME, the name calendar apps show
	Stamp  time.Time // DTSTAMP of every event: when the calendar was made
	Events []icsEvent
}

// icsTime is the UTC form of a DATE-TIME (RFC 5545 3.3.5, form #2).
const icsTime = "20060102T150405Z"

// encode returns the calendar: CRLF line ends, lines folded at 75 octets.
func (c *icsCalendar) encode() []byte {
	var b strings.Builder
	line := func(name, value string) {
		b.WriteString(icsFold(name + ":" + value))
		b.WriteString("\r\n")
	}
	line("BEGIN", "VCALENDAR")
	line("VERSION", "2.0")
	line("PRODID", "-//Aftercare//Aftercare//EN")
	line("CALSCALE", "GREGORIAN")
	line("METHOD", "PUBLISH")
	if c.Name != "" {
		line("X-WR-CALNAME", icsText(c.Name))
	}
	for _, e := range c.Events {
		line("BEGIN", "VEVENT")
		line("UID", icsText(e.UID))
		line("DTSTAMP", c.Stamp.UTC().Format(icsTime))
		line("DTSTART", e.Start.UTC().Format(icsTime))
		if e.Duration > 0 {
			line("DURATION", icsDuration(e.Duration))
		}
		line("SUMMARY", icsText(e.Summary))
		if e.Description != "" {
			line("DESCRIPTION", icsText(e.Description))
		}
		// A reminder, not an appointment: it does not make the patient busy.
		line("TRANSP", "TRANSPARENT")
		line("END", "VEVENT")
	}
	line("END", "VCALENDAR")
	return []byte(b.String())
}

// icsText escapes a TEXT value (RFC 5545 3.3.11): backslash, semicolon and
// comma get a backslash, a line break becomes \n, and other control
// characters, which TEXT may not hold, are dropped.
func icsText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\' || r == ';' || r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteRune(r)
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// icsFold folds a content line longer than 75 octets (RFC 5545 3.1): CRLF
// and a space before each further piece, never inside a UTF-8 sequence, so
// that every line, the leading space included, is at most 75 octets.
func icsFold(line string) string {
	const max = 75
	if len(line) <= max {
		return line
	}
	var b strings.Builder
	limit := max
	for len(line) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n ")
		line = line[cut:]
		limit = max - 1 // the space takes one octet
	}
	b.WriteString(line)
	return b.String()
}

// icsDuration writes d as a DURATION value in minutes, e.g. PT15M.
func icsDuration(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	if m < 1 {
		m = 1
	}
	return "PT" + strconv.Itoa(m) + "M"
}
