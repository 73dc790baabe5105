package main

import (
	"fmt"
	"io"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// clinicUpdateJSON is what `clinic set --json` prints: the clinic (as
// saved, or as it would have been), whether it was saved, and every
// message the new window and cap move or drop (new marks those the
// current settings send on time).
type clinicUpdateJSON struct {
	clinicJSON
	Saved    bool                            `json:"saved"`
	Warnings []scheduler.SettingsWarningView `json:"warnings"`
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
		if err := a.printJSON(clinicUpdateJSON{clinicToJSON(u.Clinic), u.Saved, scheduler.SettingsWarningViews(u.Warnings)}); err != nil {
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
