package dispatch

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aftercare/aftercare"
)

// CalendarEventLength is how long each event of the timeline calendar
// lasts: long enough to show in a day view, short enough not to fill it.
const CalendarEventLength = 15 * time.Minute

// emailExtras gives an email its unsubscribe link and, when it is the
// first of its enrollment to reach a provider, the enrollment's timeline
// as a calendar. A failure to read the timeline is logged and the email
// goes without it: the calendar is a convenience, the email is the care.
func (d *Dispatcher) emailExtras(ctx context.Context, c *aftercare.Claimed, o *aftercare.Outgoing) {
	if o.Channel != aftercare.Email {
		return
	}
	now := d.Now().UTC()
	if d.Links != nil {
		o.UnsubscribeURL = d.Links.Unsubscribe(c.Message.ClinicID, c.Message.PatientID, now)
	}
	if !c.FirstEmail || d.Messages == nil {
		return
	}
	m := c.Message
	msgs, err := d.Messages.ListMessages(ctx, aftercare.MessageFilter{ClinicID: m.ClinicID, EnrollmentID: m.EnrollmentID})
	if err != nil {
		d.Logger.Warn("the first email goes without its calendar: reading the timeline failed", "message", m.ID, "err", err)
		return
	}
	domain := "aftercare.invalid"
	if u, err := url.Parse(o.UnsubscribeURL); err == nil && u.Hostname() != "" {
		domain = u.Hostname()
	}
	o.Calendar = timelineCalendar(c.Clinic, msgs, domain, now)
}

// timelineCalendar is the calendar of an enrollment's messages: one event
// per step occurrence that is planned or was sent on any channel (one
// event for a step sent both by text and email), at its planned time.
// Cancelled and skipped messages are left out: the patient does not get
// them. The event's title is the email's subject, or the start of the
// text; its description the email's body, or the text. These are the
// texts as planned, which name the treatment only when the clinic allows
// it (Clinic.ShowTreatment), so the calendar shows no more than the
// messages do. UIDs are stable per step occurrence, so that importing a
// second copy updates the events rather than doubling them.
func timelineCalendar(clinic *aftercare.Clinic, msgs []*aftercare.Message, domain string, stamp time.Time) []byte {
	type occurrence struct {
		start      time.Time
		email, sms *aftercare.Message
		first      *aftercare.Message
	}
	byKey := map[string]*occurrence{}
	var order []*occurrence
	for _, m := range msgs {
		if m.Status == aftercare.StatusCancelled || m.Status == aftercare.StatusSkipped {
			continue
		}
		k := fmt.Sprintf("%s#%d", m.StepKey, m.Occurrence)
		oc := byKey[k]
		if oc == nil {
			oc = &occurrence{start: m.SendAt, first: m}
			byKey[k] = oc
			order = append(order, oc)
		}
		if m.SendAt.Before(oc.start) {
			oc.start = m.SendAt
		}
		switch {
		case m.Channel == aftercare.Email && oc.email == nil:
			oc.email = m
		case m.Channel == aftercare.SMS && oc.sms == nil:
			oc.sms = m
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].start.Before(order[j].start) })
	cal := &icsCalendar{Name: clinic.Name, Stamp: stamp}
	for _, oc := range order {
		f := oc.first
		ev := icsEvent{
			UID:      fmt.Sprintf("aftercare-%d-%d-%s-%d@%s", f.ClinicID, f.EnrollmentID, f.StepKey, f.Occurrence, domain),
			Start:    oc.start,
			Duration: CalendarEventLength,
		}
		switch {
		case oc.email != nil:
			ev.Summary, ev.Description = strings.TrimSpace(oc.email.Subject), oc.email.Body
		case oc.sms != nil:
			body := strings.TrimSpace(strings.TrimSuffix(oc.sms.Body, aftercare.OptOutNotice(oc.sms.Lang)))
			ev.Summary, ev.Description = textTitle(body, clinic.Name), body
		}
		if ev.Summary == "" {
			ev.Summary = clinic.Name
		}
		cal.Events = append(cal.Events, ev)
	}
	return cal.encode()
}

// maxTitle is the most characters of a text used as an event's title.
const maxTitle = 70

// textTitle makes an event title of an SMS: its first sentence without the
// clinic's name before it ("Glow Skin Studio: Hi Ana, ..."), cut at a word
// within maxTitle characters.
func textTitle(body, clinicName string) string {
	t, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	if clinicName != "" {
		t = strings.TrimPrefix(t, clinicName+": ")
	}
	if i := strings.Index(t, ". "); i > 0 {
		t = t[:i+1]
	}
	t = strings.TrimSpace(t)
	if utf8.RuneCountInString(t) <= maxTitle {
		return t
	}
	cut := 0
	for i := range t {
		if utf8.RuneCountInString(t[:i]) > maxTitle-1 {
			break
		}
		if t[i] == ' ' {
			cut = i
		}
	}
	if cut == 0 {
		cut = len(string([]rune(t)[:maxTitle-1]))
	}
	return strings.TrimRight(t[:cut], " ,;:") + "…"
}
