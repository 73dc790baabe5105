package web

import (
	"time"

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
// send window or daily cap moves or drops (scheduler.CheckSettings).
type SettingsWarningJSON struct {
	Protocol   string `json:"protocol"`
	TreatedAt  string `json:"treated_at"` // the sample treatment's end, RFC 3339 in the clinic's zone
	Step       string `json:"step"`
	Occurrence int    `json:"occurrence"`
	Channel    string `json:"channel"`
	Due        string `json:"due"`                // when the protocol plans it
	Day        int    `json:"day"`                // of due, counted from the treatment's (0)
	Outcome    string `json:"outcome"`            // moved or dropped
	MovedTo    string `json:"moved_to,omitempty"` // when moved
	MovedDay   *int   `json:"moved_day,omitempty"`
	Reason     string `json:"reason"`
	// New: the current settings sent it on time, or moved it less.
	New  bool   `json:"new"`
	Text string `json:"text"`
}

// NewSettingsWarningsJSON returns the API's view of ws (never nil).
func NewSettingsWarningsJSON(ws []scheduler.SettingsWarning) []SettingsWarningJSON {
	out := make([]SettingsWarningJSON, 0, len(ws))
	for _, w := range ws {
		j := SettingsWarningJSON{Protocol: w.Protocol, TreatedAt: w.Treated.Format(time.RFC3339), Step: w.Step,
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
