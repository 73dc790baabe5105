package web

// CSVSafe keeps text that came from outside (a provider's error, an id)
// from being read as a formula when a CSV export is opened in a
// spreadsheet: a cell starting with = + - @, a tab or a carriage return
// gets a leading apostrophe. Every CSV Aftercare writes (the log page, the
// API, `aftercare log --csv`) uses it.
func CSVSafe(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}
