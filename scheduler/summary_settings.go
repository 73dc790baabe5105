package scheduler

import (
	"strings"

	"github.com/aftercare/aftercare"
)

// applySummaryChanges sets the clinic's daily summary settings that ch
// gives: SummaryAt "HH:MM" (24-hour, the clinic's zone) or "off" (which
// clears the addresses), SummaryTo addresses separated by commas,
// semicolons or spaces ("" turns the summary off). Errors are EINVALID
// naming summary_at or summary_to and saying what to write.
func applySummaryChanges(c *aftercare.Clinic, ch ClinicChanges) error {
	if ch.SummaryTo != nil {
		to, err := ParseSummaryTo(*ch.SummaryTo)
		if err != nil {
			return err
		}
		c.SummaryTo = to
	}
	if ch.SummaryAt != nil {
		s := strings.ToLower(strings.TrimSpace(*ch.SummaryAt))
		if s == "off" || s == "no" || s == "" {
			c.SummaryTo = ""
			return nil
		}
		at, err := aftercare.ParseClock(s)
		if err != nil {
			return aftercare.FieldErrorf("summary_at", "%q is not a time of day: write HH:MM on a 24-hour clock in the clinic's time zone, e.g. 07:30, or off", *ch.SummaryAt)
		}
		c.SummaryAt = at
	}
	return nil
}

// ParseSummaryTo reads the addresses of the daily summary as people write
// them (commas, semicolons or spaces between; any case) and returns them
// as stored: "a@x.example, b@y.example". EINVALID (field summary_to)
// names an address that is not one, or too many.
func ParseSummaryTo(raw string) (string, error) {
	fields := strings.FieldsFunc(raw, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\n' })
	var out []string
	for _, f := range fields {
		addr, err := aftercare.NormalizeEmail(f)
		if err != nil {
			return "", aftercare.FieldErrorf("summary_to", "%q is not an email address: write the manager's address, e.g. manager@clinic.example (several: separate them with commas)", f)
		}
		dup := false
		for _, o := range out {
			dup = dup || o == addr
		}
		if !dup {
			out = append(out, addr)
		}
	}
	if len(out) > aftercare.MaxSummaryTo {
		return "", aftercare.FieldErrorf("summary_to", "the summary goes to at most %d addresses, got %d: use a shared mailbox", aftercare.MaxSummaryTo, len(out))
	}
	return strings.Join(out, ", "), nil
}
