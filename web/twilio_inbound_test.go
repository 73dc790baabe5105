package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/sqlite"
	"github.com/aftercare/aftercare/web"
)

// inboundServer is the real handler on loopback, behind a "proxy": Twilio
// was given publicURL (https), the server listens on plain http.
type inboundServer struct {
	db     *sqlite.DB
	fake   *twiliotest.Server
	clinic *aftercare.Clinic
	srv    *httptest.Server
	public string
}

func newInboundServer(t *testing.T) *inboundServer {
	t.Helper()
	f := newTwilioFixture(t, "America/Los_Angeles")
	db, fake, clock, d := f.db, f.fake, f.clock, f.dispatcher(nil)
	hook := f.webhook()
	hook.ParseInbound = func(form url.Values) (scheduler.InboundSMS, bool) {
		in, ok := twilio.ParseInbound(form)
		return scheduler.InboundSMS{SID: in.SID, From: in.From, To: in.To, Body: in.Body, MessagingServiceSID: in.MessagingServiceSID, NumMedia: in.NumMedia}, ok
	}
	public := "https://care.glow.example"
	srv := httptest.NewServer((&web.Server{Store: db, Service: f.svc, PublicURL: public, Now: clock,
		Twilio:  hook,
		Inbound: &scheduler.Inbound{Store: db, Dispatcher: d, ServerFrom: twilioFrom, Now: clock},
	}).Handler())
	t.Cleanup(srv.Close)
	return &inboundServer{db: db, fake: fake, clinic: f.clinic, srv: srv, public: public}
}

// post sends form to path on the server, signed (as Twilio would) for
// signedURL; "" sends no signature.
func (s *inboundServer) post(t *testing.T, path, signedURL string, form url.Values, body io.Reader) int {
	t.Helper()
	if body == nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest("POST", s.srv.URL+path, body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signedURL != "" {
		req.Header.Set("X-Twilio-Signature", twiliotest.Signature(s.fake.AuthToken, signedURL, form))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// proxy is a client that delivers requests for the public https URL to the
// test server on plain http, as a TLS-terminating proxy would.
func (s *inboundServer) proxy() *http.Client {
	addr := strings.TrimPrefix(s.srv.URL, "http://")
	return &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = "http", addr
		return http.DefaultTransport.RoundTrip(r)
	})}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (s *inboundServer) replies(t *testing.T) []*aftercare.Reply {
	rs, err := s.db.ListReplies(context.Background(), aftercare.ReplyFilter{ClinicID: s.clinic.ID})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestTwilioInbound(t *testing.T) {
	t.Parallel()
	s := newInboundServer(t)
	form := func(sid, body string) url.Values {
		return twiliotest.InboundForm(s.fake.AccountSID, sid, "+14155550100", twilioFrom, body)
	}
	hook := s.public + "/twilio/inbound"
	refused := []struct {
		name   string
		path   string
		signed string
		form   url.Values
	}{
		{"ErrUnsigned", "/twilio/inbound", "", form("SM1", "STOP")},
		{"ErrSignedForTheRequestURL", "/twilio/inbound", s.srv.URL + "/twilio/inbound", form("SM1", "STOP")},
		{"ErrSignedForHTTP", "/twilio/inbound", "http://care.glow.example/twilio/inbound", form("SM1", "STOP")},
		{"ErrOtherQueryOrder", "/twilio/inbound?b=2&a=1", hook + "?a=1&b=2", form("SM1", "STOP")},
		{"ErrSignedForStatus", "/twilio/inbound", s.public + "/twilio/status", form("SM1", "STOP")},
	}
	for _, tt := range refused {
		if code := s.post(t, tt.path, tt.signed, tt.form, nil); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tt.name, code)
		}
	}
	// A signed form whose body was changed on the way: the signature
	// covers the original.
	tampered := form("SM1", "hello")
	if code := s.post(t, "/twilio/inbound", hook, tampered, strings.NewReader(form("SM1", "STOP").Encode())); code != http.StatusForbidden {
		t.Errorf("tampered body: %d, want 403", code)
	}
	big := form("SM2", strings.Repeat("x", 70<<10))
	if code := s.post(t, "/twilio/inbound", hook, big, nil); code != http.StatusBadRequest {
		t.Errorf("oversized: %d, want 400", code)
	}
	if rs := s.replies(t); len(rs) != 0 || s.fake.Count() != 0 {
		t.Fatalf("refused requests changed something: %d replies, %d texts", len(rs), s.fake.Count())
	}
	p, _ := s.db.FindPatientByMatchKey(context.Background(), s.clinic.ID, "ana|+14155550100|")
	if p == nil || !p.SMSOptOutAt.IsZero() {
		t.Fatal("a refused STOP opted the patient out")
	}

	// Signed like Twilio for the public URL (with its query as given): kept.
	if code := s.post(t, "/twilio/inbound?b=2&a=1", hook+"?b=2&a=1", form("SM3", "Is this redness normal?"), nil); code != http.StatusOK {
		t.Fatalf("signed: %d", code)
	}
	// The same SID again (a replay): 200, nothing more.
	if code := s.post(t, "/twilio/inbound?b=2&a=1", hook+"?b=2&a=1", form("SM3", "Is this redness normal?"), nil); code != http.StatusOK {
		t.Fatalf("replay: %d", code)
	}
	if rs := s.replies(t); len(rs) != 1 || rs[0].Body != "Is this redness normal?" || s.fake.Count() != 1 {
		t.Fatalf("after a reply and its replay: %d replies, %d texts sent", len(rs), s.fake.Count())
	}
	// twiliotest sends a STOP the way Twilio does.
	sid, resp, err := s.fake.SendInbound(context.Background(), s.proxy(), hook, "+14155550100", twilioFrom, "stop")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("SendInbound: %v %v", resp, err)
	}
	resp.Body.Close()
	p, _ = s.db.FindPatient(context.Background(), s.clinic.ID, p.ID)
	if p.SMSOptOutAt.IsZero() {
		t.Errorf("STOP %s did not opt out", sid)
	}
}
