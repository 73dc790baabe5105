// Package twilio sends SMS through Twilio's Messages API (twilio-go) and
// reads Twilio's status callbacks.
//
// Sender implements aftercare.Sender and aftercare.Reconciler. Every failure
// of Send is an *aftercare.SendError that says whether the message can be
// retried (Transient), was refused for good (Permanent, with Twilio's code)
// or may have been sent (Ambiguous: reconcile with Lookup, never resend
// blindly). No twilio-go type leaves this package.
//
// Like every sender in notify/*, it imports the domain (the aftercare.Sender
// contract) and never the scheduler or its dispatcher: `go list -deps`
// shows no templates, YAML or cron behind a sender.
package twilio

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/aftercare/aftercare"
)

// Name is the Receipt.Sender of messages sent through Twilio.
const Name = "twilio"

// DefaultTimeout bounds one request to Twilio when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// ValidityPeriod limits from Twilio's contract: "integers from 1 to 36000".
const (
	minValidity = 1
	maxValidity = 36000
)

// Bounds on how many messages Lookup reads for one number: from since's
// day on, and among the newest (for messages not sent yet).
const (
	lookupLimit       = 1000
	unsentLookupLimit = 50
)

var (
	accountSIDRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alnumRE      = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
)

// Config is how to reach Twilio.
type Config struct {
	AccountSID string // AC followed by 32 hex digits
	AuthToken  string // never logged nor put in an error
	// From is the sending number (E.164). Either From or
	// MessagingServiceSID is required; with both, Twilio sends from From
	// within the service.
	From                string
	MessagingServiceSID string // MG followed by 32 hex digits
	// BaseURL, when set, replaces https://api.twilio.com (same paths): a
	// Twilio-compatible server for tests, or a proxy.
	BaseURL string
	// StatusCallbackURL, when set, is where Twilio posts status changes.
	StatusCallbackURL string
	// Timeout bounds each request to Twilio, from connecting to reading the
	// answer. Zero means DefaultTimeout.
	Timeout time.Duration
}

// Sender sends SMS through Twilio. It is safe for concurrent use.
type Sender struct {
	cfg    Config
	target *url.URL
	base   http.RoundTripper

	// Now is the clock used for ValidityPeriod and Retry-After dates;
	// time.Now unless a test sets it before the first Send.
	Now func() time.Time
}

var (
	_ aftercare.Sender     = (*Sender)(nil)
	_ aftercare.Reconciler = (*Sender)(nil)
)

// New checks cfg and returns a Sender. It returns an EINVALID
// *aftercare.Error whose field is the environment variable to fix
// (TWILIO_FROM, AFTERCARE_TWILIO_BASE_URL...; AFTERCARE_PUBLIC_URL for the
// status callback, which serve derives from it). It does not call Twilio.
func New(cfg Config) (*Sender, error) {
	cfg.AccountSID = strings.TrimSpace(cfg.AccountSID)
	cfg.From = strings.TrimSpace(cfg.From)
	cfg.MessagingServiceSID = strings.TrimSpace(cfg.MessagingServiceSID)
	switch {
	case cfg.AccountSID == "":
		return nil, aftercare.FieldErrorf("TWILIO_ACCOUNT_SID", "the Twilio Account SID is required (it starts with AC; see the Twilio console)")
	case !accountSIDRE.MatchString(cfg.AccountSID):
		return nil, aftercare.FieldErrorf("TWILIO_ACCOUNT_SID", "%q is not a Twilio Account SID: it is AC followed by 32 hexadecimal digits", cfg.AccountSID)
	case cfg.AuthToken == "":
		return nil, aftercare.FieldErrorf("TWILIO_AUTH_TOKEN", "the Twilio auth token is required")
	case !alnumRE.MatchString(cfg.AuthToken):
		// Never echo the token.
		return nil, aftercare.FieldErrorf("TWILIO_AUTH_TOKEN", "the Twilio auth token must be letters and digits only; check it was copied without spaces or quotes")
	case cfg.From == "" && cfg.MessagingServiceSID == "":
		return nil, aftercare.FieldErrorf("TWILIO_FROM", "set the sending number (From, E.164 such as +14155550100) or a Messaging Service SID")
	case cfg.From != "" && !e164RE.MatchString(cfg.From):
		return nil, aftercare.FieldErrorf("TWILIO_FROM", "the sending number %q is not in E.164 form: write it as + country code and number, e.g. +14155550100", cfg.From)
	case cfg.MessagingServiceSID != "" && !serviceSIDRE.MatchString(cfg.MessagingServiceSID):
		return nil, aftercare.FieldErrorf("TWILIO_MESSAGING_SERVICE_SID", "%q is not a Messaging Service SID: it is MG followed by 32 hexadecimal digits", cfg.MessagingServiceSID)
	case cfg.Timeout < 0:
		return nil, aftercare.FieldErrorf("TWILIO_TIMEOUT", "the timeout must not be negative, got %s", cfg.Timeout)
	}
	if cfg.BaseURL != "" {
		u, err := url.Parse(cfg.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return nil, aftercare.FieldErrorf("AFTERCARE_TWILIO_BASE_URL", "%q is not an http(s) base URL such as https://api.twilio.com or http://127.0.0.1:4010", cfg.BaseURL)
		}
	}
	if cfg.StatusCallbackURL != "" {
		u, err := url.Parse(cfg.StatusCallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || strings.Contains(u.Hostname(), "_") {
			return nil, aftercare.FieldErrorf("AFTERCARE_PUBLIC_URL", "%q is not a usable status callback URL: give the full public http(s) address of the webhook (no underscores in the host name)", cfg.StatusCallbackURL)
		}
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Sender{cfg: cfg, target: rewriteTarget(cfg.BaseURL), base: newPool(), Now: time.Now}, nil
}

// newCall returns the transport and the twilio-go API client for one Send
// or Lookup under ctx.
func (s *Sender) newCall(ctx context.Context) (*call, *api.ApiService) {
	c := &call{base: s.base, ctx: ctx, timeout: s.cfg.Timeout, target: s.target}
	tc := &client.Client{
		Credentials: client.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken),
		HTTPClient: &http.Client{
			Transport:     c,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	tc.SetAccountSid(s.cfg.AccountSID)
	// A RequestHandler without Edge or Region: BaseURL, not TWILIO_EDGE and
	// TWILIO_REGION from the environment, decides where requests go.
	return c, api.NewApiService(&client.RequestHandler{Client: tc})
}

// Send hands m to Twilio. It returns a Receipt with the Message SID and
// Twilio's status ("queued", "accepted") when Twilio took the message, and
// otherwise an *aftercare.SendError:
//
//   - Transient: HTTP 429 or Twilio 20429 (RetryAfter from Retry-After), or
//     the request could not be sent (connection refused, DNS failure,
//     cancelled before it was written);
//   - Permanent: any other 4xx with Twilio's code and message (21211 invalid
//     number, 21614 not a mobile, 30006 landline or unreachable, 21610
//     unsubscribed, which sets OptOut);
//   - Ambiguous: HTTP 5xx, a timeout or a lost connection after the request
//     was written, an unreadable answer. The message may have been sent.
//
// When ctx ends the call, the error also wraps ctx.Err().
func (s *Sender) Send(ctx context.Context, m *aftercare.Outgoing) (aftercare.Receipt, error) {
	if m.Channel != "" && m.Channel != aftercare.SMS {
		return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Permanent, Message: fmt.Sprintf("the Twilio sender sends SMS, not %s", m.Channel)}
	}
	if err := ctx.Err(); err != nil {
		return aftercare.Receipt{}, fmt.Errorf("%w (%w)", &aftercare.SendError{Kind: aftercare.Transient, Message: "cancelled before the request to Twilio was sent"}, err)
	}
	p := &api.CreateMessageParams{}
	p.SetTo(m.To)
	p.SetBody(m.Body)
	from, service := s.sender(m)
	if from != "" {
		p.SetFrom(from)
	}
	if service != "" {
		p.SetMessagingServiceSid(service)
	}
	if s.cfg.StatusCallbackURL != "" {
		p.SetStatusCallback(s.cfg.StatusCallbackURL)
	}
	if v, ok := validityPeriod(m.ExpiresAt, s.Now()); ok {
		p.SetValidityPeriod(v)
	}
	if m.Attempt > 0 {
		p.SetAttempt(m.Attempt)
	}

	// twilio-go leaves the body of an error reply open; ending the call's
	// context releases its connection and deadline.
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, svc := s.newCall(callCtx)
	msg, err := svc.CreateMessage(p)
	if err != nil {
		return aftercare.Receipt{}, s.classify(ctx, c, err, m.To)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Ambiguous, Message: "Twilio answered without a message SID"}
	}
	return aftercare.Receipt{Sender: Name, ProviderID: *msg.Sid, ProviderStatus: deref(msg.Status)}, nil
}

// sender is the number and Messaging Service a message goes from: the
// clinic's own (m.From: a number or an MG... SID) or the configured ones.
func (s *Sender) sender(m *aftercare.Outgoing) (from, service string) {
	switch {
	case strings.HasPrefix(m.From, "MG"):
		return "", m.From
	case m.From != "":
		return m.From, ""
	}
	return s.cfg.From, s.cfg.MessagingServiceSID
}

// validityPeriod is the seconds left until expires, within Twilio's range;
// ok is false when there is no expiry or it has passed.
func validityPeriod(expires, now time.Time) (int, bool) {
	if expires.IsZero() {
		return 0, false
	}
	left := expires.Sub(now)
	if left <= 0 {
		return 0, false
	}
	return int(min(max(int64(left/time.Second), minValidity), maxValidity)), true
}

// Lookup finds the message Twilio made for m since the given time: the
// newest outbound message to m.To from this sender (From, or the Messaging
// Service) whose body is exactly m.Body and which Twilio created at or after
// since. It asks Twilio for the messages to m.To sent on or after since's
// day (the API's DateSent filter has a granularity of a day) and compares
// times itself; when none matches, it also reads the newest messages to
// m.To without a date filter, because a message Twilio has not sent yet (a
// Messaging Service's queue) has no date_sent and escapes that filter.
// found is false when Twilio has no such message. Errors are Twilio's or the
// network's; they say nothing about whether the message was sent.
//
// A Messaging Service that rewrites bodies (smart encoding) defeats the
// exact body match; Lookup then reports nothing found.
func (s *Sender) Lookup(ctx context.Context, m *aftercare.Outgoing, since time.Time) (aftercare.Receipt, bool, error) {
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	from, service := s.sender(m)
	list := func(p *api.ListMessageParams) ([]api.ApiV2010Message, error) {
		p.SetTo(m.To)
		if service == "" {
			p.SetFrom(from)
		}
		c, svc := s.newCall(callCtx)
		msgs, err := svc.ListMessage(p)
		if err != nil {
			return nil, fmt.Errorf("twilio: looking up messages to %s: %w", aftercare.MaskPhone(m.To), s.classify(ctx, c, err, m.To))
		}
		return msgs, nil
	}

	p := &api.ListMessageParams{}
	if !since.IsZero() {
		y, mo, d := since.UTC().Date()
		p.SetDateSentAfter(time.Date(y, mo, d, 0, 0, 0, 0, time.UTC))
	}
	p.SetPageSize(100)
	p.SetLimit(lookupLimit)
	msgs, err := list(p)
	if err != nil {
		return aftercare.Receipt{}, false, err
	}
	if r, ok := s.newestMatch(msgs, m, since); ok || since.IsZero() {
		return r, ok, nil
	}

	p = &api.ListMessageParams{}
	p.SetPageSize(unsentLookupLimit)
	p.SetLimit(unsentLookupLimit)
	if msgs, err = list(p); err != nil {
		return aftercare.Receipt{}, false, err
	}
	r, ok := s.newestMatch(msgs, m, since)
	return r, ok, nil
}

// newestMatch picks the newest of msgs that is m, sent by this sender and
// created at or after since.
func (s *Sender) newestMatch(msgs []api.ApiV2010Message, m *aftercare.Outgoing, since time.Time) (aftercare.Receipt, bool) {
	// Twilio's dates have whole seconds.
	since = since.Truncate(time.Second)
	var best *api.ApiV2010Message
	var bestAt time.Time
	for i := range msgs {
		x := &msgs[i]
		if !strings.HasPrefix(deref(x.Direction), "outbound") || deref(x.To) != m.To || deref(x.Body) != m.Body {
			continue
		}
		if from, service := s.sender(m); service != "" {
			if deref(x.MessagingServiceSid) != service {
				continue
			}
		} else if deref(x.From) != from {
			continue
		}
		// When Twilio created it, i.e. took our request: a message sent
		// late from an older request is not this one.
		at, ok := parseTime(deref(x.DateCreated))
		if !ok {
			if at, ok = parseTime(deref(x.DateSent)); !ok {
				continue
			}
		}
		if at.Before(since) {
			continue
		}
		// Twilio lists newest first; on equal times keep the first.
		if best == nil || at.After(bestAt) {
			best, bestAt = x, at
		}
	}
	if best == nil {
		return aftercare.Receipt{}, false
	}
	r := aftercare.Receipt{Sender: Name, ProviderID: deref(best.Sid), ProviderStatus: deref(best.Status)}
	if st, ok := MapStatus(r.ProviderStatus); ok && st != aftercare.StatusSent {
		r.Final = st
	}
	return r, true
}

// parseTime reads Twilio's RFC 2822 dates.
func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
