package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
)

// printPatientLines writes who the enrollment is for, as the patient's
// page shows it to the front desk: id, contact in full, and consent per
// channel (given when and how, opted out, or none).
func (a *app) printPatientLines(p *aftercare.Patient) {
	contact := []string{}
	if p.Phone != "" {
		contact = append(contact, aftercare.DisplayPhone(p.Phone))
	}
	if p.Email != "" {
		contact = append(contact, p.Email)
	}
	if len(contact) == 0 {
		contact = append(contact, "no phone or email")
	}
	a.printf("patient %d: %s · %s\n", p.ID, p.Name, strings.Join(contact, " · "))
	a.printf("consent: texts %s; emails %s\n", a.consentState(p.SMSConsent, p.SMSOptOutAt, p.Phone != ""), a.consentState(p.EmailConsent, p.EmailOptOut, p.Email != ""))
}

// consentState says one channel's consent in a few words.
func (a *app) consentState(c aftercare.Consent, optOut time.Time, reachable bool) string {
	loc, _ := aftercare.LoadZone(a.clinic.TZ)
	switch {
	case !optOut.IsZero():
		return "opted out " + optOut.In(loc).Format("2006-01-02")
	case !c.Given():
		return "not given"
	case !reachable:
		return "given, but there is no address"
	}
	return fmt.Sprintf("given %s (%s)", c.At.In(loc).Format("2006-01-02"), c.Source)
}

// printTimelineShort writes one line per message, the messages of a
// recurring step (one channel) as one line: when the first and the last
// go, at what time, and how many are in each state. `show --all` prints
// every message with its text instead (printTimeline).
func (a *app) printTimelineShort(msgs []*aftercare.Message, loc *time.Location) error {
	type key struct {
		step    string
		channel aftercare.Channel
	}
	groups := map[key][]*aftercare.Message{}
	var order []key
	for _, m := range msgs {
		k := key{m.StepKey, m.Channel}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], m)
	}
	tw := a.table()
	fmt.Fprintln(tw, "WHEN (patient's time)\tSTEP\tCHANNEL\tSTATE\tNOTE")
	for _, k := range order {
		g := groups[k]
		if len(g) == 1 || !slices.ContainsFunc(g, func(m *aftercare.Message) bool { return m.Occurrence > 0 }) {
			for _, m := range g {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.SendAt.In(loc).Format("Mon 2006-01-02 15:04 MST"), m.StepKey+occ(m), m.Channel, m.Status, m.Note)
			}
			continue
		}
		first, last := g[0].SendAt.In(loc), g[len(g)-1].SendAt.In(loc)
		at := first.Format("15:04 MST")
		for _, m := range g {
			if m.SendAt.In(loc).Format("15:04 MST") != at {
				at = "various times"
				break
			}
		}
		fmt.Fprintf(tw, "%s – %s, %s\t%s, %d messages\t%s\t%s\t%s\n", first.Format("Mon 2006-01-02"), last.Format("Mon 2006-01-02"), at,
			k.step, len(g), k.channel, stateCounts(g), commonNote(g))
	}
	return tw.Flush()
}

// stateCounts writes how many of msgs are in each state: "12 pending, 2 sent".
func stateCounts(msgs []*aftercare.Message) string {
	n := map[aftercare.Status]int{}
	for _, m := range msgs {
		n[m.Status]++
	}
	var parts []string
	for _, s := range aftercare.Statuses {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	return strings.Join(parts, ", ")
}

// commonNote is the note all of msgs share, or how many have notes.
func commonNote(msgs []*aftercare.Message) string {
	notes := 0
	for _, m := range msgs {
		if m.Note != "" {
			notes++
		}
	}
	switch {
	case notes == 0:
		return ""
	case notes == len(msgs) && !slices.ContainsFunc(msgs, func(m *aftercare.Message) bool { return m.Note != msgs[0].Note }):
		return msgs[0].Note
	}
	return fmt.Sprintf("%d with notes (show --all)", notes)
}

// enrollmentCounts is the line under an enrollment's heading.
func enrollmentCounts(r *scheduler.EnrollResult) string {
	return fmt.Sprintf("%d messages: %s", len(r.Messages), stateCounts(r.Messages))
}
