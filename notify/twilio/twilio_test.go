package twilio_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/notifytest"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

const (
	fromNumber = "+14155550100"
	serviceSID = "MG0123456789abcdef0123456789abcdef"
	patient    = "+14155550199"
)

var epoch = notifytest.Epoch

func newSender(t testing.TB, srv *twiliotest.Server, mod ...func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{
		AccountSID: srv.AccountSID,
		AuthToken:  srv.AuthToken,
		From:       fromNumber,
		BaseURL:    srv.URL,
		Timeout:    5 * time.Second,
	}
	s := notifytest.New(t, twilio.New, cfg, mod...)
	s.Now = notifytest.Clock
	return s
}

func outgoing(to string) *aftercare.Outgoing {
	return &aftercare.Outgoing{
		MessageID:  42,
		ClinicID:   7,
		Channel:    aftercare.SMS,
		To:         to,
		Body:       "Hi Ana, keep the area dry for 24 hours. Questions? Call +14155550123.",
		ClinicName: "Downtown Spa",
		ExpiresAt:  epoch.Add(90 * time.Minute),
		Attempt:    1,
	}
}

// noViolations fails the test if the fake saw a request that breaks
// Twilio's contract.
func noViolations(t *testing.T, srv *twiliotest.Server) {
	t.Helper()
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("requests broke the Twilio contract:\n%s", strings.Join(v, "\n"))
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	ok := twilio.Config{AccountSID: twiliotest.DefaultAccountSID, AuthToken: twiliotest.DefaultAuthToken, From: fromNumber}
	notifytest.CheckConfigs(t, twilio.New, ok, func(c twilio.Config) string { return c.AuthToken }, []notifytest.ConfigCase[twilio.Config]{
		{Name: "OK", Mod: func(*twilio.Config) {}, Field: ""},
		{Name: "OKMessagingServiceOnly", Mod: func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", serviceSID }, Field: ""},
		{Name: "OKBaseURLWithPath", Mod: func(c *twilio.Config) { c.BaseURL = "http://127.0.0.1:4010/twilio/" }, Field: ""},
		{Name: "OKStatusCallback", Mod: func(c *twilio.Config) { c.StatusCallbackURL = "https://clinic.example.com/webhooks/twilio/status" }, Field: ""},
		{Name: "ErrAccountSIDMissing", Mod: func(c *twilio.Config) { c.AccountSID = "" }, Field: "TWILIO_ACCOUNT_SID"},
		{Name: "ErrAccountSIDPattern", Mod: func(c *twilio.Config) { c.AccountSID = "SK00000000000000000000000000000001" }, Field: "TWILIO_ACCOUNT_SID"},
		{Name: "ErrAuthTokenMissing", Mod: func(c *twilio.Config) { c.AuthToken = "" }, Field: "TWILIO_AUTH_TOKEN"},
		{Name: "ErrAuthTokenNotAlphanumeric", Mod: func(c *twilio.Config) { c.AuthToken = "secret token\n" }, Field: "TWILIO_AUTH_TOKEN"},
		{Name: "ErrNoSender", Mod: func(c *twilio.Config) { c.From = "" }, Field: "TWILIO_FROM"},
		{Name: "ErrFromNotE164", Mod: func(c *twilio.Config) { c.From = "(415) 555-0100" }, Field: "TWILIO_FROM"},
		{Name: "ErrServiceSIDPattern", Mod: func(c *twilio.Config) { c.MessagingServiceSID = "MG123" }, Field: "TWILIO_MESSAGING_SERVICE_SID"},
		{Name: "ErrBaseURLScheme", Mod: func(c *twilio.Config) { c.BaseURL = "ftp://127.0.0.1:21" }, Field: "AFTERCARE_TWILIO_BASE_URL"},
		{Name: "ErrBaseURLNoHost", Mod: func(c *twilio.Config) { c.BaseURL = "http://" }, Field: "AFTERCARE_TWILIO_BASE_URL"},
		{Name: "ErrBaseURLNotURL", Mod: func(c *twilio.Config) { c.BaseURL = "127.0.0.1:4010" }, Field: "AFTERCARE_TWILIO_BASE_URL"},
		{Name: "ErrStatusCallbackRelative", Mod: func(c *twilio.Config) { c.StatusCallbackURL = "/webhooks/twilio" }, Field: "AFTERCARE_PUBLIC_URL"},
		{Name: "ErrStatusCallbackUnderscore", Mod: func(c *twilio.Config) { c.StatusCallbackURL = "https://my_clinic.example.com/cb" }, Field: "AFTERCARE_PUBLIC_URL"},
		{Name: "ErrNegativeTimeout", Mod: func(c *twilio.Config) { c.Timeout = -time.Second }, Field: "TWILIO_TIMEOUT"},
	})
}

func TestSend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		mod        func(*twilio.Config)
		from       string // the clinic's own sender (Outgoing.From)
		expires    time.Time
		wantStatus string
		wantParams url.Values // exact values expected
		absent     []string   // params that must not be sent
	}{
		{
			name:       "OKFromNumber",
			expires:    epoch.Add(90 * time.Minute),
			wantStatus: "queued",
			wantParams: url.Values{"To": {patient}, "From": {fromNumber}, "ValidityPeriod": {"5400"}, "Attempt": {"1"}},
			absent:     []string{"MessagingServiceSid", "StatusCallback"},
		},
		{
			name:       "OKMessagingService",
			mod:        func(c *twilio.Config) { c.From, c.MessagingServiceSID = "", serviceSID },
			expires:    epoch.Add(90 * time.Minute),
			wantStatus: "accepted",
			wantParams: url.Values{"MessagingServiceSid": {serviceSID}},
			absent:     []string{"From"},
		},
		{
			name:       "OKStatusCallback",
			mod:        func(c *twilio.Config) { c.StatusCallbackURL = "https://clinic.example.com/webhooks/twilio?x=1" },
			expires:    epoch.Add(90 * time.Minute),
			wantStatus: "queued",
			wantParams: url.Values{"StatusCallback": {"https://clinic.example.com/webhooks/twilio?x=1"}},
		},
		{"ValidityClampedToMax", nil, "", epoch.Add(30 * time.Hour), "queued", url.Values{"ValidityPeriod": {"36000"}}, nil},
		{name: "OKClinicNumber", from: "+14155550177", expires: epoch.Add(time.Hour), wantStatus: "queued",
			wantParams: url.Values{"From": {"+14155550177"}}, absent: []string{"MessagingServiceSid"}},
		{name: "OKClinicService", from: serviceSID, expires: epoch.Add(time.Hour), wantStatus: "accepted",
			wantParams: url.Values{"MessagingServiceSid": {serviceSID}}, absent: []string{"From"}},
		{"ValidityClampedToMin", nil, "", epoch.Add(400 * time.Millisecond), "queued", url.Values{"ValidityPeriod": {"1"}}, nil},
		{"ValidityOmittedWhenExpired", nil, "", epoch.Add(-time.Minute), "queued", nil, []string{"ValidityPeriod"}},
		{"ValidityOmittedWithoutExpiry", nil, "", time.Time{}, "queued", nil, []string{"ValidityPeriod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.NewServer(t)
			var mods []func(*twilio.Config)
			if tt.mod != nil {
				mods = append(mods, tt.mod)
			}
			s := newSender(t, srv, mods...)
			m := outgoing(patient)
			m.ExpiresAt = tt.expires
			m.From = tt.from
			r, err := s.Send(context.Background(), m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			noViolations(t, srv)
			got := srv.Messages()
			if len(got) != 1 {
				t.Fatalf("fake recorded %d messages, want 1", len(got))
			}
			rec := got[0]
			if r.Sender != "twilio" || r.ProviderID != rec.SID || r.ProviderStatus != tt.wantStatus || r.Final != "" {
				t.Errorf("receipt = %+v; want twilio/%s/%s", r, rec.SID, tt.wantStatus)
			}
			if rec.To != patient || rec.Body != m.Body {
				t.Errorf("fake got To %q Body %q", rec.To, rec.Body)
			}
			for k, v := range tt.wantParams {
				if g := rec.Params[k]; len(g) != 1 || g[0] != v[0] {
					t.Errorf("param %s = %q, want %q", k, g, v[0])
				}
			}
			for _, k := range tt.absent {
				if _, ok := rec.Params[k]; ok {
					t.Errorf("param %s sent (%q), want it absent", k, rec.Params[k])
				}
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		reply      twiliotest.Reply
		kind       aftercare.FailureKind
		code       string
		optOut     bool
		retryAfter time.Duration
		accepted   int // messages the fake took
	}{
		{"ErrInvalidNumber", twiliotest.TwilioError(400, 21211, "The 'To' number "+patient+" is not a valid phone number."), aftercare.Permanent, "21211", false, 0, 0},
		{"ErrNotMobile", twiliotest.TwilioError(400, 21614, "'To' number is not a valid mobile number"), aftercare.Permanent, "21614", false, 0, 0},
		{"ErrLandline", twiliotest.TwilioError(400, 30006, "Landline or unreachable carrier"), aftercare.Permanent, "30006", false, 0, 0},
		{"ErrUnsubscribed", twiliotest.TwilioError(400, 21610, "Attempt to send to unsubscribed recipient"), aftercare.Permanent, "21610", true, 0, 0},
		{"ErrOtherTwilioCode", twiliotest.TwilioError(400, 21408, "Permission to send an SMS has not been enabled for the region"), aftercare.Permanent, "21408", false, 0, 0},
		{"ErrForbiddenNoCode", twiliotest.Reply{Status: 403, HTML: true}, aftercare.Permanent, "403", false, 0, 0},
		{"RateLimitedRetryAfterSeconds", twiliotest.RateLimited("7"), aftercare.Transient, "20429", false, 7 * time.Second, 0},
		{"RateLimitedRetryAfterDate", twiliotest.RateLimited(epoch.Add(90 * time.Second).Format(http.TimeFormat)), aftercare.Transient, "20429", false, 90 * time.Second, 0},
		{"RateLimitedNoRetryAfter", twiliotest.RateLimited(""), aftercare.Transient, "20429", false, 0, 0},
		{"RateLimitedHTMLBody", twiliotest.Reply{Status: 429, HTML: true, RetryAfter: "3"}, aftercare.Transient, "429", false, 3 * time.Second, 0},
		{"RateLimitedCodeOn400", twiliotest.TwilioError(400, 20429, "Too Many Requests"), aftercare.Transient, "20429", false, 0, 0},
		{"AmbiguousServerErrorHTML", twiliotest.ServerErrorHTML(500), aftercare.Ambiguous, "500", false, 0, 0},
		{"AmbiguousBadGatewayHTML", twiliotest.ServerErrorHTML(502), aftercare.Ambiguous, "502", false, 0, 0},
		{"AmbiguousServiceUnavailableJSON", twiliotest.TwilioError(503, 20503, "Service Unavailable"), aftercare.Ambiguous, "20503", false, 0, 0},
		{"AmbiguousAcceptedThenDropped", twiliotest.AcceptThenDrop(), aftercare.Ambiguous, "", false, 0, 1},
		{"AmbiguousResetMidResponse", twiliotest.Reply{ResetMidBody: true}, aftercare.Ambiguous, "", false, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.NewServer(t)
			srv.NextFor(patient, tt.reply)
			s := newSender(t, srv)
			_, err := s.Send(context.Background(), outgoing(patient))
			se := notifytest.SendError(t, err)
			t.Logf("error: %v", err)
			if se.Kind != tt.kind || se.Code != tt.code || se.OptOut != tt.optOut || se.RetryAfter != tt.retryAfter {
				t.Errorf("SendError = {Kind:%s Code:%q OptOut:%v RetryAfter:%s Message:%q}; want {%s %q %v %s}",
					se.Kind, se.Code, se.OptOut, se.RetryAfter, se.Message, tt.kind, tt.code, tt.optOut, tt.retryAfter)
			}
			if se.Message == "" {
				t.Error("SendError has no message")
			}
			if strings.Contains(se.Message, patient) {
				t.Errorf("message %q shows the full number; want it masked", se.Message)
			}
			if n := srv.Count(); n != tt.accepted {
				t.Errorf("fake accepted %d messages, want %d", n, tt.accepted)
			}
			noViolations(t, srv)
		})
	}
}

func TestSendWrongCredentialsIsPermanent(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	s := newSender(t, srv, func(c *twilio.Config) { c.AuthToken = "ffffffffffffffffffffffffffffffff" })
	_, err := s.Send(context.Background(), outgoing(patient))
	if se := notifytest.SendError(t, err); se.Kind != aftercare.Permanent || se.Code != "20003" {
		t.Errorf("SendError = %+v; want permanent 20003", se)
	}
}

func TestSendNoAnswerIsAmbiguous(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	srv.NextFor(patient, twiliotest.Hang())
	s := newSender(t, srv, func(c *twilio.Config) { c.Timeout = 100 * time.Millisecond })
	_, err := s.Send(context.Background(), outgoing(patient))
	se := notifytest.SendError(t, err)
	if se.Kind != aftercare.Ambiguous || !strings.Contains(se.Message, "no answer") {
		t.Errorf("SendError = %+v; want ambiguous, no answer", se)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v wraps a context error, but the caller's context did not end", err)
	}
	// The sender's timeout, not the fake, ended the request.
	if srv.Requests() != 1 {
		t.Errorf("fake saw %d requests, want 1 (no retry)", srv.Requests())
	}
}

func TestSendCancelledInFlightIsAmbiguous(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	arrived := make(chan struct{}, 1)
	srv.NextFor(patient, twiliotest.Reply{Hang: true, Arrived: arrived})
	s := newSender(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	_, err := s.Send(ctx, outgoing(patient))
	if se := notifytest.SendError(t, err); se.Kind != aftercare.Ambiguous {
		t.Errorf("SendError = %+v; want ambiguous", se)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
}

func TestSendCancelledBeforeIsTransient(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	s := newSender(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Send(ctx, outgoing(patient))
	if se := notifytest.SendError(t, err); se.Kind != aftercare.Transient {
		t.Errorf("SendError = %+v; want transient", se)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	if srv.Requests() != 0 {
		t.Errorf("fake saw %d requests, want 0", srv.Requests())
	}
}

func TestSendUnreachableIsTransient(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	tests := []struct{ name, baseURL string }{
		{"ConnectionRefused", refused},
		{"DNSFailure", "http://api.twilio.invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := twilio.New(twilio.Config{AccountSID: twiliotest.DefaultAccountSID, AuthToken: twiliotest.DefaultAuthToken,
				From: fromNumber, BaseURL: tt.baseURL, Timeout: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), outgoing(patient))
			if se := notifytest.SendError(t, err); se.Kind != aftercare.Transient {
				t.Errorf("SendError = %+v; want transient", se)
			}
		})
	}
}

func TestSendWrongChannelIsPermanent(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	s := newSender(t, srv)
	m := outgoing("ana@example.com")
	m.Channel = aftercare.Email
	_, err := s.Send(context.Background(), m)
	if se := notifytest.SendError(t, err); se.Kind != aftercare.Permanent {
		t.Errorf("SendError = %+v; want permanent", se)
	}
	if srv.Requests() != 0 {
		t.Errorf("fake saw %d requests, want 0", srv.Requests())
	}
}

// An invalid number reaches Twilio (we do not second-guess it) and comes
// back as Twilio's 21211, from the fake's own contract check.
func TestSendInvalidNumberRefusedByContract(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	s := newSender(t, srv)
	_, err := s.Send(context.Background(), outgoing("4155550199"))
	if se := notifytest.SendError(t, err); se.Kind != aftercare.Permanent || se.Code != "21211" {
		t.Errorf("SendError = %+v; want permanent 21211", se)
	}
}

// BaseURL may carry a path: a proxy that serves Twilio under /twilio.
func TestSendThroughProxyPath(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	target, _ := url.Parse(srv.URL)
	proxy := httptest.NewServer(http.StripPrefix("/twilio", httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(proxy.Close)
	s := newSender(t, srv, func(c *twilio.Config) { c.BaseURL = proxy.URL + "/twilio/" })
	if _, err := s.Send(context.Background(), outgoing(patient)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if srv.Count() != 1 {
		t.Errorf("fake accepted %d, want 1", srv.Count())
	}
	noViolations(t, srv)
}

func TestSendConcurrent(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	s := newSender(t, srv)
	const n = 40
	notifytest.SendConcurrently(t, n, func() (aftercare.Receipt, error) {
		return s.Send(context.Background(), outgoing(patient))
	})
	if srv.Count() != n {
		t.Errorf("fake accepted %d, want %d", srv.Count(), n)
	}
	noViolations(t, srv)
}
