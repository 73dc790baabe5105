package smtp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// mailServer is a real SMTP server (emersion/go-smtp) on loopback whose
// behaviour is scripted by the recipient's local part:
//
//	rcpt451, rcpt452, rcpt550, rcpt553  answer RCPT with that code
//	mail421                              answer MAIL with 421
//	data421, data451, data554, data550   take the message, then answer with that code
//	droprcpt                             close the connection at RCPT
//	dropdata                             read the whole message, then close without a reply
//	hangdata                             read the whole message, then never reply
//	hangrcpt                             never answer RCPT
//
// Any other recipient is accepted.
type mailServer struct {
	addr     string
	user     string // AUTH PLAIN credentials; "" accepts no AUTH
	pass     string
	tls      *tls.Config
	release  chan struct{} // closed at cleanup: hanging sessions end
	arrived  chan string   // receives the script name when a hang starts
	mu       sync.Mutex
	received []received
	sessions int
}

type received struct {
	From string
	To   []string
	Data string
	Auth string // the user that authenticated, if any
	TLS  bool
}

type serverOpt func(*mailServer, *gosmtp.Server)

func withAuth(user, pass string) serverOpt {
	return func(m *mailServer, _ *gosmtp.Server) { m.user, m.pass = user, pass }
}

// withStartTLS offers STARTTLS with a certificate for 127.0.0.1.
func withStartTLS(cfg *tls.Config) serverOpt {
	return func(m *mailServer, s *gosmtp.Server) { s.TLSConfig = cfg }
}

// withImplicitTLS speaks TLS from the first byte.
func withImplicitTLS(cfg *tls.Config) serverOpt {
	return func(m *mailServer, _ *gosmtp.Server) { m.tls = cfg }
}

func newMailServer(t testing.TB, opts ...serverOpt) *mailServer {
	t.Helper()
	m := &mailServer{release: make(chan struct{}), arrived: make(chan string, 4)}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		m.mu.Lock()
		m.sessions++
		m.mu.Unlock()
		_, isTLS := c.TLSConnectionState()
		return &session{srv: m, conn: c, tls: isTLS}, nil
	}))
	s.Domain = "mx.test"
	s.AllowInsecureAuth = true
	s.ErrorLog = log.New(io.Discard, "", 0)
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	for _, o := range opts {
		o(m, s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if m.tls != nil {
		ln = tls.NewListener(ln, m.tls)
	}
	m.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() {
		close(m.release)
		s.Close()
	})
	return m
}

func (m *mailServer) port() int {
	_, p, _ := net.SplitHostPort(m.addr)
	n, _ := strconv.Atoi(p)
	return n
}

func (m *mailServer) messages() []received {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]received(nil), m.received...)
}

func (m *mailServer) sessionCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions
}

type session struct {
	srv  *mailServer
	conn *gosmtp.Conn
	tls  bool
	auth string
	from string
	to   []string
}

func local(addr string) string {
	addr = strings.Trim(addr, "<>")
	if i := strings.IndexByte(addr, '@'); i >= 0 {
		return addr[:i]
	}
	return addr
}

func smtpErr(code int, msg string) *gosmtp.SMTPError {
	return &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{code / 100, 0, 0}, Message: msg}
}

// refusals are the server's scripted refusals, by the local part of the
// address that asks for one: mailNNN is refused at MAIL FROM, rcptNNN at
// RCPT TO, dataNNN after DATA, each with the reply code NNN.
var refusals = map[string]*gosmtp.SMTPError{
	"mail421": smtpErr(421, "Service not available, closing transmission channel"),
	"rcpt451": smtpErr(451, "Requested action aborted: local error in processing"),
	"rcpt452": smtpErr(452, "Mailbox full"),
	"rcpt550": smtpErr(550, "No such user here"),
	"rcpt553": smtpErr(553, "Mailbox name not allowed"),
	"data421": smtpErr(421, "Service shutting down"),
	"data451": smtpErr(451, "Temporary local problem, try later"),
	"data550": smtpErr(550, "Message rejected by policy"),
	"data554": smtpErr(554, "Transaction failed: spam detected"),
}

// refusal is the scripted refusal of the local part l at stage (mail,
// rcpt or data), or nil.
func refusal(stage, l string) error {
	if e, ok := refusals[l]; ok && strings.HasPrefix(l, stage) {
		return e
	}
	return nil
}

func (s *session) AuthMechanisms() []string {
	if s.srv.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.srv.user || pass != s.srv.pass {
			return gosmtp.ErrAuthFailed
		}
		s.auth = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.srv.user != "" && s.auth == "" {
		return gosmtp.ErrAuthRequired
	}
	if err := refusal("mail", local(from)); err != nil {
		return err
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	l := local(to)
	if err := refusal("rcpt", l); err != nil {
		return err
	}
	switch l {
	case "droprcpt":
		s.conn.Conn().Close()
		return smtpErr(421, "closing")
	case "hangrcpt":
		s.srv.arrived <- l
		<-s.srv.release
		return smtpErr(421, "closing")
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range s.to {
		l := local(to)
		if err := refusal("data", l); err != nil {
			return err
		}
		switch l {
		case "dropdata":
			s.record(data)
			s.conn.Conn().Close()
			return errors.New("dropped")
		case "hangdata":
			s.record(data)
			s.srv.arrived <- l
			<-s.srv.release
			return errors.New("released")
		}
	}
	s.record(data)
	return nil
}

func (s *session) record(data []byte) {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	s.srv.received = append(s.srv.received, received{From: s.from, To: append([]string(nil), s.to...), Data: string(data), Auth: s.auth, TLS: s.tls})
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// selfSigned returns a server TLS config for 127.0.0.1 and a pool that
// trusts it.
func selfSigned(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// greeter is a bare TCP server that answers the greeting with line and
// hangs up: servers that refuse a session outright.
func greeter(t testing.TB, line string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			io.WriteString(c, line+"\r\n")
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}
