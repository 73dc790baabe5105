package twiliotest

import (
	"net"
	"net/http"
	"time"
)

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
