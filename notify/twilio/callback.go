package twilio

import (
	"net/url"

	"github.com/twilio/twilio-go/client"

	"github.com/aftercare/aftercare"
)

// ValidSignature reports whether signature (the X-Twilio-Signature header)
// is Twilio's signature of a form-encoded POST to fullURL with form, under
// authToken. fullURL must be the URL exactly as configured at Twilio
// (scheme, host, any port, path and query), not as seen behind a proxy.
func ValidSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

// ParseStatus reads a Twilio status callback: the Message SID, its state,
// and Twilio's error code ("" when none). ok is false when the form has no
// SID or a status Aftercare does not track (received, scheduled, canceled,
// ...).
func ParseStatus(form url.Values) (sid string, status aftercare.Status, errorCode string, ok bool) {
	sid = form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	raw := form.Get("MessageStatus")
	if raw == "" {
		raw = form.Get("SmsStatus")
	}
	status, known := MapStatus(raw)
	if sid == "" || !known {
		return sid, "", form.Get("ErrorCode"), false
	}
	return sid, status, form.Get("ErrorCode"), true
}

// MapStatus maps a Twilio message status to Aftercare's: queued, accepted,
// sending and sent are StatusSent (Twilio has the message), delivered and
// read StatusDelivered, undelivered StatusUndelivered, failed StatusFailed.
// ok is false for any other status.
func MapStatus(twilioStatus string) (status aftercare.Status, ok bool) {
	switch twilioStatus {
	case "queued", "accepted", "sending", "sent":
		return aftercare.StatusSent, true
	case "delivered", "read":
		return aftercare.StatusDelivered, true
	case "undelivered":
		return aftercare.StatusUndelivered, true
	case "failed":
		return aftercare.StatusFailed, true
	}
	return "", false
}
