package smtp_test

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/smtp"
)

var epoch = notifytest.Epoch

const from = "aftercare@clinic.test"

func newSender(t testing.TB, srv *mailServer, mod ...func(*smtp.Config)) *smtp.Sender {
	t.Helper()
	cfg := smtp.Config{Host: "127.0.0.1", Port: srv.port(), From: from, TLS: "none", Timeout: 5 * time.Second, HELO: "aftercare.test"}
	s := notifytest.New(t, smtp.New, cfg, mod...)
	s.Now = notifytest.Clock
	return s
}

// sendOne sends m through a fresh sender to a fresh mail server, failing the
// test unless the send succeeds and the server receives exactly one
// message, which it returns raw and parsed.
func sendOne(t *testing.T, m *aftercare.Outgoing) (received, parsed) {
	t.Helper()
	srv := newMailServer(t)
	if _, err := newSender(t, srv).Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	return got[0], parse(t, got[0].Data)
}

func outgoing(to string) *aftercare.Outgoing {
	return &aftercare.Outgoing{
		MessageID:   42,
		ClinicID:    7,
		Channel:     aftercare.Email,
		To:          to,
		ToName:      "Ana Pérez",
		Subject:     "Your aftercare: day 1",
		Body:        "Hi Ana,\n\nKeep the area dry for 24 hours.\nAvoid <b>sun</b> & heat.\n\nSee you soon.",
		ClinicName:  "Downtown Spa",
		ClinicPhone: "+14155550123",
		ExpiresAt:   epoch.Add(time.Hour),
		Attempt:     2,
	}
}

type parsed struct {
	msg  *mail.Message
	text string
	html string
	hdr  map[string]string // decoded top-level headers
}

func parse(t *testing.T, data string) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatalf("the server received an unparsable message: %v\n%s", err, data)
	}
	p := parsed{msg: msg, hdr: map[string]string{}}
	dec := new(mime.WordDecoder)
	for k, v := range msg.Header {
		if len(v) != 1 {
			t.Errorf("header %s appears %d times", k, len(v))
		}
		d, err := dec.DecodeHeader(v[0])
		if err != nil {
			t.Errorf("header %s: %v", k, err)
		}
		p.hdr[k] = d
	}
	var types []string
	forParts(t, msg.Header.Get("Content-Type"), msg.Body, "multipart/alternative", func(part *multipart.Part, ct string, cp map[string]string) {
		b, err := io.ReadAll(part)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(cp["charset"], "utf-8") {
			t.Errorf("part %s has charset %q, want UTF-8", ct, cp["charset"])
		}
		body := strings.ReplaceAll(string(b), "\r\n", "\n")
		switch ct {
		case "text/plain":
			p.text = body
		case "text/html":
			p.html = body
		}
		types = append(types, ct)
	})
	if strings.Join(types, ",") != "text/plain,text/html" {
		t.Errorf("parts %v; want text/plain then text/html", types)
	}
	return p
}

// forParts calls fn with each part of a multipart body, its media type and
// parameters, failing the test unless the body's contentType is of the
// media type want.
func forParts(t *testing.T, contentType string, body io.Reader, want string, fn func(part *multipart.Part, ct string, cp map[string]string)) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != want {
		t.Fatalf("Content-Type %q (%v); want %s", contentType, err, want)
	}
	r := multipart.NewReader(body, params["boundary"])
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		ct, cp, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		fn(part, ct, cp)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	ok := smtp.Config{Host: "smtp.example.com", From: from, Username: "u", Password: "s3cret-pw"}
	notifytest.CheckConfigs(t, smtp.New, ok, func(c smtp.Config) string { return c.Password }, []notifytest.ConfigCase[smtp.Config]{
		{Name: "OKStartTLSDefault", Mod: func(*smtp.Config) {}, Field: ""},
		{Name: "OKImplicitTLS", Mod: func(c *smtp.Config) { c.TLS = "tls"; c.Port = 465 }, Field: ""},
		{Name: "OKNoneLoopbackWithAuth", Mod: func(c *smtp.Config) { c.TLS, c.Host = "none", "127.0.0.1" }, Field: ""},
		{Name: "OKNoneNoAuth", Mod: func(c *smtp.Config) { c.TLS, c.Username, c.Password = "none", "", "" }, Field: ""},
		{Name: "OKFromWithName", Mod: func(c *smtp.Config) { c.From = "Glow Skin Studio <spa@example.com>" }, Field: ""},
		{Name: "ErrHostMissing", Mod: func(c *smtp.Config) { c.Host = "" }, Field: "SMTP_HOST"},
		{Name: "ErrHostWithPort", Mod: func(c *smtp.Config) { c.Host = "smtp.example.com:587" }, Field: "SMTP_HOST"},
		{Name: "ErrPort", Mod: func(c *smtp.Config) { c.Port = 70000 }, Field: "SMTP_PORT"},
		{Name: "ErrTLSMode", Mod: func(c *smtp.Config) { c.TLS = "ssl" }, Field: "SMTP_TLS"},
		{Name: "ErrPasswordInClear", Mod: func(c *smtp.Config) { c.TLS = "none" }, Field: "SMTP_TLS"},
		{Name: "ErrUsernameWithoutPassword", Mod: func(c *smtp.Config) { c.Password = "" }, Field: "SMTP_USERNAME"},
		{Name: "ErrFromMissing", Mod: func(c *smtp.Config) { c.From = "" }, Field: "SMTP_FROM"},
		{Name: "ErrFromNotAddress", Mod: func(c *smtp.Config) { c.From = "clinic" }, Field: "SMTP_FROM"},
		{Name: "ErrHELO", Mod: func(c *smtp.Config) { c.HELO = "a b" }, Field: "SMTP_HELO"},
		{Name: "ErrNegativeTimeout", Mod: func(c *smtp.Config) { c.Timeout = -1 }, Field: "SMTP_TIMEOUT"},
	})
}

func TestSend(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv)
	m := outgoing("ana@example.com")
	r, err := s.Send(context.Background(), m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r.Sender != "smtp" || !strings.HasPrefix(r.ProviderStatus, "250 ") || r.Final != "" {
		t.Errorf("receipt %+v", r)
	}
	if !regexp.MustCompile(`^<aftercare\.42\.2\.[0-9a-f]{16}@clinic\.test>$`).MatchString(r.ProviderID) {
		t.Errorf("ProviderID %q is not <aftercare.{id}.{attempt}.{random}@{from-domain}>", r.ProviderID)
	}
	got := srv.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if got[0].From != from || strings.Join(got[0].To, ",") != "ana@example.com" {
		t.Errorf("envelope %s -> %v", got[0].From, got[0].To)
	}
	p := parse(t, got[0].Data)
	if p.hdr["Message-Id"] != r.ProviderID {
		t.Errorf("Message-ID %q, receipt %q", p.hdr["Message-Id"], r.ProviderID)
	}
	fromAddr, err := mail.ParseAddress(p.msg.Header.Get("From"))
	if err != nil || fromAddr.Name != "Downtown Spa" || fromAddr.Address != from {
		t.Errorf("From %q (%v)", p.msg.Header.Get("From"), err)
	}
	toAddr, err := mail.ParseAddress(p.msg.Header.Get("To"))
	if err != nil || toAddr.Name != "Ana Pérez" || toAddr.Address != "ana@example.com" {
		t.Errorf("To %q (%v)", p.msg.Header.Get("To"), err)
	}
	if p.hdr["Subject"] != m.Subject {
		t.Errorf("Subject %q", p.hdr["Subject"])
	}
	if d, err := p.msg.Header.Date(); err != nil || !d.Equal(epoch) {
		t.Errorf("Date %v (%v); want %v", d, err, epoch)
	}
	if p.hdr["X-Mailer"] != "Aftercare" {
		t.Errorf("X-Mailer %q", p.hdr["X-Mailer"])
	}
	if p.hdr["Auto-Submitted"] != "auto-generated" {
		t.Errorf("Auto-Submitted %q", p.hdr["Auto-Submitted"])
	}
	if strings.TrimRight(p.text, "\n") != m.Body {
		t.Errorf("text part %q; want %q", p.text, m.Body)
	}
	for _, want := range []string{
		"<p>Hi Ana,</p>",
		"<p>Keep the area dry for 24 hours. Avoid &lt;b&gt;sun&lt;/b&gt; &amp; heat.</p>",
		"<p>See you soon.</p>",
		"Downtown Spa",
		`<a href="tel:+14155550123"`,
	} {
		if !strings.Contains(bare(p.html), want) {
			t.Errorf("HTML part lacks %q:\n%s", want, p.html)
		}
	}
	for _, bad := range []string{"http://", "https://", "src=", "<script", "<b>sun"} {
		if strings.Contains(p.html, bad) {
			t.Errorf("HTML part contains %q:\n%s", bad, p.html)
		}
	}
}

// TestSendClinicFrom: a clinic's own address (Clinic.EmailFrom) is the
// sender, in the envelope and the From header.
func TestSendClinicFrom(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.From = "care@downtown-spa.example"
	got, p := sendOne(t, m)
	if got.From != m.From {
		t.Fatalf("envelope sender %+v, want %s", got, m.From)
	}
	if a, err := mail.ParseAddress(p.msg.Header.Get("From")); err != nil || a.Address != m.From || a.Name != "Downtown Spa" {
		t.Errorf("From %q (%v)", p.msg.Header.Get("From"), err)
	}
}

// A name or subject with a line break must not add a header.
func TestSendHeaderInjection(t *testing.T) {
	t.Parallel()
	m := outgoing("ana@example.com")
	m.ToName = "Ana\r\nBcc: evil@attacker.test"
	m.ClinicName = "Spa\nX-Injected: yes"
	m.Subject = "Day 1\r\nBcc: evil2@attacker.test\r\n\r\nforged body"
	got, p := sendOne(t, m)
	if len(got.To) != 1 {
		t.Fatalf("received %+v; want one message to one recipient", got)
	}
	for _, h := range []string{"Bcc", "X-Injected"} {
		if _, ok := p.msg.Header[h]; ok {
			t.Errorf("header %s was injected: %q", h, p.msg.Header[h])
		}
	}
	for _, line := range strings.Split(got.Data, "\r\n") {
		if strings.HasPrefix(line, "Bcc:") || strings.HasPrefix(line, "X-Injected:") || line == "forged body" {
			t.Errorf("raw message has the line %q", line)
		}
	}
	if !strings.Contains(p.hdr["Subject"], "Bcc: evil2@attacker.test") {
		t.Errorf("Subject %q: the text should stay, on one line", p.hdr["Subject"])
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		to       string
		from     string
		kind     aftercare.FailureKind
		code     string
		received int // messages the server kept
	}{
		{"TransientMail421", "ana@example.com", "mail421@clinic.test", aftercare.Transient, "421", 0},
		{"TransientRcpt451", "rcpt451@example.com", "", aftercare.Transient, "451", 0},
		{"TransientRcpt452", "rcpt452@example.com", "", aftercare.Transient, "452", 0},
		{"TransientData421", "data421@example.com", "", aftercare.Transient, "421", 0},
		{"TransientData451", "data451@example.com", "", aftercare.Transient, "451", 0},
		{"PermanentRcpt550", "rcpt550@example.com", "", aftercare.Permanent, "550", 0},
		{"PermanentRcpt553", "rcpt553@example.com", "", aftercare.Permanent, "553", 0},
		{"PermanentData550", "data550@example.com", "", aftercare.Permanent, "550", 0},
		{"PermanentData554", "data554@example.com", "", aftercare.Permanent, "554", 0},
		{"TransientDroppedBeforeData", "droprcpt@example.com", "", aftercare.Transient, "", 0},
		{"AmbiguousDroppedAfterData", "dropdata@example.com", "", aftercare.Ambiguous, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newMailServer(t)
			s := newSender(t, srv, func(c *smtp.Config) {
				if tt.from != "" {
					c.From = tt.from
				}
			})
			_, err := s.Send(context.Background(), outgoing(tt.to))
			se := notifytest.SendError(t, err)
			t.Logf("error: %v", err)
			if se.Kind != tt.kind || se.Code != tt.code || se.Message == "" || se.OptOut {
				t.Errorf("SendError = {%s %q %q optout=%v}; want {%s %q}", se.Kind, se.Code, se.Message, se.OptOut, tt.kind, tt.code)
			}
			if n := len(srv.messages()); n != tt.received {
				t.Errorf("server kept %d messages, want %d", n, tt.received)
			}
		})
	}
}

func TestSendSessionRefused(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	tests := []struct {
		name string
		port int
		code string
	}{
		{"TransientConnectionRefused", refused, ""},
		{"TransientGreeting421", greeter(t, "421 4.3.2 mx.test too busy, try later"), "421"},
		{"TransientGreeting554", greeter(t, "554 5.7.1 mx.test no service for you"), "554"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := smtp.New(smtp.Config{Host: "127.0.0.1", Port: tt.port, From: from, TLS: "none", Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), outgoing("ana@example.com"))
			se := notifytest.SendError(t, err)
			t.Logf("error: %v", err)
			if se.Kind != aftercare.Transient || se.Code != tt.code {
				t.Errorf("SendError = %+v; want transient %q", se, tt.code)
			}
		})
	}
}

// The whole message went out and no reply came within the timeout: the
// server may have queued it.
func TestSendNoReplyIsAmbiguous(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv, func(c *smtp.Config) { c.Timeout = 300 * time.Millisecond })
	_, err := s.Send(context.Background(), outgoing("hangdata@example.com"))
	se := notifytest.SendError(t, err)
	if se.Kind != aftercare.Ambiguous || !strings.Contains(se.Message, "no reply") {
		t.Errorf("SendError = %+v; want ambiguous, no reply", se)
	}
	if len(srv.messages()) != 1 {
		t.Errorf("server kept %d messages, want 1", len(srv.messages()))
	}
}

func TestSendCancelled(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		to   string
		kind aftercare.FailureKind
	}{
		{"TransientBeforeData", "hangrcpt@example.com", aftercare.Transient},
		{"AmbiguousAfterData", "hangdata@example.com", aftercare.Ambiguous},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newMailServer(t)
			s := newSender(t, srv)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				<-srv.arrived
				cancel()
			}()
			_, err := s.Send(ctx, outgoing(tt.to))
			if se := notifytest.SendError(t, err); se.Kind != tt.kind {
				t.Errorf("SendError = %+v; want %s", se, tt.kind)
			}
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", err)
			}
		})
	}
	t.Run("TransientAlreadyCancelled", func(t *testing.T) {
		t.Parallel()
		srv := newMailServer(t)
		s := newSender(t, srv)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := s.Send(ctx, outgoing("ana@example.com"))
		if se := notifytest.SendError(t, err); se.Kind != aftercare.Transient || !errors.Is(err, context.Canceled) {
			t.Errorf("error %v; want transient wrapping context.Canceled", err)
		}
		if n := srv.sessionCount(); n != 0 {
			t.Errorf("%d sessions opened; want none", n)
		}
	})
}

func TestSendAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		user     string
		pass     string
		kind     aftercare.FailureKind // 0: delivered
		code     string
		received int
	}{
		{"OK", "clinic", "s3cret", 0, "", 1},
		{"TransientWrongPassword", "clinic", "wrong", aftercare.Transient, "535", 0},
		{"PermanentNotAuthenticated", "", "", aftercare.Permanent, "502", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newMailServer(t, withAuth("clinic", "s3cret"))
			s := newSender(t, srv, func(c *smtp.Config) { c.Username, c.Password = tt.user, tt.pass })
			_, err := s.Send(context.Background(), outgoing("ana@example.com"))
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if got := srv.messages(); len(got) != 1 || got[0].Auth != "clinic" {
					t.Errorf("received %+v; want one message from the authenticated user", got)
				}
				return
			}
			se := notifytest.SendError(t, err)
			t.Logf("error: %v", err)
			if se.Kind != tt.kind || se.Code != tt.code {
				t.Errorf("SendError = %+v; want %s %s", se, tt.kind, tt.code)
			}
			if strings.Contains(err.Error(), tt.pass) && tt.pass != "" {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestSendTLS(t *testing.T) {
	t.Parallel()
	serverTLS, roots := selfSigned(t)
	tests := []struct {
		name    string
		mode    string
		opts    []serverOpt
		trusted bool
		kind    aftercare.FailureKind // 0: delivered
	}{
		{"OKStartTLS", "starttls", []serverOpt{withStartTLS(serverTLS), withAuth("clinic", "s3cret")}, true, 0},
		{"OKImplicitTLS", "tls", []serverOpt{withImplicitTLS(serverTLS), withAuth("clinic", "s3cret")}, true, 0},
		{"TransientStartTLSNotOffered", "starttls", nil, true, aftercare.Transient},
		{"TransientUntrustedCertificate", "starttls", []serverOpt{withStartTLS(serverTLS)}, false, aftercare.Transient},
		{"TransientUntrustedCertificateImplicit", "tls", []serverOpt{withImplicitTLS(serverTLS)}, false, aftercare.Transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newMailServer(t, tt.opts...)
			s := newSender(t, srv, func(c *smtp.Config) {
				c.TLS = tt.mode
				if srv.user != "" {
					c.Username, c.Password = "clinic", "s3cret"
				}
			})
			if tt.trusted {
				smtp.TrustRoots(s, roots)
			}
			_, err := s.Send(context.Background(), outgoing("ana@example.com"))
			if tt.kind == 0 {
				if err != nil {
					t.Fatalf("Send: %v", err)
				}
				if got := srv.messages(); len(got) != 1 || !got[0].TLS || got[0].Auth != "clinic" {
					t.Errorf("received %+v; want one message over TLS, authenticated", got)
				}
				return
			}
			se := notifytest.SendError(t, err)
			t.Logf("error: %v", err)
			if se.Kind != tt.kind {
				t.Errorf("SendError = %+v; want %s", se, tt.kind)
			}
			if len(srv.messages()) != 0 {
				t.Error("the server received a message")
			}
		})
	}
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv)
	const n = 20
	notifytest.SendConcurrently(t, n, func() (aftercare.Receipt, error) {
		return s.Send(context.Background(), outgoing("ana@example.com"))
	})
	if len(srv.messages()) != n {
		t.Errorf("server received %d, want %d", len(srv.messages()), n)
	}
}

func TestSendWrongChannelIsPermanent(t *testing.T) {
	t.Parallel()
	srv := newMailServer(t)
	s := newSender(t, srv)
	m := outgoing("+14155550199")
	m.Channel = aftercare.SMS
	_, err := s.Send(context.Background(), m)
	if se := notifytest.SendError(t, err); se.Kind != aftercare.Permanent {
		t.Errorf("SendError = %+v; want permanent", se)
	}
}

func BenchmarkSMTPSend(b *testing.B) {
	srv := newMailServer(b)
	s := newSender(b, srv)
	m := outgoing("ana@example.com")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
