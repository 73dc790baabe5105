package web

import (
	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/notify/outbox"
)

// outboxRoute is the name cmd gives the route that writes messages to the
// outbox file instead of sending them (dispatch.Route.Name), which is also
// the Sender those messages record.
const outboxRoute = outbox.Name

// sentLabel names the moment a message left the dispatcher: "Sent", or,
// for one written to the outbox file, that it never went out, so that no
// page says "Sent" beside a message nobody received.
func sentLabel(sender string) string {
	if viaOutbox(sender) {
		return "Written to the outbox file (not sent)"
	}
	return "Sent"
}

// NoProvider is the warning every staff page shows while SMS or email (or
// both) go to the outbox file: those messages are marked undelivered and
// nobody receives them, which nothing else on Today would reveal. "" when
// every channel has a provider.
func (s *Server) NoProvider() string {
	sms := s.Routes[aftercare.SMS].Name == outboxRoute
	email := s.Routes[aftercare.Email].Name == outboxRoute
	switch {
	case sms && email:
		return "No text or email provider is set up: every message goes to the outbox file and is marked undelivered. No patient receives anything until TWILIO_* and SMTP_* are set and the server is restarted."
	case sms:
		return "No text provider is set up: texts go to the outbox file and are marked undelivered, so no patient receives a text. Set TWILIO_* and restart the server."
	case email:
		return "No email provider is set up: emails go to the outbox file and are marked undelivered, so no patient receives an email. Set SMTP_* and restart the server."
	}
	return ""
}

// viaOutbox reports whether a message's sender was the outbox file.
func viaOutbox(sender string) bool { return sender == outboxRoute }
