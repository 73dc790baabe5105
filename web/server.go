// Package web is Aftercare's HTTP side: the staff web app (server-rendered
// html/template, embedded assets), the JSON API under /api/v1, the provider
// webhooks and the health checks. It only speaks HTTP: the rules it applies
// are accounts' (users, tokens, sessions) and scheduler's (everything
// else). It is the only package that maps aftercare.Error codes to HTTP
// statuses, all in errors.go.
//
// Files, by who they serve:
//
//   - server.go (wiring, Twilio's status callback), errors.go (the one error
//     writer), auth.go (sign-in, cookies, CSRF, roles), ratelimit.go,
//     ready.go (/readyz), csvsafe.go, twilio_inbound.go (patients' texts)
//   - api*.go: the JSON API (api.go routes and helpers, api_json.go its
//     types)
//   - ui.go (templates, rendering, forms) with templates/ and static/, then
//     the app's pages by audience: ui_fd*.go the front desk's, ui_mgr*.go
//     the manager's and admin's, ui_pt_*.go the patients' own (their page,
//     an email's unsubscribe link)
package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
)

// TwilioWebhook verifies and reads Twilio's status callbacks. cmd wires it
// from notify/twilio so that web never sees a twilio-go type.
type TwilioWebhook struct {
	// Valid reports whether signature is Twilio's signature of fullURL and form.
	Valid func(fullURL string, form url.Values, signature string) bool
	// Parse reads a status callback: the message SID, its new state and
	// Twilio's error code; ok is false when the form is not a status callback.
	Parse func(form url.Values) (sid string, status aftercare.Status, errorCode string, ok bool)
	// ParseInbound reads an incoming-message webhook; ok is false when the
	// form is not one.
	ParseInbound func(form url.Values) (sms scheduler.InboundSMS, ok bool)
}

// Server serves Aftercare's HTTP endpoints.
type Server struct {
	// Store is the whole store; every query it is asked is scoped to the
	// signed-in principal's clinic.
	Store aftercare.Store
	// Accounts signs people in and keeps the rules of users, tokens and
	// sign-in links: the same code the command line runs. Nil: Handler
	// makes one of Store and Now at the production password cost.
	Accounts *accounts.Service
	// Service enrolls, previews, cancels, reschedules, imports and changes
	// clinics and protocols: the same code the command line runs.
	Service *scheduler.Service
	// PublicURL is the address Twilio calls (AFTERCARE_PUBLIC_URL); the
	// signature covers the full URL, so it must be the one Twilio was given.
	PublicURL string
	Twilio    *TwilioWebhook // nil: status callbacks are refused
	Now       func() time.Time
	Logger    *slog.Logger
	// SecureCookies marks cookies Secure; set when the app is served over
	// TLS (AFTERCARE_PUBLIC_URL starts with https://).
	SecureCookies bool
	// Version is shown in the app's footer.
	Version string
	// Signer checks the signed links in patients' messages (the /u/
	// unsubscribe links); nil refuses them.
	Signer *aftercare.Signer
	// Pages signs and checks the links to patients' own pages (/p/TOKEN);
	// nil: the staff pages show no link and /p/ opens nothing.
	Pages *dispatch.PageLinks
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed (AFTERCARE_TRUSTED_PROXIES); none: the peer's address is the
	// client's, whatever headers say.
	TrustedProxies []netip.Prefix

	// Routes are the dispatcher's senders by channel (serve sets them).
	// A channel routed to the outbox file reaches no patient, which every
	// staff page says in a banner (NoProvider); nil: no banner.
	Routes map[aftercare.Channel]dispatch.Route

	// Inbound handles patients' texts and staff answers (nil: inbound
	// texts are refused and the app cannot answer).
	Inbound *scheduler.Inbound

	auth authState
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	if s.Accounts == nil {
		s.Accounts = &accounts.Service{Store: s.Store, Now: s.Now, Logger: s.Logger}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("POST /twilio/status", s.twilioStatus)
	mux.HandleFunc("POST /twilio/inbound", s.twilioInbound)
	s.routesAuth(mux)
	s.routesUnsubscribe(mux)
	s.routesAPI(mux)
	s.routesUI(mux)
	s.routesPatientPage(mux)
	return s.middleware(mux)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// twilioStatus applies a message status callback. Forged or unsigned
// requests get 403 and change nothing; a duplicate or out-of-order callback
// is accepted and changes nothing. A callback for a SID no message has yet
// (Twilio called back before the dispatcher recorded the send) is accepted
// too: the store keeps it and applies it when the SID is recorded.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	if err := s.twilioForm(w, r, "status callback"); err != nil {
		s.fail(w, r, err)
		return
	}
	sid, status, code, ok := s.Twilio.Parse(r.PostForm)
	if !ok {
		s.fail(w, r, aftercare.Errorf(aftercare.EINVALID, "not a message status callback"))
		return
	}
	moved, err := s.Store.ApplyProviderStatus(r.Context(), sid, status, code, s.Now().UTC())
	if err != nil {
		s.logger().Error("applying a twilio status", "sid", sid, "err", err)
		s.fail(w, r, err)
		return
	}
	// moved is false for duplicates, late reports and reports kept for later.
	s.logger().Info("twilio status", "sid", sid, "status", status, "code", code, "moved", moved)
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
