// Package notifytest is the test support the senders' tests share
// (notify/smtp, notify/twilio, notify/outbox): one fixed clock, building a
// sender from a valid config with a test's changes, and reading a failed
// send's *aftercare.SendError. The fakes the senders talk to stay with
// their sender (notify/twilio/twiliotest, the SMTP server in smtp's tests);
// this package holds only what every sender's tests do alike, and
// ServeSMTP, the loopback SMTP server the tests of the scheduler, the web
// and the command line script their sessions on. Only tests import it.
package notifytest

import (
	"errors"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/aftercare/aftercare"
)

// Epoch is the senders' tests' fixed now (Pi day, 15:09:26 UTC).
var Epoch = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// Clock is a clock stopped at Epoch, for a sender's Now.
func Clock() time.Time { return Epoch }

// New applies a test's changes (mod) to a valid config and builds the
// sender with newSender, failing the test if the config is refused.
func New[C, S any](t testing.TB, newSender func(C) (S, error), cfg C, mod ...func(*C)) S {
	t.Helper()
	for _, m := range mod {
		m(&cfg)
	}
	s, err := newSender(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// SendError returns err as the *aftercare.SendError every failed send must
// be, failing the test if it is not one.
func SendError(t testing.TB, err error) *aftercare.SendError {
	t.Helper()
	var se *aftercare.SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not an *aftercare.SendError", err, err)
	}
	return se
}

// ConfigCase is one change to a valid sender config and the environment
// variable New must name in its EINVALID error ("" when the changed config
// is valid).
type ConfigCase[C any] struct {
	Name  string
	Mod   func(*C)
	Field string
}

// CheckConfigs runs each case as a parallel subtest: it applies the case's
// change to ok, builds the sender with newSender and checks the result.
// secret returns the config's secret (password, auth token), which no
// error may show.
func CheckConfigs[C, S any](t *testing.T, newSender func(C) (S, error), ok C, secret func(C) string, cases []ConfigCase[C]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.Mod(&cfg)
			_, err := newSender(cfg)
			if tc.Field == "" {
				if err != nil {
					t.Fatalf("New: %v; want a sender", err)
				}
				return
			}
			var ae *aftercare.Error
			if !errors.As(err, &ae) || ae.Code != aftercare.EINVALID || ae.Field != tc.Field {
				t.Fatalf("New error = %#v; want EINVALID on %s", err, tc.Field)
			}
			if s := secret(cfg); s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("error %q shows the secret", err)
			}
		})
	}
}

// SendConcurrently calls send n times at once and fails the test unless
// every call succeeds with a provider id no other call got: a sender is
// shared by the dispatcher's workers. The caller then checks that its fake
// received n messages.
func SendConcurrently(t *testing.T, n int, send func() (aftercare.Receipt, error)) {
	t.Helper()
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := send()
			ids[i], errs[i] = r.ProviderID, err
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Send %d: %v", i, errs[i])
		}
		if seen[ids[i]] {
			t.Fatalf("provider id %s returned twice", ids[i])
		}
		seen[ids[i]] = true
	}
}

// ServeSMTP serves SMTP (a real emersion/go-smtp server, domain mx.test,
// AUTH allowed without TLS) on a loopback port until the test ends, with a
// session from newSession for each connection, and returns the port.
func ServeSMTP(t testing.TB, newSession func() gosmtp.Session) int {
	t.Helper()
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) { return newSession(), nil }))
	s.Domain, s.AllowInsecureAuth = "mx.test", true
	s.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}
