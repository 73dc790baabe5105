package web

import (
	"github.com/aftercare/aftercare/scheduler"
)

// ClinicUpdateJSON is the answer to PATCH /api/v1/clinic: the clinic as
// changed, and what its new send window and daily cap move or drop.
type ClinicUpdateJSON struct {
	ClinicJSON
	// Warnings is empty unless the window or the cap changed.
	Warnings []SettingsWarningJSON `json:"warnings"`
}

// SettingsWarningJSON is a message of a sample treatment that the clinic's
// send window or daily cap moves or drops (scheduler.CheckSettings), in
// the shape `clinic set --json` prints too.
type SettingsWarningJSON = scheduler.SettingsWarningView

// NewSettingsWarningsJSON returns the API's view of ws (never nil).
func NewSettingsWarningsJSON(ws []scheduler.SettingsWarning) []SettingsWarningJSON {
	return scheduler.SettingsWarningViews(ws)
}
