package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/url"
	"slices"
	"strconv"

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
	if u, err := url.Parse(fullURL); err == nil && u.Port() != "" && !defaultPort(u) {
		// twilio-go also accepts the URL with its port removed, whatever
		// the port: a non-default port is part of the address Twilio was
		// given, so it is checked as written.
		return exactSignature(authToken, fullURL, params, signature)
	}
	v := client.NewRequestValidator(authToken)
	return v.Validate(fullURL, params, signature)
}

func defaultPort(u *url.URL) bool {
	return u.Scheme == "https" && u.Port() == "443" || u.Scheme == "http" && u.Port() == "80"
}

// exactSignature checks Twilio's signature of fullURL as written: the URL,
// then each key and value with keys sorted, HMAC-SHA1, base64.
func exactSignature(authToken, fullURL string, params map[string]string, signature string) bool {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(fullURL))
	for _, k := range keys {
		mac.Write([]byte(k + params[k]))
	}
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	return subtle.ConstantTimeCompare([]byte(want), []byte(signature)) == 1
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

// Inbound is a text message Twilio received for one of the account's
// numbers, as its incoming-message webhook posts it.
type Inbound struct {
	SID                 string // MessageSid (SM...)
	AccountSID          string
	From, To            string // E.164
	Body                string
	MessagingServiceSID string // set when To belongs to a Messaging Service
	NumMedia            int    // pictures attached (MMS); their URLs stay at Twilio
}

// ParseInbound reads Twilio's incoming-message webhook form. ok is false
// when the form has no MessageSid or From, or is a status callback (it
// carries MessageStatus other than "received").
func ParseInbound(form url.Values) (in Inbound, ok bool) {
	in = Inbound{
		SID:                 form.Get("MessageSid"),
		AccountSID:          form.Get("AccountSid"),
		From:                form.Get("From"),
		To:                  form.Get("To"),
		Body:                form.Get("Body"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
	}
	if in.SID == "" {
		in.SID = form.Get("SmsSid")
	}
	if n, err := strconv.Atoi(form.Get("NumMedia")); err == nil && n > 0 {
		in.NumMedia = n
	}
	if st := form.Get("SmsStatus"); st != "" && st != "received" {
		return in, false
	}
	return in, in.SID != "" && in.From != ""
}
