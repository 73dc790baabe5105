package twiliotest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aftercare/aftercare/notify/twilio/twiliotest"
)

const (
	to   = "+14155550199"
	from = "+14155550100"
)

func post(t *testing.T, srv *twiliotest.Server, account, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2010-04-01/Accounts/"+account+"/Messages.json", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(account, token)
	return do(t, req)
}

func get(t *testing.T, srv *twiliotest.Server, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", req.Method, req.URL, err)
	}
	return resp.StatusCode, body
}

func valid() url.Values {
	return url.Values{"To": {to}, "From": {from}, "Body": {"Keep the area dry."}}
}

func TestCreateContract(t *testing.T) {
	t.Parallel()
	with := func(k, v string) url.Values { f := valid(); f.Set(k, v); return f }
	without := func(k string) url.Values { f := valid(); f.Del(k); return f }
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   float64
	}{
		{"OK", valid(), 201, 0},
		{"OKMessagingServiceOnly", with("MessagingServiceSid", "MG0123456789abcdef0123456789abcdef"), 201, 0},
		{"OKValidityMin", with("ValidityPeriod", "1"), 201, 0},
		{"OKValidityMax", with("ValidityPeriod", "36000"), 201, 0},
		{"OKBody1600", with("Body", strings.Repeat("a", 1600)), 201, 0},
		{"OKStatusCallback", with("StatusCallback", "https://clinic.example.com/cb?x=1"), 201, 0},
		{"ErrToMissing", without("To"), 400, 21604},
		{"ErrToNotE164", with("To", "415-555-0199"), 400, 21211},
		{"ErrNoSender", without("From"), 400, 21603},
		{"ErrFromInvalid", with("From", "+1 415 555 0100"), 400, 21212},
		{"ErrServiceSIDPattern", with("MessagingServiceSid", "MG1"), 400, 21701},
		{"ErrBodyMissing", without("Body"), 400, 21602},
		{"ErrBody1601", with("Body", strings.Repeat("a", 1601)), 400, 21617},
		{"ErrBodyEmojiCountsUTF16", with("Body", strings.Repeat("👍", 801)), 400, 21617},
		{"ErrValidityZero", with("ValidityPeriod", "0"), 400, 21623},
		{"ErrValidityTooLong", with("ValidityPeriod", "36001"), 400, 21623},
		{"ErrValidityNotInteger", with("ValidityPeriod", "60.5"), 400, 21623},
		{"ErrStatusCallbackRelative", with("StatusCallback", "/cb"), 400, 21609},
		{"ErrStatusCallbackUnderscore", with("StatusCallback", "https://my_clinic.example.com/cb"), 400, 21609},
		{"ErrUnknownParameter", with("Recipient", to), 400, 20001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := twiliotest.NewServer(t)
			status, body := post(t, srv, srv.AccountSID, srv.AuthToken, tt.form)
			if status != tt.status {
				t.Fatalf("status %d %v; want %d", status, body, tt.status)
			}
			if tt.status != 201 {
				if body["code"] != tt.code || body["status"] != float64(tt.status) || body["message"] == "" || body["more_info"] == "" {
					t.Errorf("error body %v; want code %v", body, tt.code)
				}
				if len(srv.Violations()) != 1 || srv.Count() != 0 {
					t.Errorf("violations %q, count %d; want 1 violation, nothing accepted", srv.Violations(), srv.Count())
				}
				return
			}
			if !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(body["sid"].(string)) {
				t.Errorf("sid %v does not match the contract", body["sid"])
			}
			for _, k := range []string{"account_sid", "api_version", "body", "date_created", "date_sent", "date_updated", "direction",
				"error_code", "error_message", "from", "messaging_service_sid", "num_media", "num_segments", "price", "price_unit",
				"sid", "status", "subresource_uris", "to", "uri"} {
				if _, ok := body[k]; !ok {
					t.Errorf("response lacks %q", k)
				}
			}
			if _, err := time.Parse(twiliotest.TimeFormat, body["date_created"].(string)); err != nil {
				t.Errorf("date_created: %v", err)
			}
			if srv.Count() != 1 || len(srv.Violations()) != 0 {
				t.Errorf("count %d, violations %q", srv.Count(), srv.Violations())
			}
		})
	}
}

func TestAuthAndAccount(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	if status, body := post(t, srv, srv.AccountSID, "wrong", valid()); status != 401 || body["code"] != float64(20003) {
		t.Errorf("wrong token: %d %v; want 401 20003", status, body)
	}
	other := "AC00000000000000000000000000000002"
	srv2 := twiliotest.NewServer(t, twiliotest.WithCredentials(other, "tok"))
	if status, _ := post(t, srv2, other, "tok", valid()); status != 201 {
		t.Errorf("custom credentials: %d; want 201", status)
	}
	if status, _ := post(t, srv2, "ACnothex", "tok", valid()); status != 401 {
		t.Errorf("malformed account with wrong auth user: %d; want 401", status)
	}
}

func TestListAndFetch(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	srv := twiliotest.NewServer(t)
	early := srv.Add(twiliotest.Message{To: to, From: from, Body: "a", DateCreated: day.Add(-time.Hour)}) // previous day
	var todays []twiliotest.Message
	for i := range 5 {
		todays = append(todays, srv.Add(twiliotest.Message{To: to, From: from, Body: "b", DateCreated: day.Add(time.Duration(i) * time.Hour)}))
	}
	srv.Add(twiliotest.Message{To: "+14155550111", From: from, Body: "c", DateCreated: day.Add(time.Hour)})

	// DateSent>= is by day; two per page; newest first; paging by next_page_uri.
	path := "/2010-04-01/Accounts/" + srv.AccountSID + "/Messages.json?" + url.Values{"To": {to}, "DateSent>": {"2026-03-14T10:00:00Z"}, "PageSize": {"2"}}.Encode()
	var sids []string
	for path != "" {
		status, body := get(t, srv, path)
		if status != 200 {
			t.Fatalf("GET %s: %d %v", path, status, body)
		}
		for _, m := range body["messages"].([]any) {
			sids = append(sids, m.(map[string]any)["sid"].(string))
		}
		next, _ := body["next_page_uri"].(string)
		path = next
	}
	if len(sids) != 5 {
		t.Fatalf("listed %d messages %v; want today's 5", len(sids), sids)
	}
	for i, sid := range sids {
		if want := todays[4-i].SID; sid != want {
			t.Errorf("message %d = %s, want %s (newest first)", i, sid, want)
		}
	}
	status, body := get(t, srv, "/2010-04-01/Accounts/"+srv.AccountSID+"/Messages/"+early.SID+".json")
	if status != 200 || body["sid"] != early.SID || body["status"] != "delivered" {
		t.Errorf("fetch: %d %v", status, body)
	}
	status, body = get(t, srv, "/2010-04-01/Accounts/"+srv.AccountSID+"/Messages/SM0000000000000000000000000000ffff.json")
	if status != 404 || body["code"] != float64(20404) {
		t.Errorf("fetch missing: %d %v", status, body)
	}
}

func TestScripts(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	srv.Next(twiliotest.TwilioError(400, 21211, "bad"), twiliotest.RateLimited("5"))
	srv.AlwaysFor("+14155550123", twiliotest.TwilioError(400, 30006, "landline"))
	srv.NextFor("+14155550123", twiliotest.TwilioError(400, 21610, "stop"))

	if status, body := post(t, srv, srv.AccountSID, srv.AuthToken, valid()); status != 400 || body["code"] != float64(21211) {
		t.Errorf("first: %d %v", status, body)
	}
	form := valid()
	form.Set("To", "+14155550123")
	if status, body := post(t, srv, srv.AccountSID, srv.AuthToken, form); body["code"] != float64(21610) {
		t.Errorf("NextFor: %d %v", status, body)
	}
	if status, body := post(t, srv, srv.AccountSID, srv.AuthToken, form); body["code"] != float64(30006) {
		t.Errorf("AlwaysFor: %d %v", status, body)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2010-04-01/Accounts/"+srv.AccountSID+"/Messages.json", strings.NewReader(valid().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" {
		t.Errorf("second Next: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if status, _ := post(t, srv, srv.AccountSID, srv.AuthToken, valid()); status != 201 {
		t.Errorf("after the script: %d, want 201", status)
	}
	if srv.Requests() != 5 || srv.Count() != 1 {
		t.Errorf("requests %d count %d; want 5 and 1", srv.Requests(), srv.Count())
	}
}

// A hanging request ends, unanswered, when the test releases it, and Close
// does not wait for the client.
func TestHangRelease(t *testing.T) {
	t.Parallel()
	srv := twiliotest.NewServer(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	srv.Next(twiliotest.Reply{Hang: true, Release: release, Arrived: arrived})
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/2010-04-01/Accounts/"+srv.AccountSID+"/Messages.json", strings.NewReader(valid().Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(srv.AccountSID, srv.AuthToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("got an answer: " + resp.Status)
		}
		errc <- err
	}()
	<-arrived
	close(release)
	if err := <-errc; err == nil || strings.Contains(err.Error(), "got an answer") {
		t.Errorf("client error = %v; want a dropped connection", err)
	}
	if srv.Count() != 0 {
		t.Errorf("count %d; a hung request is not accepted", srv.Count())
	}

	srv2 := twiliotest.New()
	arrived2 := make(chan struct{}, 1)
	srv2.Next(twiliotest.Reply{Hang: true, Arrived: arrived2})
	go func() {
		<-arrived2
		srv2.Close()
	}()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv2.URL+"/2010-04-01/Accounts/"+srv2.AccountSID+"/Messages.json", strings.NewReader(valid().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(srv2.AccountSID, srv2.AuthToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("got %s from a closed server", resp.Status)
	}
}

func TestSignatureKnownVector(t *testing.T) {
	t.Parallel()
	// The vector twilio-go's own validator tests use (client/request_validator_test.go).
	form := url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
	got := twiliotest.Signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if want := "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Errorf("Signature = %s, want %s", got, want)
	}
}
