// Package twiliotest runs a fake of Twilio's Messages API (the 2010-04-01
// REST API) on loopback, for tests, benchmarks and crash tests of anything
// that sends SMS through notify/twilio.
//
// The fake checks every request against Twilio's published contract
// (shared/twilio/twilio_api_v2010.json): Basic auth with the account SID and
// auth token, the AccountSid pattern, an E.164 To, a Body of at most 1,600
// characters, From or MessagingServiceSid, a ValidityPeriod between 1 and
// 36000 and an absolute StatusCallback URL. A request that breaks it gets
// Twilio's error JSON with status 400 and is listed by Violations, so a test
// can assert that the code under test only sends valid requests.
//
// Accepted messages are recorded (Messages, Count) and can be listed and
// fetched like on Twilio. Replies can be scripted for the next requests
// (Next) or for one recipient (NextFor, AlwaysFor): a Twilio error code, a
// 429 with Retry-After, a 5xx with an HTML body, a delay, a reply that never
// comes, and a message that is accepted but whose answer is lost (the
// connection drops, is reset mid-answer, or the answer never comes).
// Reply.Arrived tells a test when a request is in flight, e.g. to kill the
// process under test at that moment.
//
// Nothing here sleeps on the wall clock unless asked to (WithLatency,
// Reply.Latency); waits end when the client gives up, when a test closes a
// Release channel, or when the server is closed.
package twiliotest

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials used when none are given with WithCredentials. They have the
// shape of real ones (twilio-go refuses credentials that are not
// alphanumeric).
const (
	DefaultAccountSID = "AC00000000000000000000000000000001"
	DefaultAuthToken  = "0123456789abcdef0123456789abcdef"
)

// Limits from the contract.
const (
	MaxBodyChars      = 1600  // Body: "Can be up to 1,600 characters in length"
	MinValidityPeriod = 1     // ValidityPeriod: "integers from 1 to 36000"
	MaxValidityPeriod = 36000 //
	DefaultPageSize   = 50    // PageSize: "The default is 50, and the maximum is 1000"
	MaxPageSize       = 1000  //
)

// Twilio error codes the fake answers with when a request breaks the
// contract or the credentials are wrong.
const (
	CodeAuthenticate      = 20003 // wrong or missing credentials (HTTP 401)
	CodeNotFound          = 20404 // no such resource (HTTP 404)
	CodeInvalidParameter  = 20001 // a parameter the Messages API does not know, or PageSize out of range
	CodeTooManyRequests   = 20429 // what Twilio sends with HTTP 429
	CodeBodyRequired      = 21602
	CodeFromRequired      = 21603
	CodeToRequired        = 21604
	CodeInvalidCallback   = 21609
	CodeInvalidTo         = 21211
	CodeInvalidFrom       = 21212
	CodeBodyTooLong       = 21617
	CodeInvalidValidity   = 21623
	CodeInvalidServiceSID = 21701
	CodeNotMobile         = 21614 // for scripting: "'To' number is not a valid mobile number"
	CodeUnsubscribed      = 21610 // for scripting: the recipient replied STOP
	CodeLandline          = 30006 // for scripting: landline or unreachable carrier
)

// TimeFormat is how Twilio writes dates in JSON (RFC 2822, GMT).
const TimeFormat = "Mon, 02 Jan 2006 15:04:05 -0700"

// Message is a message the fake accepted (or one added with Add).
type Message struct {
	SID                 string
	AccountSID          string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	ValidityPeriod      int // 0 when not given
	Status              string
	ErrorCode           int
	Direction           string
	DateCreated         time.Time
	DateSent            time.Time  // zero: not sent (excluded by DateSent filters)
	Params              url.Values // the create request's form, as received
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the account SID and auth token the server expects.
func WithCredentials(accountSID, authToken string) Option {
	return func(s *Server) { s.AccountSID, s.AuthToken = accountSID, authToken }
}

// WithLatency delays every answer by d (for benchmarks that want a network
// round trip). The wait ends early when the client gives up.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = d } }

// WithClock sets the clock used for date_created and date_sent.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithoutRecording keeps counts but not the messages themselves, for long
// benchmarks. Listing and fetching then find nothing.
func WithoutRecording() Option { return func(s *Server) { s.noRecord = true } }

// Server is a fake Twilio on loopback. Its methods are safe for concurrent
// use.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:43121: the value
	// for notify/twilio's Config.BaseURL (AFTERCARE_TWILIO_BASE_URL).
	URL        string
	AccountSID string // the account the server serves; requests must use it in the path and Basic auth
	AuthToken  string // the Basic auth password, and the key of signed callbacks

	hs        *httptest.Server
	now       func() time.Time
	latency   time.Duration
	noRecord  bool
	closing   chan struct{}
	closeOnce sync.Once

	mu         sync.Mutex
	msgs       []*Message
	bySID      map[string]*Message
	next       []Reply
	nextFor    map[string][]Reply
	alwaysFor  map[string]Reply
	seq        uint64
	count      int
	requests   int
	conns      int
	violations []string
	inbound    uint64 // inbound texts sent (SendInbound)
}

// NewServer starts a fake Twilio and closes it when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := New(opts...)
	t.Cleanup(s.Close)
	return s
}

// New starts a fake Twilio; the caller must Close it.
func New(opts ...Option) *Server {
	s := &Server{
		AccountSID: DefaultAccountSID,
		AuthToken:  DefaultAuthToken,
		now:        time.Now,
		closing:    make(chan struct{}),
		bySID:      map[string]*Message{},
		nextFor:    map[string][]Reply{},
		alwaysFor:  map[string]Reply{},
	}
	for _, o := range opts {
		o(s)
	}
	s.hs = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	// Hijacked and aborted connections are the point of some scripts; keep
	// the standard library from logging them.
	s.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.hs.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	s.hs.Start()
	s.URL = s.hs.URL
	return s
}

// Close stops the server. Requests still waiting (Hang, Release) end at once
// without an answer.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.hs.CloseClientConnections()
		s.hs.Close()
	})
}

// Next queues replies for the next create requests, whatever their To.
// Replies queued with NextFor or AlwaysFor for a request's To come first.
func (s *Server) Next(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next = append(s.next, r...)
}

// NextFor queues replies for the next create requests to the number to.
func (s *Server) NextFor(to string, r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextFor[to] = append(s.nextFor[to], r...)
}

// AlwaysFor answers every create request to the number to with r (after any
// queued with NextFor), e.g. a landline that always gets 30006.
func (s *Server) AlwaysFor(to string, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alwaysFor[to] = r
}

// Messages returns a copy of the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		out[i] = m.copy()
	}
	return out
}

// Message returns the message with the given SID.
func (s *Server) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bySID[sid]
	if !ok {
		return Message{}, false
	}
	return m.copy(), true
}

// Count is the number of messages accepted from create requests (those
// added with Add are not counted).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Requests is the number of create requests received, answered or not.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Connections is the number of TCP connections clients opened, to check
// that a client reuses them.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Violations lists the requests that broke the contract, one line each
// ("POST Messages.json: 21211 The 'To' number ... "), oldest first.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.violations...)
}

// Add puts a message in the account's history, as if sent earlier, for
// lookup tests. Empty fields get defaults: a new SID, the server's account,
// direction outbound-api, status delivered, DateCreated now, DateSent =
// DateCreated unless the status is accepted or scheduled (not sent yet:
// date_sent null, as on Twilio). It returns the stored message.
func (s *Server) Add(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.SID == "" {
		m.SID = s.newSIDLocked()
	}
	if m.AccountSID == "" {
		m.AccountSID = s.AccountSID
	}
	if m.Direction == "" {
		m.Direction = "outbound-api"
	}
	if m.Status == "" {
		m.Status = "delivered"
	}
	if m.DateCreated.IsZero() {
		m.DateCreated = s.now().UTC()
	}
	if m.DateSent.IsZero() && m.Status != "accepted" && m.Status != "scheduled" {
		m.DateSent = m.DateCreated
	}
	p := &m
	s.msgs = append(s.msgs, p)
	s.bySID[m.SID] = p
	return m.copy()
}

// SetStatus changes a message's status (and error code), as Twilio does
// when the carrier reports. It reports whether the message exists.
func (s *Server) SetStatus(sid, status string, errorCode int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.bySID[sid]
	if ok {
		m.Status, m.ErrorCode = status, errorCode
	}
	return ok
}

func (m *Message) copy() Message {
	c := *m
	if m.Params != nil {
		c.Params = make(url.Values, len(m.Params))
		for k, v := range m.Params {
			c.Params[k] = append([]string(nil), v...)
		}
	}
	return c
}

func (s *Server) newSIDLocked() string {
	s.seq++
	return fmt.Sprintf("SM%032x", s.seq)
}

// serveHTTP routes /2010-04-01/Accounts/{AccountSid}/Messages.json and
// /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.wait(w, r, s.latency, nil) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/2010-04-01/Accounts/")
	if !ok {
		s.twilioError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	account, resource, _ := strings.Cut(rest, "/")
	user, pass, hasAuth := r.BasicAuth()
	if !hasAuth || user != s.AccountSID || pass != s.AuthToken {
		s.twilioError(w, http.StatusUnauthorized, CodeAuthenticate, "Authenticate")
		return
	}
	if !accountSIDRE.MatchString(account) {
		s.violation(r, CodeNotFound, fmt.Sprintf("AccountSid %q does not match ^AC[0-9a-fA-F]{32}$", account))
		s.twilioError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	if account != s.AccountSID {
		s.twilioError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	switch {
	case resource == "Messages.json" && r.Method == http.MethodPost:
		s.create(w, r)
	case resource == "Messages.json" && r.Method == http.MethodGet:
		s.list(w, r)
	case strings.HasPrefix(resource, "Messages/") && strings.HasSuffix(resource, ".json") && r.Method == http.MethodGet:
		sid := strings.TrimSuffix(strings.TrimPrefix(resource, "Messages/"), ".json")
		s.fetch(w, r, sid)
	default:
		s.twilioError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
	}
}
