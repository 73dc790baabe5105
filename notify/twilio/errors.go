package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/aftercare/aftercare"
)

// Twilio error codes that decide a failure's kind.
const (
	codeTooManyRequests = 20429
	codeUnsubscribed    = 21610 // the recipient replied STOP
)

// classify turns what twilio-go returned, and what the call's transport
// saw, into an *aftercare.SendError. When ctx ended the call, the result
// also wraps ctx.Err().
func (s *Sender) classify(ctx context.Context, c *call, err error, to string) error {
	wrote, timedOut, status, header := c.state()
	rest, hasRest := errorsAsRest(err)
	if status == 0 && hasRest && rest.Status != 0 {
		status = rest.Status
	}
	e := &aftercare.SendError{}
	if hasRest && rest.Code != 0 {
		e.Code = strconv.Itoa(rest.Code)
		// Twilio quotes the number back ("The 'To' number +1... is not
		// valid"); the text ends up in logs.
		e.Message = strings.ReplaceAll(rest.Message, to, aftercare.MaskPhone(to))
	}
	if ra, ok := retryAfter(header, s.Now()); ok {
		e.RetryAfter = ra
	}

	switch {
	case status == 0 && !wrote:
		// Nothing reached Twilio: refused, DNS, TLS, or cancelled first.
		e.Kind = aftercare.Transient
		e.Message = "could not reach Twilio: " + transportText(err)
		if ctx.Err() != nil {
			e.Message = "cancelled before the request to Twilio was sent"
		}
	case status == 0:
		e.Kind = aftercare.Ambiguous
		switch {
		case ctx.Err() != nil:
			e.Message = "cancelled after the request was sent to Twilio; the message may have been sent"
		case timedOut:
			e.Message = fmt.Sprintf("no answer from Twilio within %s after the request was sent; the message may have been sent", s.cfg.Timeout)
		default:
			e.Message = "connection to Twilio lost after the request was sent; the message may have been sent: " + transportText(err)
		}
	case status == http.StatusTooManyRequests || (hasRest && rest.Code == codeTooManyRequests):
		e.Kind = aftercare.Transient
		if e.Code == "" {
			e.Code = strconv.Itoa(status)
		}
		if e.Message == "" {
			e.Message = "Twilio is rate limiting requests"
		}
	case status >= 500:
		e.Kind = aftercare.Ambiguous
		if e.Code == "" {
			e.Code = strconv.Itoa(status)
		}
		e.Message = fmt.Sprintf("Twilio answered HTTP %d %s; the message may have been sent", status, http.StatusText(status))
		if hasRest && rest.Message != "" {
			e.Message += ": " + strings.ReplaceAll(rest.Message, to, aftercare.MaskPhone(to))
		}
	case status == http.StatusRequestTimeout:
		// The server gave up reading the request: it was not taken.
		e.Kind = aftercare.Transient
		e.Code = strconv.Itoa(status)
		e.Message = "Twilio timed out reading the request"
	case status >= 400:
		e.Kind = aftercare.Permanent
		if e.Code == "" {
			e.Code = strconv.Itoa(status)
			e.Message = fmt.Sprintf("Twilio refused the message with HTTP %d %s and no error code", status, http.StatusText(status))
		}
		e.OptOut = hasRest && rest.Code == codeUnsubscribed
	default:
		// A 2xx or 3xx whose body could not be read: Twilio may well have
		// created the message.
		e.Kind = aftercare.Ambiguous
		e.Code = ""
		e.Message = fmt.Sprintf("unreadable answer from Twilio (HTTP %d); the message may have been sent: %s", status, transportText(err))
		if timedOut {
			e.Message = fmt.Sprintf("Twilio's answer (HTTP %d) did not arrive in full within %s; the message may have been sent", status, s.cfg.Timeout)
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", e, cerr)
	}
	return e
}

// errorsAsRest reports the Twilio error inside err, if any.
func errorsAsRest(err error) (*client.TwilioRestError, bool) {
	var rest *client.TwilioRestError
	if errors.As(err, &rest) {
		return rest, true
	}
	return nil, false
}

// transportText is the error without the method and URL that net/http
// puts in front ("Post \"https://...\": dial tcp ...").
func transportText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// retryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
