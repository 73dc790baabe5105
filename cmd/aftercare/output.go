package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
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
	return views(msgs, func(m *aftercare.Message) messageJSON { return toJSON(m, loc) })
}

// views returns view of each item, in order: what --json prints of a list,
// an empty array (not null) when there are none.
func views[T, J any](items []T, view func(T) J) []J {
	out := make([]J, 0, len(items))
	for _, it := range items {
		out = append(out, view(it))
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

// table returns the writer of the command line's tables: columns separated
// by tabs, aligned with two spaces. Flush it when done.
func (a *app) table() *tabwriter.Writer {
	return tabwriter.NewWriter(a.io.Out, 0, 4, 2, ' ', 0)
}

// listing is how a list command loads a clinic's items and prints them.
type listing[T, J any] struct {
	// load returns the clinic's items; a method expression such as
	// dbStore.ListUsers, as the store is opened only when the
	// command runs.
	load   func(dbStore, context.Context, int64) ([]T, error)
	json   func(T) J      // an item as --json prints it
	empty  string         // the line printed when there are none; %s is the clinic's slug; "": the header alone
	header string         // the table's header, columns separated by tabs
	row    func(T) string // an item's row, columns separated by tabs
}

// printList opens the store, loads the clinic's items and prints them:
// with --json a JSON array (empty, not null, when there are none);
// otherwise the table, or l.empty when there are none.
func printList[T, J any](ctx context.Context, a *app, l listing[T, J]) error {
	if err := a.open(ctx); err != nil {
		return err
	}
	items, err := l.load(a.store, ctx, a.clinic.ID)
	if err != nil {
		return err
	}
	if a.jsonOut {
		return a.printJSON(views(items, l.json))
	}
	if len(items) == 0 && l.empty != "" {
		a.printf(l.empty+"\n", a.clinic.Slug)
		return nil
	}
	tw := a.table()
	fmt.Fprintln(tw, l.header)
	for _, it := range items {
		fmt.Fprintln(tw, l.row(it))
	}
	return tw.Flush()
}
