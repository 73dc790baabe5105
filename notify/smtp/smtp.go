// Package smtp sends email through an SMTP server (a relay such as the
// clinic's mail provider) with github.com/wneessen/go-mail.
//
// Each message is multipart/alternative: the plain text as written, and an
// HTML version of the same text (paragraphs, headings, lists and links,
// as html.go describes) with a footer naming the clinic (no images, no
// remote resources). Sender implements aftercare.Sender; every
// failure is an *aftercare.SendError:
//
//   - Transient: a 4xx reply, a failure to connect, greet, start TLS or
//     authenticate, a connection lost before the end of the message was
//     sent;
//   - Permanent: a 5xx reply to MAIL, RCPT or DATA, or to the message;
//   - Ambiguous: the whole message was sent but the server's answer never
//     came (connection lost, timeout): the server may have queued it.
//
// Like every sender in notify/*, it imports the domain (the aftercare.Sender
// contract) and never the scheduler or its dispatcher: `go list -deps`
// shows no templates, YAML or cron behind a sender.
package smtp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"
	gosmtp "github.com/wneessen/go-mail/smtp"

	"github.com/aftercare/aftercare"
)

// Name is the Receipt.Sender of messages sent by SMTP.
const Name = "smtp"

// DefaultTimeout bounds one SMTP session when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// TLS modes.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required (port 587)
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on this machine or a test server
)

// Config is how to reach the SMTP server.
type Config struct {
	Host string // the server's host name (or IP), without the port
	// Port defaults to 587 for starttls, 465 for tls and 25 for none.
	Port     int
	Username string // empty: no authentication
	Password string // never logged nor put in an error
	From     string // the sender address, e.g. aftercare@clinic.example.com
	// TLS is "starttls" (the default), "tls" or "none".
	TLS string
	// Timeout bounds a whole session: connect, greet, send, hear the reply.
	Timeout time.Duration
	// HELO is the name given in EHLO; the host name when empty.
	HELO string
}

// Sender sends email by SMTP, one connection per message. It is safe for
// concurrent use.
type Sender struct {
	cfg        Config
	mc         *gomail.Client
	tlsConfig  *tls.Config
	fromDomain string

	// Now stamps the Date header; time.Now unless a test sets it before
	// the first Send.
	Now func() time.Time
}

var _ aftercare.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. It returns an EINVALID
// *aftercare.Error whose field is the environment variable to fix
// (SMTP_HOST, SMTP_FROM...). It does not connect. From may carry a
// display name ("Glow Skin Studio <care@glow.example>"): the address is
// kept, since every email shows the clinic's name as its sender.
func New(cfg Config) (*Sender, error) {
	cfg.Host = strings.TrimSpace(cfg.Host)
	cfg.From = strings.TrimSpace(cfg.From)
	cfg.TLS = strings.ToLower(strings.TrimSpace(cfg.TLS))
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	switch {
	case cfg.Host == "":
		return nil, aftercare.FieldErrorf("SMTP_HOST", "the SMTP server's host name is required, e.g. smtp.example.com")
	case strings.ContainsAny(cfg.Host, " /:\r\n") && net.ParseIP(cfg.Host) == nil:
		return nil, aftercare.FieldErrorf("SMTP_HOST", "%q is not a host name: give the name alone, the port separately", cfg.Host)
	case cfg.Port < 0 || cfg.Port > 65535:
		return nil, aftercare.FieldErrorf("SMTP_PORT", "the SMTP port must be between 1 and 65535, got %d", cfg.Port)
	case cfg.TLS != TLSStartTLS && cfg.TLS != TLSImplicit && cfg.TLS != TLSNone:
		return nil, aftercare.FieldErrorf("SMTP_TLS", "%q is not a TLS mode: use starttls (port 587), tls (port 465) or none", cfg.TLS)
	case cfg.Timeout < 0:
		return nil, aftercare.FieldErrorf("SMTP_TIMEOUT", "the timeout must not be negative, got %s", cfg.Timeout)
	case (cfg.Username == "") != (cfg.Password == ""):
		return nil, aftercare.FieldErrorf("SMTP_USERNAME", "give both the SMTP username and password, or neither")
	case strings.ContainsAny(cfg.HELO, " \t\r\n"):
		return nil, aftercare.FieldErrorf("SMTP_HELO", "%q is not a host name for EHLO", cfg.HELO)
	case cfg.Username != "" && cfg.TLS == TLSNone && !isLoopback(cfg.Host):
		return nil, aftercare.FieldErrorf("SMTP_TLS", "refusing to send the SMTP password unencrypted to %s: use starttls or tls", cfg.Host)
	}
	from, err := mail.ParseAddress(cfg.From)
	if cfg.From == "" || err != nil || !strings.Contains(from.Address, "@") {
		return nil, aftercare.FieldErrorf("SMTP_FROM", "%q is not a sender address: give one such as aftercare@clinic.example.com (or \"Glow Skin Studio <aftercare@clinic.example.com>\")", cfg.From)
	}
	cfg.From = from.Address
	if cfg.Port == 0 {
		cfg.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[cfg.TLS]
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	s := &Sender{
		cfg:        cfg,
		tlsConfig:  &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12},
		fromDomain: cfg.From[strings.LastIndexByte(cfg.From, '@')+1:],
		Now:        time.Now,
	}
	opts := []gomail.Option{
		gomail.WithPort(cfg.Port),
		gomail.WithTimeout(cfg.Timeout),
		gomail.WithTLSConfig(s.tlsConfig),
		gomail.WithDialContextFunc(s.dial),
	}
	switch cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		// Implicit TLS is done in dial; go-mail must not STARTTLS on top.
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(cfg.HELO))
	}
	if cfg.Username != "" {
		// PLAIN and LOGIN themselves refuse to send the password without
		// TLS unless the server is on this machine.
		opts = append(opts, gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password),
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
				gomail.SMTPAuthPlain, gomail.SMTPAuthLogin, gomail.SMTPAuthCramMD5))
	}
	mc, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, aftercare.FieldErrorf("SMTP_HOST", "SMTP settings rejected: %v", err)
	}
	s.mc = mc
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// session carries the context of one Send into dial, through go-mail.
type session struct {
	ctx  context.Context
	mu   sync.Mutex
	stop func() bool // stops closing the connection when ctx ends
}

type sessionKey struct{}

// dial connects for one Send. The connection is closed when the Send's
// context ends, so that cancellation interrupts a session go-mail would
// otherwise only end at its deadline. With implicit TLS the handshake is
// done here.
func (s *Sender) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	if ss, ok := ctx.Value(sessionKey{}).(*session); ok {
		stop := context.AfterFunc(ss.ctx, func() { conn.Close() })
		ss.mu.Lock()
		ss.stop = stop
		ss.mu.Unlock()
	}
	if s.cfg.TLS != TLSImplicit {
		return conn, nil
	}
	tc := tls.Client(conn, s.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return tc, nil
}

// phase is how far a session got, which decides what a failure means.
type phase int

const (
	phaseConnect  phase = iota // dial, greeting, EHLO, STARTTLS, AUTH
	phaseEnvelope              // MAIL, RCPT, DATA: nothing of the message sent
	phaseContent               // writing the message: the final dot not sent
	phaseReply                 // the whole message sent, waiting for the reply
)

// Send emails m to m.To. It returns a Receipt whose ProviderID is the
// Message-ID header it generated, angle brackets included, and whose ProviderStatus is the server's final
// reply (e.g. "250 2.0.0 Ok: queued as 4C1F2"). Failures are
// *aftercare.SendError (see the package doc); when ctx ends the session,
// the error also wraps ctx.Err().
func (s *Sender) Send(ctx context.Context, m *aftercare.Outgoing) (aftercare.Receipt, error) {
	if m.Channel != "" && m.Channel != aftercare.Email {
		return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Permanent, Message: fmt.Sprintf("the SMTP sender sends email, not %s", m.Channel)}
	}
	msgID := s.messageID(m)
	msg, err := s.compose(m, msgID)
	if err != nil {
		return aftercare.Receipt{}, &aftercare.SendError{Kind: aftercare.Permanent, Message: err.Error()}
	}
	if err := ctx.Err(); err != nil {
		return aftercare.Receipt{}, fmt.Errorf("%w (%w)", &aftercare.SendError{Kind: aftercare.Transient, Message: "cancelled before connecting to the SMTP server"}, err)
	}
	ss := &session{ctx: ctx}
	defer func() {
		ss.mu.Lock()
		defer ss.mu.Unlock()
		if ss.stop != nil {
			ss.stop()
		}
	}()

	reply, ph, err := s.transact(context.WithValue(ctx, sessionKey{}, ss), msg)
	if err != nil {
		return aftercare.Receipt{}, s.classify(ctx, ph, err, m.To)
	}
	return aftercare.Receipt{Sender: Name, ProviderID: "<" + msgID + ">", ProviderStatus: reply}, nil
}

// transact runs one SMTP session for msg and returns the server's final
// reply, or how far it got and why it stopped.
func (s *Sender) transact(ctx context.Context, msg *gomail.Msg) (string, phase, error) {
	c, err := s.mc.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return "", phaseConnect, err
	}
	defer c.Close()
	from, err := msg.GetSender(false)
	if err != nil {
		return "", phaseEnvelope, err
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return "", phaseEnvelope, err
	}
	if err := c.Mail(from); err != nil {
		return "", phaseEnvelope, err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return "", phaseEnvelope, err
		}
	}
	w, err := c.Data()
	if err != nil {
		return "", phaseEnvelope, err
	}
	if _, err := msg.WriteTo(w); err != nil {
		return "", phaseContent, err
	}
	if err := w.Close(); err != nil {
		return "", phaseReply, err
	}
	reply := "250 accepted"
	if dc, ok := w.(*gosmtp.DataCloser); ok && dc.ServerResponse() != "" {
		reply = "250 " + dc.ServerResponse()
	}
	// The message is the server's now; a failed QUIT changes nothing.
	_ = c.Quit()
	return reply, phaseReply, nil
}

// classify turns a session's failure into an *aftercare.SendError.
func (s *Sender) classify(ctx context.Context, ph phase, err error, to string) error {
	e := &aftercare.SendError{}
	var tp *textproto.Error
	switch {
	case errors.As(err, &tp):
		e.Code = strconv.Itoa(tp.Code)
		e.Message = strings.ReplaceAll(tp.Msg, to, aftercare.MaskEmail(to))
		switch {
		case tp.Code >= 400 && tp.Code < 500:
			e.Kind = aftercare.Transient
		case ph == phaseConnect:
			// A 5xx while connecting (greeting, AUTH) is about this
			// server or our credentials, not this message: fix the
			// settings and it can still go.
			e.Kind = aftercare.Transient
			e.Message = "the SMTP server refused the session: " + e.Message
		case tp.Code >= 500:
			e.Kind = aftercare.Permanent
		default:
			// An unexpected 2xx/3xx where another was due.
			e.Kind = kindForLostConnection(ph)
		}
	default:
		e.Kind = kindForLostConnection(ph)
		e.Message = lostText(ph, s.cfg.Timeout, err)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", e, cerr)
	}
	return e
}

func kindForLostConnection(ph phase) aftercare.FailureKind {
	if ph == phaseReply {
		return aftercare.Ambiguous
	}
	return aftercare.Transient
}

func lostText(ph phase, timeout time.Duration, err error) string {
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	switch {
	case ph == phaseReply && timedOut:
		return fmt.Sprintf("no reply from the SMTP server within %s after the message was sent; it may have been accepted", timeout)
	case ph == phaseReply:
		return "connection to the SMTP server lost after the message was sent; it may have been accepted: " + err.Error()
	case ph == phaseConnect:
		return "could not open an SMTP session: " + err.Error()
	case timedOut:
		return fmt.Sprintf("the SMTP server did not answer within %s; the message was not sent", timeout)
	}
	return "connection to the SMTP server lost before the message was sent: " + err.Error()
}

// messageID returns <aftercare.{MessageID}.{attempt}.{random}@{from-domain}>
// without the angle brackets.
func (s *Sender) messageID(m *aftercare.Outgoing) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("aftercare.%d.%d.%s@%s", m.MessageID, m.Attempt, hex.EncodeToString(b[:]), s.fromDomain)
}

// oneLine makes a header value safe: line breaks and other control
// characters become spaces, so no text can start a header of its own.
// (go-mail encodes such characters too; this does not rely on it.)
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// calendarType is the attachment's type: a published calendar (RFC 5545,
// RFC 6047), not an invitation to answer.
const calendarType gomail.ContentType = "text/calendar; charset=utf-8; method=PUBLISH"

// compose builds the MIME message for m.
func (s *Sender) compose(m *aftercare.Outgoing, msgID string) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	from := s.cfg.From
	if m.From != "" {
		from = m.From // the clinic's own address (Clinic.EmailFrom)
	}
	if err := msg.FromFormat(oneLine(m.ClinicName), from); err != nil {
		return nil, fmt.Errorf("sender address %q: %w", from, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil || to.Name != "" || to.Address != m.To {
		return nil, fmt.Errorf("%q is not an email address", aftercare.MaskEmail(m.To))
	}
	if err := msg.AddToFormat(oneLine(m.ToName), m.To); err != nil {
		return nil, fmt.Errorf("%q is not an email address: %w", aftercare.MaskEmail(m.To), err)
	}
	msg.Subject(oneLine(m.Subject))
	msg.SetMessageIDWithValue(msgID)
	msg.SetDateWithValue(s.Now())
	// Automated: vacation responders should not answer (RFC 3834).
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetUserAgent("Aftercare")
	body := plainBody(m)
	if m.UnsubscribeURL != "" {
		value, oneClick, err := listUnsubscribe(m.UnsubscribeURL, from)
		if err != nil {
			return nil, err
		}
		msg.SetGenHeader("List-Unsubscribe", value)
		if oneClick {
			msg.SetGenHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
		}
		body = withStopLine(body, m.Lang, m.UnsubscribeURL)
	}
	msg.SetBodyString(gomail.TypeTextPlain, body)
	msg.AddAlternativeString(gomail.TypeTextHTML, renderHTML(m))
	if len(m.Calendar) > 0 {
		// The timeline (the first email only): calendar apps offer to add it.
		if err := msg.AttachReader("aftercare.ics", bytes.NewReader(m.Calendar),
			gomail.WithFileContentType(calendarType)); err != nil {
			return nil, fmt.Errorf("attaching the calendar: %w", err)
		}
	}
	return msg, nil
}
