package twilio_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"slices"
	"testing"

	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

// twilioVector is the published example of Twilio's request validation
// (auth token 12345; the vector twilio-go's own tests use).
var twilioVector = struct {
	token, url, sig string
	form            url.Values
}{
	token: "12345",
	url:   "https://mycompany.com/myapp.php?foo=1&bar=2",
	sig:   "vOEb5UThFn24KEfnOFLQY2AE5FY=",
	form: url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
		"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}},
}

// hmacSignature is Twilio's documented algorithm, written out here: the URL,
// then each POST key and value with keys sorted, HMAC-SHA1 under the auth
// token, base64.
func hmacSignature(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestSignatureKnownVector(t *testing.T) {
	t.Parallel()
	v := twilioVector
	if got := hmacSignature(v.token, v.url, v.form); got != v.sig {
		t.Fatalf("the documented algorithm gives %s, want the published %s", got, v.sig)
	}
	if got := twiliotest.Signature(v.token, v.url, v.form); got != v.sig {
		t.Errorf("twiliotest.Signature = %s, want %s", got, v.sig)
	}
	if !twilio.ValidSignature(v.token, v.url, v.form, v.sig) {
		t.Error("ValidSignature refuses the published vector")
	}
}

// TestSignatureURLVariants: the signature covers the URL Twilio was given.
// A default port written or not is the same URL; another query order,
// scheme, host or path is not.
func TestSignatureURLVariants(t *testing.T) {
	t.Parallel()
	const token = twiliotest.DefaultAuthToken
	form := twiliotest.InboundForm(twiliotest.DefaultAccountSID, "SM1", "+14155550100", "+15005550006", "pus")
	tests := []struct {
		name, signed, checked string
		want                  bool
	}{
		{"OKSame", "https://care.example.com/twilio/inbound", "https://care.example.com/twilio/inbound", true},
		{"OKExplicit443", "https://care.example.com/twilio/inbound", "https://care.example.com:443/twilio/inbound", true},
		{"OKSignedWith443", "https://care.example.com:443/twilio/inbound", "https://care.example.com/twilio/inbound", true},
		{"OKHTTPExplicit80", "http://care.example.com/twilio/inbound", "http://care.example.com:80/twilio/inbound", true},
		{"OKQuerySameOrder", "https://care.example.com/twilio/inbound?clinic=b&v=2", "https://care.example.com/twilio/inbound?clinic=b&v=2", true},
		{"ErrQueryOtherOrder", "https://care.example.com/twilio/inbound?clinic=b&v=2", "https://care.example.com/twilio/inbound?v=2&clinic=b", false},
		{"ErrHTTPBehindProxy", "https://care.example.com/twilio/inbound", "http://care.example.com/twilio/inbound", false},
		{"ErrInternalHost", "https://care.example.com/twilio/inbound", "http://10.0.0.5:8080/twilio/inbound", false},
		{"ErrOtherPort", "https://care.example.com/twilio/inbound", "https://care.example.com:8443/twilio/inbound", false},
		{"OKOwnPort", "https://care.example.com:8443/twilio/inbound", "https://care.example.com:8443/twilio/inbound", true},
		{"ErrOwnPortDropped", "https://care.example.com:8443/twilio/inbound", "https://care.example.com/twilio/inbound", false},
		{"ErrOtherPath", "https://care.example.com/twilio/inbound", "https://care.example.com/twilio/status", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig := hmacSignature(token, tt.signed, form)
			if got := twilio.ValidSignature(token, tt.checked, form, sig); got != tt.want {
				t.Errorf("signed for %s, checked as %s: %v, want %v", tt.signed, tt.checked, got, tt.want)
			}
		})
	}
}

func TestParseInbound(t *testing.T) {
	t.Parallel()
	form := twiliotest.InboundForm("AC1", "SMabc", "+14155550100", "+15005550006", " STOP ")
	form.Set("NumMedia", "2")
	form.Set("MessagingServiceSid", "MG00000000000000000000000000000001")
	in, ok := twilio.ParseInbound(form)
	if !ok || in.SID != "SMabc" || in.From != "+14155550100" || in.To != "+15005550006" || in.Body != " STOP " ||
		in.NumMedia != 2 || in.MessagingServiceSID != "MG00000000000000000000000000000001" {
		t.Errorf("ParseInbound = %+v, %v", in, ok)
	}
	for name, f := range map[string]url.Values{
		"ErrNoSID":          {"From": {"+14155550100"}, "Body": {"hi"}},
		"ErrNoFrom":         {"MessageSid": {"SM1"}, "Body": {"hi"}},
		"ErrStatusCallback": twiliotest.StatusForm("AC1", twiliotest.Message{SID: "SM1", To: "+1415", From: "+1500"}, "delivered", 0),
	} {
		if _, ok := twilio.ParseInbound(f); ok {
			t.Errorf("%s: ok", name)
		}
	}
}
