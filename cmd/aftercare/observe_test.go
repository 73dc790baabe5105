package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

// Secrets the observability test sets, and looks for in the log.
const (
	testTwilioToken  = "5ec7e75ec7e75ec7e75ec7e75ec7e7aa"
	testSMTPPassword = "smtp-pass-Do-Not-Log-91"
)

// refusingMail is a real SMTP server (emersion/go-smtp) on loopback that
// takes AUTH PLAIN with testSMTPPassword and refuses every recipient with
// a 550 that quotes the address and a phone number back, as some servers
// do: the log must still show neither.
func refusingMail(t *testing.T) (port int) {
	t.Helper()
	return notifytest.ServeSMTP(t, func() gosmtp.Session { return &refusingSession{} })
}

type refusingSession struct{ authed bool }

func (s *refusingSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *refusingSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "care" || pass != testSMTPPassword {
			return gosmtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}
func (s *refusingSession) Mail(string, *gosmtp.MailOptions) error {
	if !s.authed {
		return gosmtp.ErrAuthRequired
	}
	return nil
}
func (s *refusingSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
		Message: strings.Trim(to, "<>") + " (phone (415) 555-0100 on file) has no mailbox here"}
}
func (s *refusingSession) Data(io.Reader) error { return errors.New("no recipient") }
func (s *refusingSession) Reset()               {}
func (s *refusingSession) Logout() error        { return nil }

// TestServeMetricsAndSafeLogs runs serve with Twilio (the fake), SMTP (a
// real server that refuses the address) and metrics on their own
// listener: after real sends, /metrics counts them; after sign-in with
// the first admin's link, a session and an API token, the JSON log shows
// no secret, no phone number and no email.
func TestServeMetricsAndSafeLogs(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	fake := twiliotest.NewServer(t, twiliotest.WithCredentials(twiliotest.DefaultAccountSID, testTwilioToken))
	setEnv(db, map[string]string{
		"AFTERCARE_HTTP_ADDR": "127.0.0.1:0", "AFTERCARE_METRICS_ADDR": "127.0.0.1:0", "AFTERCARE_PUBLIC_URL": "",
		"AFTERCARE_OUTBOX": filepath.Join(t.TempDir(), "outbox.jsonl"), "AFTERCARE_ADMIN_EMAIL": "owner@glowskin.example",
		"AFTERCARE_DISPATCH_SPEC": "@every 1s", "AFTERCARE_RECONCILE_SPEC": "@every 1h", "AFTERCARE_SMS_RATE": "0", "AFTERCARE_EMAIL_RATE": "0",
		"TWILIO_ACCOUNT_SID": twiliotest.DefaultAccountSID, "TWILIO_AUTH_TOKEN": testTwilioToken, "TWILIO_FROM": "+15005550006",
		"AFTERCARE_TWILIO_BASE_URL": fake.URL,
		"SMTP_HOST":                 "127.0.0.1", "SMTP_PORT": strconv.Itoa(refusingMail(t)), "SMTP_USERNAME": "care", "SMTP_PASSWORD": testSMTPPassword,
		"SMTP_TLS": "none", "SMTP_FROM": "care@glowskin.example",
	})
	mustCLI(t, db, "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--email", "ana.ruiz@example.com",
		"--protocol", "microneedling", "--treated-at", "2026-11-22T10:00", "--sms-consent", "--email-consent")
	token := regexp.MustCompile(`(?m)^\s+(\S+)$`).FindStringSubmatch(mustCLI(t, db, "token", "create", "--role", "frontdesk"))[1]
	// The first text is refused, quoting the number back as Twilio does.
	fake.Next(twiliotest.TwilioError(400, twiliotest.CodeInvalidTo, "The 'To' number +14155550100 is not a valid phone number."))

	stdout, stderr, stop := startServe(t, db)
	metricsAddr := stderr.waitFor(t, regexp.MustCompile(`"msg":"metrics serving","addr":"([^"]+)"`), nil)[1]
	// The two texts due now and the emails (refused) are attempted.
	stderr.waitFor(t, regexp.MustCompile(`(?s)("msg":"attempt".*){3}`), nil)
	link := stdout.waitFor(t, regexp.MustCompile(`choose the admin password: (http://\S+/link/(\S+)) `), nil)

	got := scrapeMetrics(t, "http://"+metricsAddr+"/metrics")
	for series, want := range map[string]float64{
		`aftercare_send_attempts_total{channel="sms",outcome="failed",provider="twilio"}`: 1,
		`aftercare_send_attempts_total{channel="sms",outcome="sent",provider="twilio"}`:   1,
		`aftercare_send_errors_total{code="21211",kind="permanent",provider="twilio"}`:    1,
		`aftercare_provider_latency_seconds_count{provider="twilio"}`:                     2,
		`aftercare_messages{channel="sms",clinic="main",state="sent"}`:                    1,
		`aftercare_messages{channel="sms",clinic="main",state="failed"}`:                  1,
		`aftercare_messages_due{channel="sms",clinic="main"}`:                             0,
		`aftercare_send_lateness_seconds_count{channel="sms"}`:                            1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
	if got[`aftercare_send_errors_total{code="550",kind="permanent",provider="smtp"}`] < 1 {
		t.Errorf("the refused emails are not counted as SMTP 550 errors: %v", got)
	}
	// /metrics is on its own listener only.
	base := regexp.MustCompile(`serving on (http://\S+) `).FindStringSubmatch(stdout.String())[1]
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("the app's listener serves /metrics: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Paths that log: the first admin's link, a session, a failed sign-in, an API token.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(link[1], url.Values{"password": {"a long admin password"}, "confirm": {"a long admin password"}})
	if err != nil || len(resp.Cookies()) == 0 {
		t.Fatalf("using the first admin link: %v %v", resp, err)
	}
	resp.Body.Close()
	cookie := resp.Cookies()[0]
	req, _ := http.NewRequest(http.MethodGet, base+"/patients", nil)
	req.AddCookie(cookie)
	if resp, err = client.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp, err = client.PostForm(base+"/signin", url.Values{"email": {"ana.ruiz@example.com"}, "password": {"wrong password here"}}); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, base+"/api/v1/enrollments", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err = client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("API with the token: %v %v", resp, err)
	}
	resp.Body.Close()
	stop()

	logText := stderr.String()
	for line := range strings.SplitSeq(strings.TrimSpace(logText), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("a log line that is not JSON: %s", line)
		}
	}
	if !strings.Contains(logText, `"to":"+1********00"`) {
		t.Errorf("the log has no masked number: the attempts were not logged?\n%s", logText)
	}
	for what, secret := range map[string]string{
		"TWILIO_AUTH_TOKEN": testTwilioToken, "SMTP_PASSWORD": testSMTPPassword, "the sign-in link's secret": link[2],
		"the session cookie": cookie.Value, "the API token": token, "the admin password": "a long admin password",
		"the phone (E.164)": "4155550100", "the phone (spaced)": "415 555 0100", "the phone (as the SMTP server wrote it)": "555-0100",
		"the patient's email": "ana.ruiz@", "the failed sign-in's email": "ana.ruiz", "the admin's email": "owner@",
	} {
		if strings.Contains(logText, secret) {
			t.Errorf("the log shows %s (%q):\n%s", what, secret, logText)
		}
	}
}

// scrapeMetrics reads a Prometheus text exposition: series -> value.
func scrapeMetrics(t *testing.T, u string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
	}
	out := map[string]float64{}
	for line := range strings.SplitSeq(string(body), "\n") {
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			v, err := strconv.ParseFloat(line[i+1:], 64)
			if err == nil {
				out[line[:i]] = v
			}
		}
	}
	return out
}
