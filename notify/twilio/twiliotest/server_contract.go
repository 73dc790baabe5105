package twiliotest

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

var (
	accountSIDRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDRE = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	messageSIDRE = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)
	e164RE       = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)
	shortCodeRE  = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphaIDRE    = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// createParams are the form fields of CreateMessageRequest in the contract.
var createParams = map[string]bool{
	"To": true, "StatusCallback": true, "ApplicationSid": true, "MaxPrice": true, "ProvideFeedback": true,
	"Attempt": true, "ValidityPeriod": true, "ForceDelivery": true, "ContentRetention": true,
	"AddressRetention": true, "SmartEncoded": true, "PersistentAction": true, "TrafficType": true,
	"ShortenUrls": true, "ScheduleType": true, "SendAt": true, "SendAsMms": true, "ContentVariables": true,
	"RiskCheck": true, "From": true, "FallbackFrom": true, "MessagingServiceSid": true, "Body": true,
	"MediaUrl": true, "ContentSid": true,
}

// validateCreate checks a create request against CreateMessageRequest. It
// returns the Twilio code and message of the first problem, or 0.
func validateCreate(f url.Values) (int, string) {
	var unknown []string
	for k := range f {
		if !createParams[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return CodeInvalidParameter, "Unknown parameters: " + strings.Join(unknown, ", ")
	}
	for k, v := range f {
		if len(v) > 1 && k != "MediaUrl" && k != "PersistentAction" {
			return CodeInvalidParameter, fmt.Sprintf("Parameter %s given %d times", k, len(v))
		}
	}
	to := f.Get("To")
	switch {
	case to == "":
		return CodeToRequired, "A 'To' phone number is required."
	case !e164RE.MatchString(to):
		return CodeInvalidTo, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)
	}
	from, service := f.Get("From"), f.Get("MessagingServiceSid")
	switch {
	case from == "" && service == "":
		return CodeFromRequired, "A 'From' phone number is required."
	case from != "" && !e164RE.MatchString(from) && !shortCodeRE.MatchString(from) && !alphaIDRE.MatchString(from):
		return CodeInvalidFrom, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from)
	case service != "" && !serviceSIDRE.MatchString(service):
		return CodeInvalidServiceSID, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service)
	}
	body := f.Get("Body")
	if body == "" && f.Get("MediaUrl") == "" && f.Get("ContentSid") == "" {
		return CodeBodyRequired, "Message body is required."
	}
	if n := len(utf16.Encode([]rune(body))); n > MaxBodyChars {
		return CodeBodyTooLong, fmt.Sprintf("The concatenated message body exceeds the %d character limit (%d characters).", MaxBodyChars, n)
	}
	if v, ok := f["ValidityPeriod"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < MinValidityPeriod || n > MaxValidityPeriod {
			return CodeInvalidValidity, fmt.Sprintf("ValidityPeriod must be an integer from %d to %d, got %q.", MinValidityPeriod, MaxValidityPeriod, v[0])
		}
	}
	if v, ok := f["Attempt"]; ok {
		if n, err := strconv.Atoi(v[0]); err != nil || n < 1 {
			return CodeInvalidParameter, fmt.Sprintf("Attempt must be a positive integer, got %q.", v[0])
		}
	}
	if cb, ok := f["StatusCallback"]; ok {
		if msg := checkCallbackURL(cb[0]); msg != "" {
			return CodeInvalidCallback, msg
		}
	}
	return 0, ""
}

// checkCallbackURL applies the contract's rule for StatusCallback: a URI
// with a valid hostname, no underscores.
func checkCallbackURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Sprintf("The StatusCallback URL %s is not a valid URL.", raw)
	}
	if strings.Contains(u.Hostname(), "_") {
		return fmt.Sprintf("The StatusCallback URL %s has an underscore in its hostname.", raw)
	}
	return ""
}

func (s *Server) violation(r *http.Request, code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL.Path, code, msg))
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, status, code int, msg string) {
	s.violation(r, code, msg)
	s.twilioError(w, status, code, msg)
}

// twilioError writes Twilio's error JSON.
func (s *Server) twilioError(w http.ResponseWriter, status, code int, msg string) {
	body := map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status}
	if code == 0 {
		body["code"] = nil
		body["more_info"] = nil
	}
	writeJSON(w, status, body)
}
