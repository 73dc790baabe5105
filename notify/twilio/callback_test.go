package twilio_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

func TestValidSignature(t *testing.T) {
	t.Parallel()
	const token = twiliotest.DefaultAuthToken
	const cbURL = "https://clinic.example.com/webhooks/twilio/status?clinic=7"
	form := url.Values{"MessageSid": {"SM00000000000000000000000000000001"}, "MessageStatus": {"delivered"}, "To": {patient}}
	sig := twiliotest.Signature(token, cbURL, form)
	tampered := url.Values{"MessageSid": {"SM00000000000000000000000000000001"}, "MessageStatus": {"failed"}, "To": {patient}}
	tests := []struct {
		name  string
		token string
		url   string
		form  url.Values
		sig   string
		want  bool
	}{
		{"OK", token, cbURL, form, sig, true},
		{"OKWithDefaultPortInURL", token, "https://clinic.example.com:443/webhooks/twilio/status?clinic=7", form, sig, true},
		{"ErrTamperedForm", token, cbURL, tampered, sig, false},
		{"ErrOtherURL", token, "https://clinic.example.com/webhooks/twilio/status?clinic=8", form, sig, false},
		{"ErrWrongToken", "ffffffffffffffffffffffffffffffff", cbURL, form, sig, false},
		{"ErrNoSignature", token, cbURL, form, "", false},
		{"ErrNoToken", "", cbURL, form, twiliotest.Signature("", cbURL, form), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := twilio.ValidSignature(tt.token, tt.url, tt.form, tt.sig); got != tt.want {
				t.Errorf("ValidSignature = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	const sid = "SM00000000000000000000000000000001"
	tests := []struct {
		name    string
		form    url.Values
		status  aftercare.Status
		code    string
		ok      bool
		wantSID string
	}{
		{"Queued", url.Values{"MessageSid": {sid}, "MessageStatus": {"queued"}}, aftercare.StatusSent, "", true, sid},
		{"Accepted", url.Values{"MessageSid": {sid}, "MessageStatus": {"accepted"}}, aftercare.StatusSent, "", true, sid},
		{"Sending", url.Values{"MessageSid": {sid}, "MessageStatus": {"sending"}}, aftercare.StatusSent, "", true, sid},
		{"Sent", url.Values{"MessageSid": {sid}, "MessageStatus": {"sent"}}, aftercare.StatusSent, "", true, sid},
		{"Delivered", url.Values{"MessageSid": {sid}, "MessageStatus": {"delivered"}}, aftercare.StatusDelivered, "", true, sid},
		{"Read", url.Values{"MessageSid": {sid}, "MessageStatus": {"read"}}, aftercare.StatusDelivered, "", true, sid},
		{"UndeliveredWithCode", url.Values{"MessageSid": {sid}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}, aftercare.StatusUndelivered, "30003", true, sid},
		{"FailedWithCode", url.Values{"MessageSid": {sid}, "MessageStatus": {"failed"}, "ErrorCode": {"30006"}}, aftercare.StatusFailed, "30006", true, sid},
		{"LegacySmsFields", url.Values{"SmsSid": {sid}, "SmsStatus": {"delivered"}}, aftercare.StatusDelivered, "", true, sid},
		{"ErrUnknownStatus", url.Values{"MessageSid": {sid}, "MessageStatus": {"received"}}, "", "", false, sid},
		{"ErrNoStatus", url.Values{"MessageSid": {sid}}, "", "", false, sid},
		{"ErrNoSID", url.Values{"MessageStatus": {"delivered"}}, "", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sid, status, code, ok := twilio.ParseStatus(tt.form)
			if sid != tt.wantSID || status != tt.status || code != tt.code || ok != tt.ok {
				t.Errorf("ParseStatus = %q, %q, %q, %v; want %q, %q, %q, %v", sid, status, code, ok, tt.wantSID, tt.status, tt.code, tt.ok)
			}
		})
	}
}

// The fake's signed callback, checked by a webhook built on ValidSignature
// and ParseStatus: both sides of the contract agree.
func TestStatusCallbackRoundTrip(t *testing.T) {
	t.Parallel()
	type got struct {
		sid    string
		status aftercare.Status
		code   string
	}
	results := make(chan got, 1)
	var hook *httptest.Server
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		full := hook.URL + r.URL.RequestURI()
		if !twilio.ValidSignature(twiliotest.DefaultAuthToken, full, r.PostForm, r.Header.Get("X-Twilio-Signature")) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		sid, status, code, ok := twilio.ParseStatus(r.PostForm)
		if !ok {
			http.Error(w, "unknown status", http.StatusBadRequest)
			return
		}
		results <- got{sid, status, code}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(hook.Close)

	srv := twiliotest.NewServer(t)
	s := newSender(t, srv, func(c *twilio.Config) {
		c.StatusCallbackURL = "http://" + hook.Listener.Addr().String() + "/webhooks/twilio?clinic=7"
	})
	r, err := s.Send(context.Background(), outgoing(patient))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.SendStatus(context.Background(), "", r.ProviderID, "undelivered", 30003)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("webhook answered %d %s", resp.StatusCode, body)
	}
	want := got{r.ProviderID, aftercare.StatusUndelivered, "30003"}
	if g := <-results; g != want {
		t.Errorf("webhook saw %+v, want %+v", g, want)
	}
	if m, _ := srv.Message(r.ProviderID); m.Status != "undelivered" || m.ErrorCode != 30003 {
		t.Errorf("fake's message = %+v; want undelivered 30003", m)
	}
}
