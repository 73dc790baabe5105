package dispatch

import (
	"context"
	"strings"
	"time"

	"github.com/aftercare/aftercare"
)

// PageLinks makes the links to patients' own pages, /p/TOKEN under the
// public URL. The token is signed (aftercare.PurposePatientPage) and names
// the clinic and the enrollment: the page is per enrollment.
type PageLinks struct {
	Signer    *aftercare.Signer
	PublicURL string                 // AFTERCARE_PUBLIC_URL, no trailing slash
	Store     aftercare.MessageStore // to date a link's expiry from its enrollment
}

// PageGrace is how long a patient's page stays open after the enrollment's
// last planned message. The last messages say what may come back and when
// to book again; a week leaves time to read them again and covers a
// message that went out late, without leaving a page about someone's
// treatment open for good.
const PageGrace = 7 * 24 * time.Hour

// Enabled reports whether links can be made at all: there is a key and a
// public address to put in front of the token (a link to localhost would
// help no patient).
func (l *PageLinks) Enabled() bool {
	return l != nil && l.Signer != nil && l.PublicURL != ""
}

// PageExpiry is when the page of an enrollment with msgs stops opening:
// PageGrace after its last planned message (cancelled ones do not count
// unless nothing else is left), rounded up to the next midnight UTC, so
// that every message of the enrollment carries the same link.
func PageExpiry(msgs []*aftercare.Message) time.Time {
	var last, lastAny time.Time
	for _, m := range msgs {
		if m.SendAt.After(lastAny) {
			lastAny = m.SendAt
		}
		if m.Status != aftercare.StatusCancelled && m.SendAt.After(last) {
			last = m.SendAt
		}
	}
	if last.IsZero() {
		last = lastAny
	}
	return last.UTC().Add(PageGrace).Truncate(24 * time.Hour).Add(24 * time.Hour)
}

// URLFor returns the page link of an enrollment whose messages are msgs.
func (l *PageLinks) URLFor(clinicID, enrollmentID int64, msgs []*aftercare.Message) string {
	tok := l.Signer.Sign(aftercare.PurposePatientPage, clinicID, enrollmentID, PageExpiry(msgs))
	return l.PublicURL + "/p/" + tok
}

// URL returns the page link of an enrollment, reading its messages.
func (l *PageLinks) URL(ctx context.Context, clinicID, enrollmentID int64) (string, error) {
	msgs, err := l.Store.ListMessages(ctx, aftercare.MessageFilter{ClinicID: clinicID, EnrollmentID: enrollmentID})
	if err != nil {
		return "", err
	}
	return l.URLFor(clinicID, enrollmentID, msgs), nil
}

// placeholderToken has the length of a real token (24 bytes and a 32-byte
// MAC, unpadded base64): the preview counts the segments the link costs.
var placeholderToken = strings.Repeat("x", 32) + "." + strings.Repeat("x", 43)

// Placeholder is a link of a real link's length, for previews: the real one
// needs the enrollment's id, which exists only once it is stored.
func (l *PageLinks) Placeholder() string { return l.PublicURL + "/p/" + placeholderToken }

// addPageLink puts the patient's page link in a claimed message when its
// clinic turned patient links on: into the text of the first SMS of the
// enrollment (changed reports it), and in the email's PageURL. A link that
// cannot be made is left out, never holding the message back.
func (d *Dispatcher) addPageLink(ctx context.Context, c *aftercare.Claimed) (pageURL string, changed bool) {
	m := c.Message
	if !d.Pages.Enabled() || !c.Clinic.PatientLinks || (m.Channel == aftercare.SMS && !c.FirstSMS) {
		return "", false
	}
	if m.Channel == aftercare.SMS && strings.Contains(m.Body, d.Pages.PublicURL+"/p/") {
		return "", false // a retry of a text that has it already
	}
	u, err := d.Pages.URL(ctx, m.ClinicID, m.EnrollmentID)
	if err != nil {
		d.Logger.Warn("patient page link left out", "message", m.ID, "err", err)
		return "", false
	}
	if m.Channel != aftercare.SMS {
		return u, false
	}
	m.Body, m.Segments = aftercare.WithPageLink(m.Body, m.Lang, u)
	return u, true
}
