package scheduler

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// CarePage is what a patient's own page (/p/TOKEN) shows of one
// enrollment: no more than the texts do. The first name, never the full
// name, phone or email; the treatment's name only where the clinic lets
// the texts name it; the texts as they were planned for this patient
// (already written with the clinic's choices), without staff notes.
type CarePage struct {
	Lang       string // the patient's language, for the page's own words
	FirstName  string
	ClinicName string
	// ClinicPhone is E.164 for a tel: link, ClinicPhoneDisplay for people;
	// both empty when the clinic has no phone.
	ClinicPhone, ClinicPhoneDisplay string
	Treatment                       string // "" unless Clinic.ShowTreatment
	Cancelled                       bool   // the clinic stopped these messages
	Now                             time.Time
	Today                           []CareMessage // due today, in the patient's zone
	Coming                          []CareMessage // the next few, after today
	// Dates are the protocol's one-off steps after today (recurring
	// reminders left out): when makeup, the gym or actives come back,
	// when to book, each with the first sentence of its text.
	Dates []CareMessage
}

// CareMessage is one message as the patient's page shows it.
type CareMessage struct {
	At      time.Time // in the patient's zone
	Channel aftercare.Channel
	Subject string // email only
	Body    string // the text, without the opt-out notice or page link
	Gone    bool   // it went out (or was handed to a provider) already
}

// ComingUp is how many messages "Coming up" lists.
const ComingUp = 4

// CarePage returns the page of an enrollment as of now. ENOTFOUND when the
// clinic has no such enrollment.
func (s *Service) CarePage(ctx context.Context, clinicID, enrollmentID int64, now time.Time) (*CarePage, error) {
	clinic, err := s.Store.FindClinicByID(ctx, clinicID)
	if err != nil {
		return nil, err
	}
	r, err := s.Enrollment(ctx, clinicID, enrollmentID)
	if err != nil {
		return nil, err
	}
	loc, err := aftercare.LoadZone(r.Patient.TZ)
	if err != nil {
		return nil, err
	}
	cp, err := s.protocolByID(ctx, clinicID, r.Enrollment.ProtocolID)
	if err != nil {
		return nil, err
	}
	lang := r.Patient.Lang
	pg := &CarePage{
		Lang: lang, FirstName: r.Patient.FirstName(), ClinicName: clinic.Name,
		ClinicPhone: clinic.Phone, ClinicPhoneDisplay: displayPhone(clinic.Phone),
		Cancelled: r.Enrollment.Status == aftercare.EnrollmentCancelled, Now: now.In(loc),
	}
	if clinic.ShowTreatment {
		pg.Treatment = cp.Protocol.Treatment[lang]
	}
	if pg.Cancelled {
		return pg, nil
	}
	oneOff := map[string]bool{}
	for _, st := range cp.Protocol.Steps {
		oneOff[st.Key] = st.Timing.Kind != aftercare.TimingEvery
	}
	ny, nm, nd := now.In(loc).Date()
	today := time.Date(ny, nm, nd, 0, 0, 0, 0, loc)
	tomorrow := today.AddDate(0, 0, 1)
	// One entry per step occurrence under Coming, and per step under
	// Dates: the text where there is one (short), else the email's subject.
	coming, dated := map[string]int{}, map[string]int{}
	put := func(list *[]CareMessage, idx map[string]int, key string, cm CareMessage, limit int) {
		if i, ok := idx[key]; ok {
			if (*list)[i].Channel == aftercare.Email && cm.Channel == aftercare.SMS {
				(*list)[i] = cm
			}
			return
		}
		if limit == 0 || len(*list) < limit {
			idx[key] = len(*list)
			*list = append(*list, cm)
		}
	}
	for _, m := range r.Messages {
		if m.Status == aftercare.StatusSkipped || m.Status == aftercare.StatusCancelled {
			continue
		}
		at := m.SendAt.In(loc)
		if at.Before(today) {
			continue
		}
		cm := CareMessage{At: at, Channel: m.Channel, Subject: m.Subject, Body: aftercare.WithoutAdditions(m.Body, m.Lang),
			Gone: m.Status != aftercare.StatusPending}
		if at.Before(tomorrow) {
			pg.Today = append(pg.Today, cm)
		} else {
			put(&pg.Coming, coming, fmt.Sprintf("%s#%d", m.StepKey, m.Occurrence), brief(cm, clinic.Name, false), ComingUp)
		}
		if oneOff[m.StepKey] && !at.Before(tomorrow) {
			put(&pg.Dates, dated, m.StepKey, brief(cm, clinic.Name, true), 0)
		}
	}
	return pg, nil
}

const minSentence = 24

// brief shortens a message for a list: an email to its subject; a text
// without the clinic's name in front, and, with firstSentence, to its
// first sentence.
func brief(m CareMessage, clinicName string, firstSentence bool) CareMessage {
	if m.Channel == aftercare.Email {
		m.Body = m.Subject
		return m
	}
	m.Body = strings.TrimPrefix(m.Body, clinicName+": ")
	if firstSentence {
		// A greeting ("Good morning!") is no summary: the cut is made at
		// the first sentence end after minSentence bytes.
		for i := minSentence; i+1 < len(m.Body); i++ {
			if c := m.Body[i]; (c == '.' || c == '!' || c == '?') && (m.Body[i+1] == ' ' || m.Body[i+1] == '\n') {
				m.Body = m.Body[:i+1]
				break
			}
		}
	}
	return m
}
