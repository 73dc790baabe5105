package scheduler

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// Audit records an action of ctx's actor (aftercare.ActorFrom: the
// signed-in user, the API token, the command line) in the clinic's audit
// log. The Service records its own actions (enroll, import, cancel,
// reschedule, patient and clinic changes, protocol imports); the web app
// and the command line call Audit for what they do to the store directly
// (users, tokens, exports). detail is short and holds no message text.
//
// Callers have done the action already: the error says so, so that nobody
// does it twice thinking it failed.
func (s *Service) Audit(ctx context.Context, clinicID int64, action, subject, detail string) error {
	a := aftercare.ActorFrom(ctx)
	e := &aftercare.AuditEntry{ClinicID: clinicID, UserID: a.UserID, Actor: a.Label, Action: action,
		Subject: subject, Detail: detail, At: s.Now().UTC()}
	if err := s.Store.RecordAudit(ctx, e); err != nil {
		return fmt.Errorf("%s of %s was done, but the audit log could not record it: %w", action, subject, err)
	}
	return nil
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Entries []*aftercare.AuditEntry
	// More is set when older entries follow: pass the last entry's At and
	// ID as the next page's BeforeAt and BeforeID.
	More bool
}

// AuditLog returns the clinic's audit entries from day since through day
// until (both YYYY-MM-DD in the clinic's zone, both included; "" leaves a
// side open), newest first, limit per page, strictly before (beforeAt,
// beforeID) when beforeAt is set. EINVALID names the date at fault.
func (s *Service) AuditLog(ctx context.Context, clinic *aftercare.Clinic, since, until string, beforeAt time.Time, beforeID int64, limit int) (*AuditPage, error) {
	loc, err := aftercare.LoadZone(clinic.TZ)
	if err != nil {
		return nil, err
	}
	from, to, err := aftercare.DayRange(since, until, loc)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	es, err := s.Store.ListAudit(ctx, aftercare.AuditFilter{ClinicID: clinic.ID, Since: from, Until: to,
		BeforeAt: beforeAt, BeforeID: beforeID, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	p := &AuditPage{Entries: es}
	if len(es) > limit {
		p.Entries, p.More = es[:limit], true
	}
	return p, nil
}

// clinicChanged names the settings that differ between a and b, for the
// audit log (names only: no values).
func clinicChanged(a, b *aftercare.Clinic) string {
	var out changeList
	out.add(a.Name != b.Name, "name")
	out.add(a.Phone != b.Phone, "phone")
	out.add(a.Country != b.Country, "country")
	out.add(a.TZ != b.TZ, "tz")
	out.add(a.Window != b.Window, "window")
	out.add(a.DailyCap != b.DailyCap, "daily_cap")
	out.add(a.EmailFallback != b.EmailFallback, "email_fallback")
	out.add(a.ShowTreatment != b.ShowTreatment, "show_treatment")
	out.add(a.SMSFrom != b.SMSFrom, "sms_from")
	out.add(a.EmailFrom != b.EmailFrom, "email_from")
	out.add(a.AlertEmail != b.AlertEmail, "alert_email")
	out.add(a.TwilioOptOutReplies != b.TwilioOptOutReplies, "twilio_opt_out_replies")
	out.add(a.RetentionDays != b.RetentionDays, fmt.Sprintf("retention_days (%d)", b.RetentionDays))
	out.add(a.PatientLinks != b.PatientLinks, "patient_links")
	out.add(a.SummaryAt != b.SummaryAt, "summary_at")
	out.add(a.SummaryTo != b.SummaryTo, "summary_to")
	if len(out) == 0 {
		return "nothing changed"
	}
	return out.String()
}

// patientChanged names what an update changed on a patient (names only).
func patientChanged(a, b *aftercare.Patient) string {
	var out changeList
	out.add(a.Name != b.Name, "name")
	out.add(a.Phone != b.Phone, "phone")
	out.add(a.Email != b.Email, "email")
	out.add(a.TZ != b.TZ, "tz")
	out.add(a.Lang != b.Lang, "lang")
	out.add(a.SMSConsent.Given() != b.SMSConsent.Given() || !a.SMSOptOutAt.Equal(b.SMSOptOutAt), "sms consent")
	out.add(a.EmailConsent.Given() != b.EmailConsent.Given() || !a.EmailOptOut.Equal(b.EmailOptOut), "email consent")
	return out.String()
}

// changeList collects the names (never the values) of what an update
// changed, for the audit log.
type changeList []string

func (l *changeList) add(changed bool, name string) {
	if changed {
		*l = append(*l, name)
	}
}

func (l changeList) String() string { return "changed " + strings.Join(l, ", ") }

// consentEvents are the consent history of a staff change from a to b: a
// given or withdrawn event per channel whose consent or opt-out moved.
func consentEvents(a, b *aftercare.Patient, source string, userID int64, now time.Time) []*aftercare.ConsentEvent {
	var evs []*aftercare.ConsentEvent
	add := func(ch aftercare.Channel, action aftercare.ConsentAction, note string) {
		evs = append(evs, &aftercare.ConsentEvent{ClinicID: b.ClinicID, PatientID: b.ID, Channel: ch, Action: action,
			At: now, Source: source, UserID: userID, Note: note})
	}
	for _, c := range []struct {
		ch               aftercare.Channel
		before, after    aftercare.Consent
		outBefore, outAt time.Time
	}{
		{aftercare.SMS, a.SMSConsent, b.SMSConsent, a.SMSOptOutAt, b.SMSOptOutAt},
		{aftercare.Email, a.EmailConsent, b.EmailConsent, a.EmailOptOut, b.EmailOptOut},
	} {
		switch {
		case !c.before.Given() && c.after.Given():
			add(c.ch, aftercare.ConsentGiven, "consent recorded by staff")
		case c.before.Given() && !c.after.Given():
			add(c.ch, aftercare.ConsentWithdrawn, "consent removed by staff")
		}
		switch {
		case c.outBefore.IsZero() && !c.outAt.IsZero():
			add(c.ch, aftercare.ConsentWithdrawn, "opt-out recorded by staff")
		case !c.outBefore.IsZero() && c.outAt.IsZero():
			add(c.ch, aftercare.ConsentGiven, "opt-out lifted by staff")
		}
	}
	return evs
}

// applyRecordChanges sets the clinic's settings of two-way messaging and
// records that ch gives (Validate checks the values).
func applyRecordChanges(c *aftercare.Clinic, ch ClinicChanges) error {
	if ch.AlertEmail != nil {
		c.AlertEmail = strings.ToLower(strings.TrimSpace(*ch.AlertEmail))
	}
	for _, b := range []struct {
		field string
		v     *string
		dst   *bool
	}{{"twilio_opt_out_replies", ch.TwilioOptOutReplies, &c.TwilioOptOutReplies}, {"patient_links", ch.PatientLinks, &c.PatientLinks}} {
		if b.v == nil {
			continue
		}
		v, err := ParseBool(*b.v)
		if err != nil {
			return aftercare.FieldErrorf(b.field, "%s", err)
		}
		*b.dst = v
	}
	if ch.RetentionDays != nil {
		s := strings.TrimSpace(*ch.RetentionDays)
		n, err := strconv.Atoi(s)
		if s == "" {
			n, err = 0, nil
		}
		if err != nil {
			return aftercare.FieldErrorf("retention_days", "%q is not a whole number of days (0 keeps message texts)", *ch.RetentionDays)
		}
		c.RetentionDays = n
	}
	return nil
}
