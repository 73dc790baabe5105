package scheduler

import "time"

// SettingsWarningView is a SettingsWarning as the API (PATCH
// /api/v1/clinic) and `clinic set --json` show it: one shape for both, so
// a script reads the same fields from either.
type SettingsWarningView struct {
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

// SettingsWarningViews returns the view of each of ws (never nil, so it
// encodes as [] rather than null).
func SettingsWarningViews(ws []SettingsWarning) []SettingsWarningView {
	out := make([]SettingsWarningView, 0, len(ws))
	for _, w := range ws {
		j := SettingsWarningView{Protocol: w.Protocol, TreatedAt: w.Treated.Format(time.RFC3339), Step: w.Step,
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
