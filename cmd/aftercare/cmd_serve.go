package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
	"github.com/aftercare/aftercare/metrics"
	"github.com/aftercare/aftercare/notify/outbox"
	"github.com/aftercare/aftercare/notify/smtp"
	"github.com/aftercare/aftercare/notify/twilio"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/scheduler/dispatch"
	"github.com/aftercare/aftercare/web"
)

// serveDrain bounds a clean stop: sends in flight finishing, claims put
// back, HTTP connections closing. Whatever runs serve must wait longer
// before it kills it (docker-compose.yml's stop_grace_period,
// TestComposeFile).
const serveDrain = 90 * time.Second

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the service: send due messages, reconcile unknown outcomes, serve HTTP",
		Long: `Run Aftercare: every AFTERCARE_DISPATCH_SPEC (default @every 1s) due messages are
claimed and sent through Twilio (SMS) and SMTP (email); unknown outcomes are
reconciled every AFTERCARE_RECONCILE_SPEC; HTTP on AFTERCARE_HTTP_ADDR serves
the staff web app, the JSON API under /api/v1, /healthz, /readyz, Twilio's status
callback POST /twilio/status, patients' texts POST /twilio/inbound (set
"A message comes in" of the Twilio number to AFTERCARE_PUBLIC_URL +
/twilio/inbound), and the unsubscribe links of emails (/u/...). Set
AFTERCARE_PUBLIC_URL to the address people and Twilio use (https://...
marks cookies Secure, and makes email unsubscribe one-click).

Where --db or AFTERCARE_DB names no file, serve makes a new database there,
with the clinic AFTERCARE_CLINIC_* describe, and logs that it did.
On the first start there are no users: serve creates an admin,
AFTERCARE_ADMIN_EMAIL (default admin@example.com), and prints a one-time link
to choose its password on standard output (the log goes to standard error).
` + "`aftercare user add`" + ` adds the rest of the staff.

With AFTERCARE_METRICS_ADDR (e.g. 127.0.0.1:9090) Prometheus's /metrics is
served there, on a listener of its own. The log (standard error) is JSON, or
text on a terminal (AFTERCARE_LOG_FORMAT, AFTERCARE_LOG_LEVEL), with secrets
redacted and phone numbers and emails masked.

With no TWILIO_* or SMTP_* settings, messages go to an outbox file
(AFTERCARE_OUTBOX) and are marked undelivered: nobody received them.
SIGINT or SIGTERM stops it cleanly: no new claims, sends in flight finish and
are recorded, nothing is left claimed.`,
		Example: `  AFTERCARE_PUBLIC_URL=https://care.glowskin.example AFTERCARE_ADMIN_EMAIL=owner@glowskin.example aftercare serve
  AFTERCARE_HTTP_ADDR=0.0.0.0:8080 aftercare serve`,
		Args: needArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error { return a.serve(c.Context()) },
	}
}

func (a *app) serve(ctx context.Context) error {
	// The log's settings (and GOGC) are checked before the database is
	// opened: a mistyped AFTERCARE_LOG_LEVEL must not leave a new database
	// behind.
	cfg, err := loadConfig(a.env)
	if err != nil {
		return envError(err)
	}
	gcPercent, err := tuneGC(a.env)
	if err != nil {
		return err
	}
	db := a.dbPath(cfg)
	logger, err := newLogger(a.io.Err, cfg.LogFormat, cfg.LogLevel, []string{cfg.TwilioAuthToken, cfg.SMTPPassword, urlPassword(db)})
	if err != nil {
		return err
	}
	a.madeDB = func(path string) {
		logger.Info("made a new database, as there was none at the path; if you meant an existing one, check --db and AFTERCARE_DB", "db", path)
	}
	if err := a.open(ctx); err != nil {
		return err
	}
	cfg = a.cfg
	routes, hook, err := buildRoutes(cfg, logger)
	if err != nil {
		return err
	}
	instance := cfg.Instance
	if instance == "" {
		var err error
		if instance, err = os.Hostname(); err != nil {
			// The database path and the random run ID below still tell
			// this serve's claims apart.
			logger.Warn("no host name for the claim owner; set AFTERCARE_INSTANCE to name this serve", "err", err)
		}
	}
	instance = strings.ReplaceAll(instance, "/", "-") + ":" + a.store.Path()
	var runID [6]byte
	rand.Read(runID[:]) // never fails: crypto/rand crashes the program instead (Go 1.24+)
	owner := instance + "/" + hex.EncodeToString(runID[:])

	if cfg.ClaimLease < 300*time.Millisecond {
		return aftercare.Errorf(aftercare.EINVALID, "AFTERCARE_CLAIM_LEASE=%s is too short: at least 300ms, e.g. 30s", cfg.ClaimLease)
	}
	signer, err := a.linkSigner(ctx)
	if err != nil {
		return err
	}
	pages := a.pageLinks(signer, cfg.PublicURL)
	a.svc.Pages = pages
	d := &dispatch.Dispatcher{Store: a.store, Routes: routes, Now: a.now, Owner: owner,
		Concurrency: cfg.SendConcurrency, Logger: logger, Pages: pages, Lease: cfg.ClaimLease}
	d.Failpoint = a.failpointHook() // the crash test's, see testhook.go
	rec := &dispatch.Reconciliation{Store: a.store, Routes: routes, Now: a.now, Logger: logger}
	var met *metrics.Metrics // nil: nobody scrapes, nothing is counted
	if cfg.MetricsAddr != "" {
		met = metrics.New(a.store, metrics.Options{Now: a.now, Logger: logger})
		d.Metrics, rec.Metrics = met, met
	}
	// The lease is held from before the first claim until after the last
	// Tick has finished its sends and released the rest (shutdown below).
	if err := d.Heartbeat(ctx); err != nil {
		return err
	}
	leaseCtx, stopLease := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLease()
	leaseTicker := time.NewTicker(cfg.ClaimLease / 3)
	defer leaseTicker.Stop()
	leaseDone := make(chan struct{})
	go func() { defer close(leaseDone); d.KeepLease(leaseCtx, leaseTicker.C) }()
	endLease := sync.OnceFunc(func() {
		stopLease()
		<-leaseDone
		if err := d.EndLease(context.WithoutCancel(ctx)); err != nil {
			logger.Error("ending the claim lease failed; other serves take over what is left when it lapses", "err", err)
		}
	})
	defer endLease()
	// Claims of serves whose lease lapsed (crashed) are settled first.
	if n, err := rec.Run(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("reconciled unknown messages at start", "resolved", n)
	}
	accts := &accounts.Service{Store: a.store, Now: a.now, Logger: logger}
	summaries := &scheduler.Summaries{Store: a.store, PublicURL: strings.TrimSuffix(cfg.PublicURL, "/"), Now: a.now, Logger: logger}
	if r := routes[aftercare.Email]; r.Name == "smtp" {
		summaries.Mail = r.Sender // the red-flag alerts' path; the outbox would reach no manager
	}
	// Replicas on one PostgreSQL database all claim (dispatch); the jobs
	// that must run once take the store's lock (once.Wrap). A daily job
	// keeps it for jobSkew, so that a replica whose clock is behind does
	// not repeat the night's run; a frequent, idempotent one does not
	// (the hold keeps a database connection).
	once := scheduler.NewExclusive(a.store, logger)
	defer once.Release()
	jobs, err := scheduler.NewJobs(logger,
		scheduler.Job{Name: "dispatch", Spec: cfg.DispatchSpec, Run: func(ctx context.Context) error { _, err := d.Tick(ctx); return err }},
		once.Wrap(scheduler.Job{Name: "reconcile", Spec: cfg.ReconcileSpec, Run: func(ctx context.Context) error { _, err := rec.Run(ctx); return err }}, 0),
		once.Wrap(scheduler.Job{Name: "purge-sign-ins", Spec: "@every 1h", Run: func(ctx context.Context) error { _, err := accts.PurgeSignIns(ctx); return err }}, 0),
		once.Wrap(a.svc.PurgeJob("30 3 * * *"), jobSkew), // retention: nightly, when clinics are closed
		once.Wrap(summaries.Job("@every 1m"), 0),         // daily summaries: each clinic's own local time (the ledger keeps them once too)
	)
	if err != nil {
		return err
	}

	proxies, err := web.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return err
	}
	srv := &web.Server{Store: a.store, Service: a.svc, Accounts: accts, PublicURL: strings.TrimSuffix(cfg.PublicURL, "/"), Twilio: hook,
		Now: a.now, Logger: logger, Version: readVersion().String(), SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), Signer: signer, Pages: pages, TrustedProxies: proxies,
		Inbound: &scheduler.Inbound{Store: a.store, Dispatcher: d, ServerFrom: serverSender(cfg), Now: a.now, Logger: logger}}
	srv.Routes = routes // the app warns on every page while a channel goes to the outbox
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return aftercare.Errorf(aftercare.EINVALID, "cannot listen on AFTERCARE_HTTP_ADDR=%s: %v; give a free host:port such as 127.0.0.1:8080", cfg.HTTPAddr, err)
	}
	d.Links, d.Messages = dispatch.SignedLinks{Signer: signer, BaseURL: publicURL(cfg, ln.Addr().String())}, a.store
	if cfg.PublicURL == "" {
		logger.Warn("AFTERCARE_PUBLIC_URL is not set: the unsubscribe link in every email points to this machine (" +
			publicURL(cfg, ln.Addr().String()) + "), which patients cannot open, and offers no one-click unsubscribe; set it to the https address patients reach")
	}
	if err := a.firstAdmin(ctx, accts, publicURL(cfg, ln.Addr().String()), logger); err != nil {
		return errors.Join(err, ln.Close())
	}
	stopMetrics, err := serveMetrics(cfg.MetricsAddr, met, logger)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	defer stopMetrics(context.Background()) // a no-op after the shutdown below
	hs := newHTTPServer(srv.Handler(), serveLimits)
	hs.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn) // net/http's own complaints, masked too
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()
	jobs.Start()
	logger.Info("aftercare serving", "http", ln.Addr().String(), "db", a.store.Path(), "clinic", a.clinic.Slug,
		"sms", routes[aftercare.SMS].Name, "email", routes[aftercare.Email].Name, "dispatch", cfg.DispatchSpec, "owner", owner,
		"version", readVersion().String(), "gc_percent", gcPercent)
	fmt.Fprintf(a.io.Out, "aftercare: serving on http://%s (sms via %s, email via %s); Ctrl-C stops\n", ln.Addr(), routes[aftercare.SMS].Name, routes[aftercare.Email].Name)

	select {
	case <-ctx.Done():
	case err := <-httpErr:
		jobs.Stop(context.Background())
		return fmt.Errorf("http server: %w", err)
	}
	// Nothing more starts before the log says so: a send in flight that
	// ends now frees its slot to no one.
	jobs.Cancel()
	logger.Info("stopping: no new claims; waiting for sends in flight")
	stopCtx, cancel := context.WithTimeout(context.Background(), serveDrain)
	defer cancel()
	jobs.Stop(stopCtx)
	once.Release()
	endLease()
	stopMetrics(stopCtx)
	if err := hs.Shutdown(stopCtx); err != nil {
		// Sends are recorded and claims released by now: only open HTTP
		// connections are cut.
		logger.Warn("HTTP connections still open at shutdown were closed", "err", err)
	}
	logger.Info("stopped")
	return nil
}

// jobSkew is how long a replica keeps the lock of a job that must run
// once per tick after the run started: more than the clocks of the
// machines sharing a database differ by.
const jobSkew = 5 * time.Minute

// firstAdmin gives a database without users its first admin: a user of the
// default clinic with email AFTERCARE_ADMIN_EMAIL, and a one-time link to
// choose the password, printed on standard output (the log is standard
// error, and the link is a secret).
func (a *app) firstAdmin(ctx context.Context, accts *accounts.Service, base string, logger *slog.Logger) error {
	u, clinic, path, err := accts.FirstAdmin(ctx, a.cfg.AdminEmail)
	var ae *aftercare.Error
	if errors.As(err, &ae) && ae.Field == "email" {
		return aftercare.Errorf(aftercare.EINVALID, "AFTERCARE_ADMIN_EMAIL=%q: %s; set it to the first admin's email address", a.cfg.AdminEmail, aftercare.ErrorMessage(err))
	}
	if err != nil || u == nil {
		// u is nil when there are users, or another serve on this file
		// made the first admin at the same moment (and printed its link).
		return err
	}
	// The link goes to standard output, the log to standard error: a log
	// shipped elsewhere never carries the secret.
	logger.Info("created the first admin; its sign-in link is on standard output, not in this log", "email", aftercare.MaskEmail(u.Email), "clinic", clinic.Slug)
	fmt.Fprintf(a.io.Out, "\nNo users yet. Open this link once to choose the admin password: %s (sign in later as %s)\n\n", base+path, u.Email)
	return nil
}

// buildRoutes picks a sender per channel from the environment: Twilio and
// SMTP when configured, the outbox otherwise.
func buildRoutes(cfg Config, logger *slog.Logger) (map[aftercare.Channel]dispatch.Route, *web.TwilioWebhook, error) {
	routes := map[aftercare.Channel]dispatch.Route{}
	var box *outbox.Sender
	outboxFor := func() (*outbox.Sender, error) {
		if box != nil {
			return box, nil
		}
		var err error
		box, err = outbox.New(cfg.Outbox, logger)
		return box, err
	}
	var hook *web.TwilioWebhook
	if cfg.TwilioAccountSID != "" || cfg.TwilioAuthToken != "" {
		callback := ""
		if cfg.PublicURL != "" {
			callback = strings.TrimSuffix(cfg.PublicURL, "/") + "/twilio/status"
		}
		s, err := twilio.New(twilio.Config{AccountSID: cfg.TwilioAccountSID, AuthToken: cfg.TwilioAuthToken, From: cfg.TwilioFrom,
			MessagingServiceSID: cfg.TwilioMessagingServiceSID, BaseURL: cfg.TwilioBaseURL, StatusCallbackURL: callback})
		if err != nil {
			return nil, nil, fmt.Errorf("TWILIO_*: %w", err)
		}
		routes[aftercare.SMS] = dispatch.Route{Name: "twilio", Sender: s, Rate: cfg.SMSRate}
		token := cfg.TwilioAuthToken
		hook = &web.TwilioWebhook{
			Valid: func(u string, form url.Values, sig string) bool { return twilio.ValidSignature(token, u, form, sig) },
			Parse: twilio.ParseStatus,
			ParseInbound: func(form url.Values) (scheduler.InboundSMS, bool) {
				in, ok := twilio.ParseInbound(form)
				return scheduler.InboundSMS{SID: in.SID, From: in.From, To: in.To, Body: in.Body,
					MessagingServiceSID: in.MessagingServiceSID, NumMedia: in.NumMedia}, ok
			},
		}
	} else {
		b, err := outboxFor()
		if err != nil {
			return nil, nil, err
		}
		routes[aftercare.SMS] = dispatch.Route{Name: "outbox", Sender: b}
	}
	if cfg.SMTPHost != "" {
		s, err := smtp.New(smtp.Config{Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			From: cfg.SMTPFrom, TLS: cfg.SMTPTLS})
		if err != nil {
			return nil, nil, fmt.Errorf("SMTP_*: %w", err)
		}
		routes[aftercare.Email] = dispatch.Route{Name: "smtp", Sender: s, Rate: cfg.EmailRate}
	} else {
		b, err := outboxFor()
		if err != nil {
			return nil, nil, err
		}
		routes[aftercare.Email] = dispatch.Route{Name: "outbox", Sender: b}
	}
	return routes, hook, nil
}

// serverSender is the server's own SMS sender: replies sent to it belong
// to the clinics without a sender of their own.
func serverSender(cfg Config) string {
	if cfg.TwilioFrom != "" {
		return cfg.TwilioFrom
	}
	return cfg.TwilioMessagingServiceSID
}

// failpoint returns a hook that kills this process with SIGKILL at the
// named point of dispatch (crash tests only).
func failpoint(at string) func(point string) {
	return func(point string) {
		if point == at {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never returns
		}
	}
}
