package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Signature computes X-Twilio-Signature the way Twilio does for a
// form-encoded POST: the full URL (scheme, host, port as configured, path
// and query) followed by each form key and value, keys sorted, signed with
// HMAC-SHA1 under the auth token and base64-encoded. It is written from
// Twilio's documentation, independently of twilio-go's validator, so that
// tests of the validator are not circular.
func Signature(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// StatusForm is the form Twilio posts to a message's StatusCallback when
// its status changes. errorCode 0 leaves ErrorCode out, as Twilio does for
// messages without an error.
func StatusForm(accountSID string, m Message, status string, errorCode int) url.Values {
	f := url.Values{
		"AccountSid":    {accountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"To":            {m.To},
	}
	if m.From != "" {
		f.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		f.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		f.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	return f
}

// PostSigned posts form to fullURL with a valid X-Twilio-Signature for
// authToken, as Twilio calls a webhook. The caller closes the response body.
func PostSigned(ctx context.Context, client *http.Client, authToken, fullURL string, form url.Values) (*http.Response, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fullURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Signature(authToken, fullURL, form))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	return client.Do(req)
}

// SendStatus changes the status of the message sid (see SetStatus) and posts
// the signed status callback for it to callbackURL, or to the StatusCallback
// the message was created with when callbackURL is "". The caller closes the
// response body.
func (s *Server) SendStatus(ctx context.Context, callbackURL, sid, status string, errorCode int) (*http.Response, error) {
	if !s.SetStatus(sid, status, errorCode) {
		return nil, fmt.Errorf("twiliotest: no message %s", sid)
	}
	m, _ := s.Message(sid)
	if callbackURL == "" {
		callbackURL = m.StatusCallback
	}
	if callbackURL == "" {
		return nil, fmt.Errorf("twiliotest: message %s has no StatusCallback and none was given", sid)
	}
	return PostSigned(ctx, nil, s.AuthToken, callbackURL, StatusForm(s.AccountSID, m, status, errorCode))
}

// InboundForm is the form Twilio posts to a number's incoming-message
// webhook when a text arrives from `from` for `to` (SmsStatus "received",
// NumMedia 0).
func InboundForm(accountSID, sid, from, to, body string) url.Values {
	return url.Values{
		"AccountSid":    {accountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {sid},
		"SmsMessageSid": {sid},
		"SmsSid":        {sid},
		"SmsStatus":     {"received"},
		"From":          {from},
		"To":            {to},
		"Body":          {body},
		"NumMedia":      {"0"},
		"NumSegments":   {"1"},
		"FromCountry":   {"US"},
		"ToCountry":     {"US"},
	}
}

// SendInbound posts a text from `from` to `to` to webhookURL, signed as
// Twilio signs it, with a new Message SID, which it returns. client nil is
// http.DefaultClient (one whose transport stands for a proxy can deliver a
// webhook URL on https to a test server on plain http). The caller closes
// the response body.
func (s *Server) SendInbound(ctx context.Context, client *http.Client, webhookURL, from, to, body string) (string, *http.Response, error) {
	s.mu.Lock()
	s.inbound++
	sid := fmt.Sprintf("SM%032x", 1<<40+s.inbound)
	s.mu.Unlock()
	resp, err := PostSigned(ctx, client, s.AuthToken, webhookURL, InboundForm(s.AccountSID, sid, from, to, body))
	return sid, resp, err
}
