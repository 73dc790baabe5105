package web

import (
	"net/http"

	"github.com/aftercare/aftercare"
)

// twilioInbound receives a text a patient sent to a clinic's number
// (Twilio's incoming-message webhook, AFTERCARE_PUBLIC_URL +
// /twilio/inbound). Forged or unsigned requests get 403 and change nothing;
// the same MessageSid twice (a replay, or Twilio retrying) is accepted and
// changes nothing the second time. The answer is empty TwiML: Aftercare's
// own answers go out through the API, so that the log records them.
func (s *Server) twilioInbound(w http.ResponseWriter, r *http.Request) {
	if err := s.twilioForm(w, r, "inbound text"); err != nil {
		s.fail(w, r, err)
		return
	}
	if s.Twilio.ParseInbound == nil || s.Inbound == nil {
		s.fail(w, r, aftercare.Errorf(aftercare.EINTERNAL, "inbound texts are not set up on this server"))
		return
	}
	sms, ok := s.Twilio.ParseInbound(r.PostForm)
	if !ok {
		s.fail(w, r, aftercare.Errorf(aftercare.EINVALID, "not an incoming message: MessageSid and From are required"))
		return
	}
	reply, dup, err := s.Inbound.Receive(r.Context(), sms)
	if err != nil {
		// Twilio retries on a 5xx: the reply is kept then, once.
		s.logger().Error("receiving a text", "sid", sms.SID, "err", err)
		s.fail(w, r, err)
		return
	}
	if dup {
		s.logger().Info("twilio inbound text seen before: nothing changed", "sid", sms.SID)
	} else {
		s.logger().Info("twilio inbound text", "sid", sms.SID, "reply", reply.ID, "kind", reply.Kind)
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`))
}

// twilioForm reads the form of a Twilio webhook (at most 64 KiB) into
// r.PostForm and checks Twilio's signature of it: EINVALID for a body that
// is not such a form, EFORBIDDEN (logged, naming the webhook what) for a
// request Twilio did not sign.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request, what string) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return aftercare.Errorf(aftercare.EINVALID, "the body is not a form of at most 64 KiB: %v", err)
	}
	sig := r.Header.Get("X-Twilio-Signature")
	full := s.PublicURL + r.URL.RequestURI()
	if s.Twilio == nil || s.Twilio.Valid == nil || sig == "" || !s.Twilio.Valid(full, r.PostForm, sig) {
		s.logger().Warn("twilio "+what+" refused: bad or missing signature", "remote", r.RemoteAddr)
		return aftercare.Errorf(aftercare.EFORBIDDEN, "the request is not signed by Twilio")
	}
	return nil
}
