package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// messageJSON is a message as `preview`, `enroll` and `log` print it with --json.
type messageJSON struct {
	MessageID    int64   `json:"message_id,omitempty"`
	EnrollmentID int64   `json:"enrollment_id,omitempty"`
	Step         string  `json:"step"`
	Occurrence   int     `json:"occurrence"`
	Channel      string  `json:"channel"`
	Status       string  `json:"status"`
	SendAt       string  `json:"send_at"`
	Local        string  `json:"local"`
	ExpiresAt    string  `json:"expires_at"`
	Subject      *string `json:"subject,omitempty"`
	Body         string  `json:"body"`
	Segments     *int    `json:"segments,omitempty"`
	Note         string  `json:"note"`
}

func toJSON(m *aftercare.Message, loc *time.Location) messageJSON {
	j := messageJSON{
		MessageID: m.ID, EnrollmentID: m.EnrollmentID, Step: m.StepKey, Occurrence: m.Occurrence,
		Channel: string(m.Channel), Status: string(m.Status),
		SendAt: m.SendAt.UTC().Format(time.RFC3339), Local: m.SendAt.In(loc).Format(time.RFC3339),
		ExpiresAt: m.ExpiresAt.UTC().Format(time.RFC3339), Body: m.Body, Note: m.Note,
	}
	if m.Channel == aftercare.Email {
		s := m.Subject
		j.Subject = &s
	} else {
		n := m.Segments
		j.Segments = &n
	}
	return j
}

func messagesJSON(msgs []*aftercare.Message, loc *time.Location) []messageJSON {
	out := make([]messageJSON, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, toJSON(m, loc))
	}
	return out
}

// printTimeline writes a timeline for a person: one block per message with
// the local weekday, date and time, then the text, then any note.
func printTimeline(w io.Writer, msgs []*aftercare.Message, loc *time.Location, showStatus bool) {
	for i, m := range msgs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		l := m.SendAt.In(loc)
		seg := "-"
		if m.Channel == aftercare.SMS {
			seg = fmt.Sprintf("%d seg", m.Segments)
		}
		status := ""
		if showStatus {
			status = "  " + string(m.Status)
		}
		fmt.Fprintf(w, "%-26s  %-22s  %-5s  %-6s%s\n", l.Format("Mon 2006-01-02 15:04 MST"), m.StepKey+occ(m), m.Channel, seg, status)
		if m.Subject != "" {
			fmt.Fprintf(w, "    Subject: %s\n", m.Subject)
		}
		for _, line := range strings.Split(m.Body, "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		if m.Note != "" {
			fmt.Fprintf(w, "    note: %s\n", m.Note)
		}
	}
}

func occ(m *aftercare.Message) string {
	if m.Occurrence == 0 {
		return ""
	}
	return fmt.Sprintf(" #%d", m.Occurrence+1)
}
