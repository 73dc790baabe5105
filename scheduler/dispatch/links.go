package dispatch

import (
	"time"

	"github.com/aftercare/aftercare"
)

// Links makes the signed links Aftercare puts in patients' messages. The
// dispatcher asks for them while sending, so that a link's lifetime starts
// when the message goes, not when it was planned weeks before.
type Links interface {
	// Unsubscribe returns the URL that stops a patient's emails at once
	// (a POST, RFC 8058) or shows a page that asks first (a GET).
	Unsubscribe(clinicID, patientID int64, now time.Time) string
}

// UnsubscribePath is where the web server answers unsubscribe links:
// UnsubscribePath + token.
const UnsubscribePath = "/u/"

// UnsubscribeLifetime is how long an unsubscribe link works after its email
// was sent: a year. An email can sit in an inbox for months and the
// patient who opens it late must still be able to stop the next ones (the
// longest built-in protocol lasts weeks, a clinic's own may last months;
// mail providers also check the link long after delivery). A link that
// leaks lets someone only stop emails, which the clinic can undo; a year
// bounds how long an old forwarded email keeps that power.
const UnsubscribeLifetime = 365 * 24 * time.Hour

// SignedLinks makes links under BaseURL with tokens signed by Signer.
type SignedLinks struct {
	Signer  *aftercare.Signer
	BaseURL string // AFTERCARE_PUBLIC_URL without a trailing slash, e.g. https://care.example.com
}

var _ Links = SignedLinks{}

// Unsubscribe returns BaseURL/u/TOKEN, the token valid for
// UnsubscribeLifetime from now.
func (l SignedLinks) Unsubscribe(clinicID, patientID int64, now time.Time) string {
	tok := l.Signer.Sign(aftercare.PurposeUnsubscribe, clinicID, patientID, now.Add(UnsubscribeLifetime))
	return l.BaseURL + UnsubscribePath + tok
}
