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
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
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

var (
	accountSIDRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	messageSIDRE = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	shortCodeRE  = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphaIDRE    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// createParams are the form fields of CreateMessageRequest in the contract.
var createParams = map[string]bool{
	"To": true, "StatusCallback": true, "ApplicationSid": true, "MaxPrice": true, "ProvideFeedback": true,
	"Attempt": true, "ValidityPeriod": true, "ForceDelivery": true, "ContentRetention": true,
	"AddressRetention": true, "SmartEncoded": true, "PersistentAction": true, "TrafficType": true,
	"ShortenUrls": true, "ScheduleType": true, "SendAt": true, "SendAsMms": true, "ContentVariables": true,
	"RiskCheck": true, "From": true, "FallbackFrom": true, "MessagingServiceSid": true, "Body": true,
	"MediaUrl": true, "ContentSid": true,
}

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

// Reply scripts the answer to one create request. The zero Reply accepts
// the message normally (201).
type Reply struct {
	Status     int    // HTTP status of an error reply, e.g. 400, 429, 500
	Code       int    // Twilio error code in the JSON body
	Message    string // Twilio error message
	RetryAfter string // Retry-After header value, e.g. "7"
	HTML       bool   // answer with an HTML page instead of Twilio's JSON (a proxy's 502)

	// Latency delays the answer (wall clock; meant for benchmarks).
	Latency time.Duration
	// Release, when set, holds the answer until the channel is closed (or
	// the client gives up, or the server closes).
	Release <-chan struct{}
	// Hang holds the request and never answers: the request ends when the
	// client gives up, when Release is closed (then the connection is
	// dropped without an answer) or when the server closes.
	Hang bool
	// AcceptThenDrop records the message as accepted, then closes the
	// connection without answering: Twilio took the message but the client
	// never learns its SID (the crash-after-accept case).
	AcceptThenDrop bool
	// AcceptThenHang records the message as accepted, then holds the
	// request like Hang: Twilio took the message and the client is still
	// waiting (kill the client now to test a crash after acceptance).
	// Arrived, if set, fires after the message is recorded.
	AcceptThenHang bool
	// ResetMidBody records the message, sends the 201 status line and half
	// of the body, then resets the connection.
	ResetMidBody bool
	// Arrived, when set, receives a value once the request has been read
	// and validated, before the reply is carried out: a test waits on it to
	// act while the request is in flight (cancel the client, close Release).
	Arrived chan<- struct{}
}

func (r Reply) accepts() bool { return r.Status == 0 && !r.Hang }

// hang holds a request that gets no answer until the client gives up; the
// connection is dropped when release is closed or the server closes.
func (s *Server) hang(w http.ResponseWriter, r *http.Request, release <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-release:
		drop(w)
	case <-s.closing:
		drop(w)
	}
}

// TwilioError is a reply with Twilio's error JSON.
func TwilioError(status, code int, message string) Reply {
	return Reply{Status: status, Code: code, Message: message}
}

// RateLimited is Twilio's 429 (code 20429) with a Retry-After header ("" for
// none).
func RateLimited(retryAfter string) Reply {
	return Reply{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests, Message: "Too Many Requests", RetryAfter: retryAfter}
}

// ServerErrorHTML is a 5xx with an HTML body, as a load balancer sends it.
func ServerErrorHTML(status int) Reply { return Reply{Status: status, HTML: true} }

// Hang is a reply that never comes.
func Hang() Reply { return Reply{Hang: true} }

// AcceptThenDrop accepts the message, then drops the connection unanswered.
func AcceptThenDrop() Reply { return Reply{AcceptThenDrop: true} }

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

// wait holds the request for d and until release is closed. It reports
// false when the wait ended because the client went away or the server is
// closing: the handler must then return without answering.
func (s *Server) wait(w http.ResponseWriter, r *http.Request, d time.Duration, release <-chan struct{}) bool {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return false
		case <-s.closing:
			drop(w)
			return false
		}
	}
	if release != nil {
		select {
		case <-release:
		case <-r.Context().Done():
			return false
		case <-s.closing:
			drop(w)
			return false
		}
	}
	return true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()

	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "Content-Type must be application/x-www-form-urlencoded, got "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "unreadable form: "+err.Error())
		return
	}
	form := r.PostForm
	if code, msg := validateCreate(form); code != 0 {
		s.reject(w, r, http.StatusBadRequest, code, msg)
		return
	}

	reply := s.script(form.Get("To"))
	if reply.AcceptThenHang {
		s.accept(form)
		if s.arrived(w, r, reply.Arrived) {
			s.hang(w, r, reply.Release)
		}
		return
	}
	if !s.arrived(w, r, reply.Arrived) {
		return
	}
	if reply.Hang {
		s.hang(w, r, reply.Release)
		return
	}
	if !s.wait(w, r, reply.Latency, reply.Release) {
		return
	}
	if !reply.accepts() {
		if reply.RetryAfter != "" {
			w.Header().Set("Retry-After", reply.RetryAfter)
		}
		if reply.HTML {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(reply.Status)
			fmt.Fprintf(w, "<html><head><title>%d %s</title></head><body><h1>%d %s</h1></body></html>\n",
				reply.Status, http.StatusText(reply.Status), reply.Status, http.StatusText(reply.Status))
			return
		}
		s.twilioError(w, reply.Status, reply.Code, reply.Message)
		return
	}

	m := s.accept(form)
	body, _ := json.Marshal(s.resource(m))
	switch {
	case reply.AcceptThenDrop:
		drop(w)
	case reply.ResetMidBody:
		conn := hijack(w)
		if conn == nil {
			return
		}
		fmt.Fprintf(conn, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		conn.Write(body[:len(body)/2])
		reset(conn)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(body)
	}
}

// arrived signals ch (when set) that the request is in. It reports false
// when the client went away or the server closed first.
func (s *Server) arrived(w http.ResponseWriter, r *http.Request, ch chan<- struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case ch <- struct{}{}:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closing:
		drop(w)
		return false
	}
}

// script picks the reply for a create request to the number to.
func (s *Server) script(to string) Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.nextFor[to]; len(q) > 0 {
		s.nextFor[to] = q[1:]
		return q[0]
	}
	if r, ok := s.alwaysFor[to]; ok {
		return r
	}
	if len(s.next) > 0 {
		r := s.next[0]
		s.next = s.next[1:]
		return r
	}
	return Reply{}
}

func (s *Server) accept(form url.Values) Message {
	now := s.now().UTC().Truncate(time.Second)
	m := &Message{
		AccountSID:          s.AccountSID,
		To:                  form.Get("To"),
		From:                form.Get("From"),
		MessagingServiceSID: form.Get("MessagingServiceSid"),
		Body:                form.Get("Body"),
		StatusCallback:      form.Get("StatusCallback"),
		Status:              "queued",
		Direction:           "outbound-api",
		DateCreated:         now,
		DateSent:            now,
		Params:              form,
	}
	if m.From == "" {
		m.Status = "accepted" // Twilio picks a sender from the service's pool later
	}
	m.ValidityPeriod, _ = strconv.Atoi(form.Get("ValidityPeriod"))
	s.mu.Lock()
	defer s.mu.Unlock()
	m.SID = s.newSIDLocked()
	s.count++
	if !s.noRecord {
		s.msgs = append(s.msgs, m)
		s.bySID[m.SID] = m
	}
	return m.copy()
}

// validateCreate checks a create request against CreateMessageRequest. It
// returns the Twilio code and message of the first problem, or 0.
func validateCreate(f url.Values) (int, string) {
	var unknown []string
	for k := range f {
		if !createParams[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return CodeInvalidParameter, "Unknown parameters: " + strings.Join(unknown, ", ")
	}
	for k, v := range f {
		if len(v) > 1 && k != "MediaUrl" && k != "PersistentAction" {
			return CodeInvalidParameter, fmt.Sprintf("Parameter %s given %d times", k, len(v))
		}
	}
	to := f.Get("To")
	switch {
	case to == "":
		return CodeToRequired, "A 'To' phone number is required."
	case !e164RE.MatchString(to):
		return CodeInvalidTo, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	}
	from, service := f.Get("From"), f.Get("MessagingServiceSid")
	switch {
	case from == "" && service == "":
		return CodeFromRequired, "A 'From' phone number is required."
	case from != "" && !e164RE.MatchString(from) && !shortCodeRE.MatchString(from) && !alphaIDRE.MatchString(from):
		return CodeInvalidFrom, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from)
	case service != "" && !serviceSIDRE.MatchString(service):
		return CodeInvalidServiceSID, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service)
	}
	body := f.Get("Body")
	if body == "" && f.Get("MediaUrl") == "" && f.Get("ContentSid") == "" {
		return CodeBodyRequired, "Message body is required."
	}
	if n := len(utf16.Encode([]rune(body))); n > MaxBodyChars {
		return CodeBodyTooLong, fmt.Sprintf("The concatenated message body exceeds the %d character limit (%d characters).", MaxBodyChars, n)
	}
	if v, ok := f["ValidityPeriod"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < MinValidityPeriod || n > MaxValidityPeriod {
			return CodeInvalidValidity, fmt.Sprintf("ValidityPeriod must be an integer from %d to %d, got %q.", MinValidityPeriod, MaxValidityPeriod, v[0])
		}
	}
	if v, ok := f["Attempt"]; ok {
		if n, err := strconv.Atoi(v[0]); err != nil || n < 1 {
			return CodeInvalidParameter, fmt.Sprintf("Attempt must be a positive integer, got %q.", v[0])
		}
	}
	if cb, ok := f["StatusCallback"]; ok {
		if msg := checkCallbackURL(cb[0]); msg != "" {
			return CodeInvalidCallback, msg
		}
	}
	return 0, ""
}

// checkCallbackURL applies the contract's rule for StatusCallback: a URI
// with a valid hostname, no underscores.
func checkCallbackURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Sprintf("The StatusCallback URL %s is not a valid URL.", raw)
	}
	if strings.Contains(u.Hostname(), "_") {
		return fmt.Sprintf("The StatusCallback URL %s has an underscore in its hostname.", raw)
	}
	return ""
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "To", "From", "DateSent", "DateSent<", "DateSent>", "PageSize", "Page", "PageToken":
		default:
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "Unknown parameter: "+k)
			return
		}
	}
	pageSize := DefaultPageSize
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxPageSize {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, fmt.Sprintf("PageSize must be from 1 to %d, got %q", MaxPageSize, v))
			return
		}
		pageSize = n
	}
	page := 0
	if v := q.Get("Page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "Page must be a non-negative integer, got "+v)
			return
		}
		page = n
	}
	offset := page * pageSize
	if v := q.Get("PageToken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "PT"))
		if err != nil || !strings.HasPrefix(v, "PT") || n < 0 {
			s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, "invalid PageToken "+v)
			return
		}
		offset = n
	}
	var on, before, after time.Time
	for key, dst := range map[string]*time.Time{"DateSent": &on, "DateSent<": &before, "DateSent>": &after} {
		if v := q.Get(key); v != "" {
			d, ok := parseDate(v)
			if !ok {
				s.reject(w, r, http.StatusBadRequest, CodeInvalidParameter, fmt.Sprintf("%s: %q is not a date", key, v))
				return
			}
			*dst = d
		}
	}
	if to := q.Get("To"); to != "" && !e164RE.MatchString(to) {
		s.violation(r, CodeInvalidTo, "To filter "+to+" is not E.164")
	}

	s.mu.Lock()
	var match []Message
	for _, m := range s.msgs {
		if v := q.Get("To"); v != "" && m.To != v {
			continue
		}
		if v := q.Get("From"); v != "" && m.From != v {
			continue
		}
		// Twilio filters on the date only, not the time of day.
		if !on.IsZero() || !before.IsZero() || !after.IsZero() {
			if m.DateSent.IsZero() {
				continue
			}
			d := day(m.DateSent)
			if (!on.IsZero() && !d.Equal(on)) || (!before.IsZero() && d.After(before)) || (!after.IsZero() && d.Before(after)) {
				continue
			}
		}
		match = append(match, m.copy())
	}
	s.mu.Unlock()
	sortNewestFirst(match) // as Twilio lists

	end := min(offset+pageSize, len(match))
	start := min(offset, end)
	pageMsgs := make([]any, 0, end-start)
	for _, m := range match[start:end] {
		pageMsgs = append(pageMsgs, s.resource(m))
	}
	base := *r.URL
	filters := url.Values{}
	for _, k := range []string{"To", "From", "DateSent", "DateSent<", "DateSent>"} {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	pageURI := func(p, off int) string {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(pageSize))
		v.Set("Page", strconv.Itoa(p))
		if off > 0 {
			v.Set("PageToken", "PT"+strconv.Itoa(off))
		}
		return base.Path + "?" + v.Encode()
	}
	var next, prev any
	if end < len(match) {
		next = pageURI(offset/pageSize+1, end)
	}
	if start > 0 {
		prev = pageURI(max(offset/pageSize-1, 0), max(start-pageSize, 0))
	}
	resp := map[string]any{
		"messages":          pageMsgs,
		"end":               max(end-1, 0),
		"first_page_uri":    pageURI(0, 0),
		"next_page_uri":     next,
		"previous_page_uri": prev,
		"page":              offset / pageSize,
		"page_size":         pageSize,
		"start":             start,
		"uri":               base.Path + "?" + r.URL.RawQuery,
	}
	writeJSON(w, http.StatusOK, resp)
}

// sortNewestFirst orders by DateCreated descending; on equal times the
// message stored later (higher SID sequence) comes first.
func sortNewestFirst(ms []Message) {
	sort.SliceStable(ms, func(i, j int) bool {
		if !ms[i].DateCreated.Equal(ms[j].DateCreated) {
			return ms[i].DateCreated.After(ms[j].DateCreated)
		}
		return ms[i].SID > ms[j].SID
	})
}

func (s *Server) fetch(w http.ResponseWriter, r *http.Request, sid string) {
	if !messageSIDRE.MatchString(sid) {
		s.violation(r, CodeNotFound, "Sid "+sid+" does not match ^(SM|MM)[0-9a-fA-F]{32}$")
	}
	m, ok := s.Message(sid)
	if !ok {
		s.twilioError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	writeJSON(w, http.StatusOK, s.resource(m))
}

// resource renders a message in the contract's api.v2010.account.message
// shape.
func (s *Server) resource(m Message) map[string]any {
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s.json", m.AccountSID, m.SID)
	out := map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          m.DateCreated.UTC().Format(TimeFormat),
		"date_updated":          m.DateCreated.UTC().Format(TimeFormat),
		"date_sent":             nil,
		"direction":             m.Direction,
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(m.From),
		"messaging_service_sid": nullable(m.MessagingServiceSID),
		"num_media":             "0",
		"num_segments":          strconv.Itoa(segments(m.Body)),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris":      map[string]string{"media": strings.TrimSuffix(uri, ".json") + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri,
	}
	if !m.DateSent.IsZero() {
		out["date_sent"] = m.DateSent.UTC().Format(TimeFormat)
	}
	if m.ErrorCode != 0 {
		out["error_code"] = m.ErrorCode
		out["error_message"] = fmt.Sprintf("Error %d", m.ErrorCode)
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// segments approximates Twilio's count: 160/153 characters for plain ASCII,
// 70/67 UTF-16 units otherwise.
func segments(body string) int {
	ascii := true
	for i := 0; i < len(body); i++ {
		if body[i] >= 0x80 {
			ascii = false
			break
		}
	}
	single, multi, n := 160, 153, len(body)
	if !ascii {
		single, multi, n = 70, 67, len(utf16.Encode([]rune(body)))
	}
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}

func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// parseDate reads a DateSent filter value in the formats Twilio documents
// and returns its date (GMT); the time of day is ignored, as Twilio does.
func parseDate(v string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02", time.RFC3339, "2006-01-02 15:04:05.000", "2006-01-02 15:04:05", TimeFormat, "Mon, 02 Jan 2006 15:04:05 -0000", "01/02/2006 15:04:05 MST"} {
		if t, err := time.Parse(layout, v); err == nil {
			return day(t), true
		}
	}
	return time.Time{}, false
}

func (s *Server) violation(r *http.Request, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL.Path, code, msg))
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	s.violation(r, code, msg)
	s.twilioError(w, status, code, msg)
}

// twilioError writes Twilio's error JSON.
func (s *Server) twilioError(w http.ResponseWriter, status, code int, msg string) {
	body := map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status}
	if code == 0 {
		body["code"] = nil
		body["more_info"] = nil
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

func hijack(w http.ResponseWriter) net.Conn {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	return conn
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	hijack(w).Close()
}

func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
