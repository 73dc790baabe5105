package main

import (
	"fmt"
	"io"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// settingsWarningJSON is a scheduler.SettingsWarning as `clinic set --json`
// prints it.
type settingsWarningJSON struct {
	Protocol   string `json:"protocol"`
	TreatedAt  string `json:"treated_at"` // the sample treatment's end, local RFC 3339
	Step       string `json:"step"`
	Occurrence int    `json:"occurrence"`
	Channel    string `json:"channel"`
	Due        string `json:"due"` // local RFC 3339
	Day        int    `json:"day"` // of Due, from the treatment's (0)
	Outcome    string `json:"outcome"`
	MovedTo    string `json:"moved_to,omitempty"`
	MovedDay   *int   `json:"moved_day,omitempty"`
	Reason     string `json:"reason"`
	New        bool   `json:"new"`
	Text       string `json:"text"`
}

func warningsJSON(ws []scheduler.SettingsWarning) []settingsWarningJSON {
	out := make([]settingsWarningJSON, 0, len(ws))
	for _, w := range ws {
		j := settingsWarningJSON{Protocol: w.Protocol, TreatedAt: w.Treated.Format(time.RFC3339), Step: w.Step,
			Occurrence: w.Occurrence, Channel: string(w.Channel), Due: w.Due.Format(time.RFC3339), Day: w.Day,
			Outcome: "dropped", Reason: w.Reason, New: w.New, Text: w.String()}
		if !w.Dropped {
			day := w.MovedDay
			j.Outcome, j.MovedTo, j.MovedDay = "moved", w.MovedTo.Format(time.RFC3339), &day
		}
		out = append(out, j)
	}
	return out
}

// clinicUpdateJSON is what `clinic set --json` prints: the clinic (as
// saved, or as it would have been), whether it was saved, and every
// message the new window and cap move or drop (new marks those the
// current settings send on time).
type clinicUpdateJSON struct {
	clinicJSON
	Saved    bool                  `json:"saved"`
	Warnings []settingsWarningJSON `json:"warnings"`
}

// maxWarningLines bounds the warnings `clinic set` prints: a narrow window
// moves dozens of daily reminders, and the first lines make the point.
const maxWarningLines = 40

// printClinicUpdate prints what `clinic set` did. When it saved nothing
// because of new warnings, it lists them and returns the error that says
// how to save anyway.
func (a *app) printClinicUpdate(u *scheduler.ClinicUpdate) error {
	fresh := scheduler.NewWarnings(u.Warnings)
	var refused error
	if !u.Saved {
		refused = aftercare.Errorf(aftercare.EINVALID, "nothing saved: the new send window or daily cap moves or drops %d message(s) that the current settings send on time; run again with --yes to save anyway", len(fresh))
	}
	if a.jsonOut {
		if err := a.printJSON(clinicUpdateJSON{clinicToJSON(u.Clinic), u.Saved, warningsJSON(u.Warnings)}); err != nil {
			return err
		}
		return refused
	}
	if len(fresh) > 0 {
		printWarnings(a.io.Out, u.Clinic, fresh, len(u.Warnings)-len(fresh))
		if !u.Saved {
			return refused
		}
		fmt.Fprintln(a.io.Out, "Saved anyway (--yes).")
		fmt.Fprintln(a.io.Out)
	}
	return a.printClinic(u.Clinic)
}

// printWarnings lists the new warnings, saying which sample treatments
// they come from.
func printWarnings(w io.Writer, c *aftercare.Clinic, fresh []scheduler.SettingsWarning, old int) {
	day := fresh[0].Treated.Format("Mon Jan 2")
	fmt.Fprintf(w, "With send window %s and daily cap %d, these messages would move or drop (tried on a treatment ending at 10:00 and one at 18:00 on %s, day 0, %s time):\n",
		c.Window, c.DailyCap, day, c.TZ)
	for i, x := range fresh {
		if i == maxWarningLines {
			fmt.Fprintf(w, "  ... and %d more (--json lists them all)\n", len(fresh)-i)
			break
		}
		fmt.Fprintf(w, "  %s\n", x)
	}
	if old > 0 {
		fmt.Fprintf(w, "(%d more move or drop under the current settings too.)\n", old)
	}
	fmt.Fprintln(w)
}
