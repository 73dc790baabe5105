package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/templates"
)

// Inbound handles the texts patients send to a clinic's number: STOP,
// START and HELP, plain-language opt-outs, warning signs, and every other
// reply, which lands in the clinic's inbox. It also sends staff answers.
//
// Answers go out as messages like any other (the log shows them), on the
// patient's latest enrollment. Sent now, they are claimed under the
// Dispatcher's owner and handed to its SMS route at once; queued (quiet
// hours, or no Dispatcher), the dispatcher sends them when due.
type Inbound struct {
	Store aftercare.Store
	// Dispatcher sends answers now through its routes (nil: answers are
	// queued for the dispatcher, and no alert email is sent).
	Dispatcher *dispatch.Dispatcher
	// ServerFrom is the server's own SMS sender (TWILIO_FROM, or
	// TWILIO_MESSAGING_SERVICE_SID): the sender of every clinic without
	// its own SMSFrom.
	ServerFrom string
	Now        func() time.Time
	Logger     *slog.Logger
}

// InboundSMS is a text as Twilio received it.
type InboundSMS struct {
	SID                 string // MessageSid
	From, To            string // E.164
	Body                string
	MessagingServiceSID string // set when To belongs to a Messaging Service
	NumMedia            int
}

func (in *Inbound) now() time.Time {
	if in.Now == nil {
		return time.Now().UTC()
	}
	return in.Now().UTC()
}

func (in *Inbound) logger() *slog.Logger {
	if in.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return in.Logger
}

// Receive handles one inbound text. duplicate is true, and nothing
// happens, when a text with the same SID was received before (a replayed
// or retried webhook). The reply is kept whoever sent it; an opt-out is
// applied before anything else, so that nothing more is sent.
func (in *Inbound) Receive(ctx context.Context, sms InboundSMS) (r *aftercare.Reply, duplicate bool, err error) {
	if sms.SID == "" || sms.From == "" {
		return nil, false, aftercare.Errorf(aftercare.EINVALID, "an inbound text needs a MessageSid and a From number")
	}
	if seen, err := in.Store.ReplySeen(ctx, sms.SID); err != nil || seen {
		return nil, seen, err
	}
	now := in.now()
	clinic, err := in.clinicFor(ctx, sms)
	if err != nil {
		return nil, false, err
	}
	cl := ClassifyReply(sms.Body)
	r = &aftercare.Reply{ClinicID: clinic.ID, From: sms.From, To: sms.To, Body: sms.Body, ProviderID: sms.SID,
		ReceivedAt: now, Kind: cl.Kind, RedFlag: len(cl.RedFlags) > 0, RedFlagWords: strings.Join(cl.RedFlags, ", ")}
	if sms.NumMedia > 0 {
		r.Body = strings.TrimSpace(r.Body + fmt.Sprintf(" [%d picture(s) attached: see Twilio's console]", sms.NumMedia))
	}
	var p *aftercare.Patient
	match, err := in.Store.MatchReply(ctx, clinic.ID, sms.From, now)
	switch {
	case err == nil:
		r.PatientID, r.EnrollmentID, r.MessageID = match.PatientID, match.EnrollmentID, match.MessageID
		if p, err = in.Store.FindPatient(ctx, clinic.ID, match.PatientID); err != nil {
			return nil, false, err
		}
	case aftercare.ErrorCode(err) != aftercare.ENOTFOUND:
		return nil, false, err
	}
	// The opt-out first: it must hold before anything else is sent.
	if p != nil && (cl.Kind == aftercare.ReplyStop || cl.Kind == aftercare.ReplyStart) {
		ev := &aftercare.ConsentEvent{ClinicID: clinic.ID, PatientID: p.ID, Channel: aftercare.SMS, At: now,
			Source: "sms:" + cl.Keyword, Note: sms.Body, Action: aftercare.ConsentWithdrawn}
		if cl.Kind == aftercare.ReplyStart {
			ev.Action = aftercare.ConsentGiven
		}
		if _, err := in.Store.SetConsent(ctx, ev); err != nil {
			return nil, false, err
		}
		if p, err = in.Store.FindPatient(ctx, clinic.ID, p.ID); err != nil {
			return nil, false, err
		}
	}
	created, err := in.Store.AddReply(ctx, r)
	if err != nil || !created {
		return nil, !created, err
	}
	in.logger().Info("reply received", "clinic", clinic.Slug, "reply", r.ID, "patient", r.PatientID, "kind", r.Kind,
		"red_flag", r.RedFlag, "from", aftercare.MaskPhone(sms.From))
	if r.RedFlag && cl.Kind != aftercare.ReplyStop {
		in.alert(ctx, clinic, p, r)
	}
	step, anyHour := in.answerFor(ctx, clinic, p, cl, now)
	if step == "" {
		return r, false, nil
	}
	lang := "en"
	if p != nil {
		lang = p.Lang
	}
	if _, err := in.send(ctx, clinic, p, sms.From, r.EnrollmentID, step, answerText(step, clinic, lang), lang, anyHour, 0); err != nil {
		in.logger().Error("answering a reply", "reply", r.ID, "step", step, "err", err)
		return r, false, nil
	}
	if err := in.Store.SetAutoAnswered(ctx, clinic.ID, r.ID); err != nil {
		return r, false, err
	}
	r.AutoAnswered = true
	return r, false, nil
}

// answerFor decides Aftercare's answer to a reply: its step key, and
// whether it goes at any hour ("" for none).
func (in *Inbound) answerFor(ctx context.Context, c *aftercare.Clinic, p *aftercare.Patient, cl Classification, now time.Time) (string, bool) {
	optedOut := p != nil && !p.SMSOptOutAt.IsZero()
	switch cl.Kind {
	case aftercare.ReplyStop:
		// Twilio's own opt-out handling answers its keywords, not plain words.
		if c.TwilioOptOutReplies && cl.Keyword != "PLAIN" {
			return "", false
		}
		return aftercare.StepReplyStop, true
	case aftercare.ReplyStart:
		if c.TwilioOptOutReplies {
			return "", false
		}
		return aftercare.StepReplyStart, true
	case aftercare.ReplyHelp:
		if c.TwilioOptOutReplies {
			return "", false
		}
		return aftercare.StepReplyHelp, true
	}
	if optedOut {
		return "", false
	}
	if len(cl.RedFlags) > 0 {
		return aftercare.StepReplyRedFlag, true
	}
	if p == nil {
		return "", false // an unknown number gets no daily answer: it may be anyone
	}
	// One automatic answer a day at most, per patient and clinic's local day.
	loc, err := aftercare.LoadZone(c.TZ)
	if err != nil {
		loc = time.UTC
	}
	l := now.In(loc)
	midnight, _ := aftercare.WallTime(loc, l.Year(), l.Month(), l.Day(), 0, 0)
	n, err := in.Store.CountAnswers(ctx, c.ID, p.ID, []string{aftercare.StepReplyAuto}, midnight)
	if err != nil || n > 0 {
		return "", false
	}
	return aftercare.StepReplyAuto, false
}

// send sends an answer: a message of the enrollment, sent now (anyHour, or
// inside the patient's send window) or queued to the window's opening. An
// unknown sender's answer (no patient, no enrollment) goes straight to the
// provider and shows only in the server's log.
func (in *Inbound) send(ctx context.Context, c *aftercare.Clinic, p *aftercare.Patient, to string, enrollmentID int64, step, body, lang string, anyHour bool, userID int64) (*aftercare.Message, error) {
	segs, _ := templates.Segments(body)
	now := in.now()
	if p == nil || enrollmentID == 0 {
		if in.Dispatcher == nil {
			return nil, nil
		}
		return nil, in.sendDirect(ctx, c, to, step, body, lang)
	}
	m := &aftercare.Message{ClinicID: c.ID, EnrollmentID: enrollmentID, PatientID: p.ID, StepKey: step, Channel: aftercare.SMS,
		Lang: lang, Body: body, Segments: segs, SendAt: now, ExpiresAt: now.Add(aftercare.DefaultExpires)}
	if userID != 0 {
		m.Note = fmt.Sprintf("answer by staff user %d", userID)
	}
	if !anyHour {
		loc, err := aftercare.LoadZone(p.TZ)
		if err != nil {
			loc = time.UTC
		}
		if at, notes := intoWindow(now, loc, c.Window); !at.Equal(now) {
			m.SendAt, m.ExpiresAt, m.Note = at, at.Add(aftercare.DefaultExpires), joinNote(m.Note, strings.Join(notes, "; "))
		}
	}
	owner := ""
	if in.Dispatcher != nil && m.SendAt.Equal(now) {
		owner = in.Dispatcher.Owner
	}
	if err := in.Store.AddReplyMessage(ctx, m, owner); err != nil {
		return nil, err
	}
	if owner == "" {
		return m, nil
	}
	return m, in.Dispatcher.SendNow(ctx, &aftercare.Claimed{Message: m, Patient: p, Clinic: c})
}

// sendDirect answers an unknown number (HELP, STOP, a red flag) through
// the SMS route without a message row: there is no patient to keep it on,
// so the server's log is its record.
func (in *Inbound) sendDirect(ctx context.Context, c *aftercare.Clinic, to, step, body, lang string) error {
	route, ok := in.Dispatcher.Routes[aftercare.SMS]
	if !ok {
		return fmt.Errorf("no SMS route")
	}
	now := in.now()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	rcpt, err := route.Sender.Send(ctx, &aftercare.Outgoing{ClinicID: c.ID, Channel: aftercare.SMS, To: to, From: c.SMSFrom,
		Lang: lang, Body: body, ClinicName: c.Name, ClinicPhone: c.Phone, ExpiresAt: now.Add(time.Hour), Attempt: 1})
	in.logger().Info("answer to an unknown number", "clinic", c.Slug, "step", step, "to", aftercare.MaskPhone(to),
		"sender", route.Name, "provider_id", rcpt.ProviderID, "err", err)
	return err
}

// clinicFor finds the clinic a text was sent to: the clinic whose sender
// (its SMSFrom, or the server's for a clinic without one) is the number
// the text was sent to or the Messaging Service it came through. When
// several clinics share that sender (a Messaging Service, or the server's
// number), the one with a patient of the sender's number wins, the default
// clinic first; when none matches, the default clinic keeps the reply.
func (in *Inbound) clinicFor(ctx context.Context, sms InboundSMS) (*aftercare.Clinic, error) {
	clinics, err := in.Store.ListClinics(ctx)
	if err != nil {
		return nil, err
	}
	var cands []*aftercare.Clinic
	for _, c := range clinics {
		from := c.SMSFrom
		if from == "" {
			from = in.ServerFrom
		}
		if from != "" && (from == sms.To || from == sms.MessagingServiceSID) {
			if c.Default {
				cands = append([]*aftercare.Clinic{c}, cands...)
			} else {
				cands = append(cands, c)
			}
		}
	}
	if len(cands) == 1 {
		return cands[0], nil
	}
	for _, c := range cands {
		if _, err := in.Store.MatchReply(ctx, c.ID, sms.From, in.now()); err == nil {
			return c, nil
		} else if aftercare.ErrorCode(err) != aftercare.ENOTFOUND {
			return nil, err
		}
	}
	if len(cands) > 0 {
		return cands[0], nil
	}
	return in.Store.FindClinic(ctx, "")
}

// alert emails a red-flag reply to the clinic's alert address through the
// email route. A failure is logged, not returned: the reply is kept and
// highlighted in the inbox whatever happens to the email.
func (in *Inbound) alert(ctx context.Context, c *aftercare.Clinic, p *aftercare.Patient, r *aftercare.Reply) {
	if c.AlertEmail == "" || in.Dispatcher == nil {
		return
	}
	route, ok := in.Dispatcher.Routes[aftercare.Email]
	if !ok {
		return
	}
	who := "an unknown number"
	if p != nil {
		who = p.Name
	}
	subject, body := alertText(c, r, who)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, err := route.Sender.Send(ctx, &aftercare.Outgoing{ClinicID: c.ID, Channel: aftercare.Email, To: c.AlertEmail,
		ToName: c.Name, Subject: subject, Body: body, Lang: "en", From: c.EmailFrom, ClinicName: c.Name, ClinicPhone: c.Phone,
		ExpiresAt: in.now().Add(time.Hour), Attempt: 1})
	if err != nil {
		in.logger().Error("red-flag alert email failed", "clinic", c.Slug, "reply", r.ID, "err", err)
		return
	}
	in.logger().Info("red-flag alert emailed", "clinic", c.Slug, "reply", r.ID, "to", aftercare.MaskEmail(c.AlertEmail))
}

// Answer sends a staff member's answer to a patient: an SMS like any other,
// on the patient's latest enrollment. It respects consent and opt-outs
// (EUNPROCESSABLE when the patient cannot receive texts) and quiet hours
// (queued to the window's opening). It returns the message.
func (in *Inbound) Answer(ctx context.Context, clinicID, patientID, userID int64, body string) (*aftercare.Message, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return nil, aftercare.FieldErrorf("body", "write the answer first")
	}
	if n, _ := templates.Segments(body); n > 10 {
		return nil, aftercare.FieldErrorf("body", "the answer is too long for a text (%d segments); keep it under about 1,500 characters", n)
	}
	c, err := in.Store.FindClinicByID(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	p, err := in.Store.FindPatient(ctx, clinicID, patientID)
	if err != nil {
		return nil, err
	}
	if !p.CanReceive(aftercare.SMS) {
		return nil, aftercare.Errorf(aftercare.EUNPROCESSABLE, "%s cannot receive texts: %s", p.Name,
			strings.TrimPrefix(whyNotSMS(p), "skipped: "))
	}
	es, err := in.Store.ListEnrollments(ctx, aftercare.EnrollmentFilter{ClinicID: clinicID, PatientID: patientID, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, aftercare.Errorf(aftercare.EUNPROCESSABLE, "%s has no enrollment to keep the answer with", p.Name)
	}
	if !strings.Contains(body, c.Name) {
		body = c.Name + ": " + body // every message names the clinic
	}
	return in.send(ctx, c, p, p.Phone, es[0].Enrollment.ID, aftercare.StepReplyStaff, body, p.Lang, false, userID)
}

func whyNotSMS(p *aftercare.Patient) string {
	switch {
	case !p.SMSOptOutAt.IsZero():
		return "they opted out of texts"
	case p.Phone == "":
		return "they have no phone number"
	}
	return "they have not consented to texts"
}
