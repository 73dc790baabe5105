package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Nothing sent, nothing enrolled: an enrollment (or a reschedule) whose
// plan has no pending message would sit in the clinic's lists looking like
// aftercare while the patient gets nothing. Every surface (command line,
// API, web form, CSV import) goes through nothingToSend, so each refuses it
// with the same reason, computed from what the patient can receive.

// nothingToSend returns nil when msgs (p's plan of cp for a treatment at
// treated) has a pending message, and otherwise an EINVALID naming the
// field to fix and saying why the patient would receive nothing. p is the
// patient as planned for: the consent given now and before, and the stored
// opt-outs.
func nothingToSend(cp *Compiled, p *aftercare.Patient, treated time.Time, msgs []*aftercare.Message) error {
	return unprocessable(whyNothing(cp, p, treated, msgs, false))
}

// unprocessable turns whyNothing's EINVALID into EUNPROCESSABLE: every
// field was well formed, together they send nothing (the API's 422).
func unprocessable(err error) error {
	var ae *aftercare.Error
	if errors.As(err, &ae) && ae.Code == aftercare.EINVALID {
		return &aftercare.Error{Code: aftercare.EUNPROCESSABLE, Field: ae.Field, Message: ae.Message}
	}
	return err
}

// whyNothing is nothingToSend for an enrollment planned anew, or moved
// (moving): then msgs is the new plan with StatusSent on the messages that
// went out already, and the words are those of a move.
func whyNothing(cp *Compiled, p *aftercare.Patient, treated time.Time, msgs []*aftercare.Message, moving bool) error {
	sent := 0 // a move's messages that went out already
	for _, m := range msgs {
		switch m.Status {
		case aftercare.StatusPending:
			return nil
		case aftercare.StatusSent:
			sent++
		}
	}
	loc, err := aftercare.LoadZone(p.TZ)
	if err != nil {
		return err
	}
	used := channelsOf(cp.Protocol)
	if len(msgs) > 0 && sent == len(msgs) {
		return aftercare.Errorf(aftercare.ECONFLICT, "every message of %s went out already: there is nothing left to move", cp.Name)
	}
	if len(msgs) > 0 {
		// Expand plans only the channels the patient can receive, so every
		// one of those was planned, and every message not sent was
		// skipped: its time had passed.
		which := ""
		for _, ch := range used {
			if !p.CanReceive(ch) {
				// Say which channel's messages were late: the others
				// were never the patient's.
				which = channelName(msgs[0].Channel) + " "
			}
		}
		when := treated.In(loc).Format("Mon 2 Jan 2006 at 15:04 MST")
		if moving {
			return aftercare.FieldErrorf("treated_at", "every %smessage of %s still to send would be due before now (the treatment would be on %s): check the date and time, or cancel the enrollment if it is over",
				which, cp.Name, when)
		}
		return aftercare.FieldErrorf("treated_at", "every %smessage of %s was due before now (the treatment was on %s): check the date and time",
			which, cp.Name, when)
	}

	// No channel of the protocol is the patient's: say, channel by
	// channel, what stands in the way.
	var out, unconsented, unaddressed []aftercare.Channel
	for _, ch := range used {
		switch {
		case !hasAddress(p, ch):
			unaddressed = append(unaddressed, ch)
		case !consentOf(p, ch).Given():
			unconsented = append(unconsented, ch)
		case !optOutOf(p, ch).IsZero():
			out = append(out, ch)
		}
	}
	if len(out) > 0 {
		return optedOut(p, loc, out, unconsented, unaddressed)
	}
	if len(used) == 1 {
		// A one-channel protocol, and the patient cannot get that channel.
		ch := used[0]
		other := aftercare.SMS
		if ch == aftercare.SMS {
			other = aftercare.Email
		}
		if consentOf(p, other).Given() && optOutOf(p, other).IsZero() && hasAddress(p, other) {
			if len(unaddressed) > 0 {
				return aftercare.FieldErrorf(addressField(ch), "%s sends only %s and the patient has no %s and agreed only to %s, so they would receive nothing: add their %s and %s consent if they gave them, or choose a protocol that sends %s",
					cp.Name, channelName(ch), addressName(ch), channelName(other), addressName(ch), channelName(ch), channelName(other))
			}
			return aftercare.FieldErrorf(consentField(ch), "%s sends only %s and the patient agreed only to %s, so they would receive nothing: record their %s consent if they gave it, or choose a protocol that sends %s",
				cp.Name, channelName(ch), channelName(other), channelName(ch), channelName(other))
		}
		if len(unaddressed) > 0 {
			return aftercare.FieldErrorf(addressField(ch), "%s sends only %s and the patient has no %s, so they would receive nothing: add their %s and %s consent if they gave them, or choose another protocol",
				cp.Name, channelName(ch), addressName(ch), addressName(ch), channelName(ch))
		}
		if consentOf(p, other).Given() {
			return aftercare.FieldErrorf(consentField(ch), "%s sends only %s and the patient has no %s consent, so they would receive nothing: record their %s consent if they gave it",
				cp.Name, channelName(ch), channelName(ch), channelName(ch))
		}
		return aftercare.FieldErrorf(consentField(ch), "the patient agreed to no messages, so they would receive nothing: record their %s consent if they gave it (%s sends only %s)",
			channelName(ch), cp.Name, channelName(ch))
	}
	// The protocol sends by SMS and email, and the patient gave consent to
	// neither channel they have an address for.
	switch len(unconsented) {
	case 1:
		return aftercare.FieldErrorf(consentField(unconsented[0]), "the patient agreed to no messages, so they would receive nothing: record their %s consent if they gave it",
			channelName(unconsented[0]))
	case 2:
		return aftercare.FieldErrorf("consent", "the patient agreed to no messages, so they would receive nothing: record their SMS or email consent if they gave it")
	}
	return aftercare.FieldErrorf("phone", "the patient has no phone number or email address, so they would receive nothing: add the ones they gave, with their consent")
}

// optedOut says that the patient opted out of the channels out (of those
// the protocol uses), and what else stands in the way on the others.
func optedOut(p *aftercare.Patient, loc *time.Location, out, unconsented, unaddressed []aftercare.Channel) error {
	var whys []string
	for i, ch := range out {
		w := fmt.Sprintf("of %s on %s", channelName(ch), optOutOf(p, ch).In(loc).Format("Mon 2 Jan 2006"))
		if i == 0 {
			w = "opted out " + w
		}
		whys = append(whys, w)
	}
	field := consentField(out[0])
	if len(out) > 1 {
		field = "consent"
	}
	var fixes []string
	for _, ch := range unconsented {
		whys = append(whys, fmt.Sprintf("gave no %s consent", channelName(ch)))
		fixes = append(fixes, fmt.Sprintf("record their %s consent if they gave it", channelName(ch)))
		field = consentField(ch)
	}
	for _, ch := range unaddressed {
		// No fix offered here: an address typed on the enrollment would
		// make another patient, whom the opt-out would not cover.
		whys = append(whys, fmt.Sprintf("has no %s", addressName(ch)))
	}
	names := make([]string, len(out))
	for i, ch := range out {
		names[i] = channelName(ch)
	}
	fixes = append(fixes, fmt.Sprintf("if they opted back in, clear the %s opt-out on their patient page first", strings.Join(names, " and ")))
	return aftercare.FieldErrorf(field, "the patient %s, so they would receive nothing: %s", strings.Join(whys, " and "), strings.Join(fixes, "; or, "))
}

// channelsOf lists the channels the steps of pr send on, SMS first.
func channelsOf(pr *aftercare.Protocol) []aftercare.Channel {
	var sms, email bool
	for i := range pr.Steps {
		for _, ch := range pr.Steps[i].Channels {
			sms = sms || ch == aftercare.SMS
			email = email || ch == aftercare.Email
		}
	}
	var out []aftercare.Channel
	if sms {
		out = append(out, aftercare.SMS)
	}
	if email {
		out = append(out, aftercare.Email)
	}
	return out
}

func channelName(ch aftercare.Channel) string {
	if ch == aftercare.SMS {
		return "SMS"
	}
	return "email"
}

func consentField(ch aftercare.Channel) string { return string(ch) + "_consent" }

func addressField(ch aftercare.Channel) string {
	if ch == aftercare.SMS {
		return "phone"
	}
	return "email"
}

func addressName(ch aftercare.Channel) string {
	if ch == aftercare.SMS {
		return "phone number"
	}
	return "email address"
}

func hasAddress(p *aftercare.Patient, ch aftercare.Channel) bool {
	if ch == aftercare.SMS {
		return p.Phone != ""
	}
	return p.Email != ""
}

func consentOf(p *aftercare.Patient, ch aftercare.Channel) aftercare.Consent {
	if ch == aftercare.SMS {
		return p.SMSConsent
	}
	return p.EmailConsent
}

func optOutOf(p *aftercare.Patient, ch aftercare.Channel) time.Time {
	if ch == aftercare.SMS {
		return p.SMSOptOutAt
	}
	return p.EmailOptOut
}

// hasEnrollment reports whether the clinic's patient (nil: a new one, who
// has none) has an enrollment whose Key is key. Only a plan that sends
// nothing asks: enrolling again what was enrolled before is not refused,
// whatever is left of it to send.
func (s *Service) hasEnrollment(ctx context.Context, clinicID int64, patient *aftercare.Patient, key string) (bool, error) {
	if patient == nil || patient.ID == 0 {
		return false, nil
	}
	f := aftercare.EnrollmentFilter{ClinicID: clinicID, PatientID: patient.ID, Limit: 200}
	for {
		page, err := s.Store.ListEnrollments(ctx, f)
		if err != nil {
			return false, err
		}
		for _, e := range page {
			if e.Enrollment.Key == key {
				return true, nil
			}
		}
		if len(page) < f.Limit {
			return false, nil
		}
		f.BeforeID = page[len(page)-1].Enrollment.ID
	}
}
