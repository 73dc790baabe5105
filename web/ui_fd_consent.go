package web

import (
	"context"
	"fmt"

	"github.com/aftercare/aftercare"
)

// ConsentRow is one consent event as the patient's page shows it.
type ConsentRow struct {
	When    string // in the clinic's zone, which it names
	Channel string // "SMS", "email"
	Given   bool   // false: withdrawn
	How     string // the source, for people
	By      string // the staff user's name, "" when none
}

// consentHistory returns the patient's consent events for the page, with
// the staff users named.
func (s *Server) consentHistory(ctx context.Context, c *aftercare.Clinic, patientID int64) ([]ConsentRow, error) {
	evs, err := s.Store.ListConsentEvents(ctx, c.ID, patientID)
	if err != nil || len(evs) == 0 {
		return nil, err
	}
	names := map[int64]string{}
	for _, e := range evs {
		if e.UserID != 0 {
			users, err := s.Store.ListUsers(ctx, c.ID)
			if err != nil {
				return nil, err
			}
			for _, u := range users {
				names[u.ID] = u.Name
			}
			break
		}
	}
	loc := clinicZone(c)
	out := make([]ConsentRow, 0, len(evs))
	for _, e := range evs {
		row := ConsentRow{When: mgrTime(e.At, loc, whenLayout+" MST"), Channel: map[aftercare.Channel]string{aftercare.SMS: "SMS", aftercare.Email: "email"}[e.Channel],
			Given: e.Action == aftercare.ConsentGiven, How: consentHow(e.Source)}
		if e.UserID != 0 {
			row.By = names[e.UserID]
			if row.By == "" {
				row.By = fmt.Sprintf("user %d", e.UserID)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// consentHow says how a consent event came about, for people.
func consentHow(src string) string {
	switch src {
	case "sms:STOP":
		return "the patient texted STOP"
	case "sms:START":
		return "the patient texted START"
	case "twilio:21610":
		return "Twilio: the number had opted out (error 21610)"
	case "email:unsubscribe":
		return "the patient unsubscribed by email"
	}
	return PatientPage{}.SourceLabel(src)
}
