package main

import (
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is the process configuration, read from the environment with
// envconfig. Flags (--db) override it. Secrets live here and are never logged.
type Config struct {
	DB string `envconfig:"AFTERCARE_DB" default:"./aftercare.db"`

	ClinicSlug    string `envconfig:"AFTERCARE_CLINIC_SLUG" default:"main"`
	ClinicName    string `envconfig:"AFTERCARE_CLINIC_NAME"`
	ClinicPhone   string `envconfig:"AFTERCARE_CLINIC_PHONE"`
	ClinicTZ      string `envconfig:"AFTERCARE_CLINIC_TZ"`
	ClinicCountry string `envconfig:"AFTERCARE_CLINIC_COUNTRY"`

	// AdminEmail is the sign-in name of the admin that serve creates, with
	// a one-time link to choose a password, when there are no users yet.
	AdminEmail string `envconfig:"AFTERCARE_ADMIN_EMAIL" default:"admin@example.com"`

	HTTPAddr        string  `envconfig:"AFTERCARE_HTTP_ADDR" default:"127.0.0.1:8080"`
	PublicURL       string  `envconfig:"AFTERCARE_PUBLIC_URL"`
	DispatchSpec    string  `envconfig:"AFTERCARE_DISPATCH_SPEC" default:"@every 1s"`
	ReconcileSpec   string  `envconfig:"AFTERCARE_RECONCILE_SPEC" default:"@every 1m"`
	SendConcurrency int     `envconfig:"AFTERCARE_SEND_CONCURRENCY" default:"4"`
	SMSRate         float64 `envconfig:"AFTERCARE_SMS_RATE" default:"1"`
	EmailRate       float64 `envconfig:"AFTERCARE_EMAIL_RATE" default:"5"`
	Outbox          string  `envconfig:"AFTERCARE_OUTBOX" default:"./outbox.jsonl"`
	Instance        string  `envconfig:"AFTERCARE_INSTANCE"`
	// ClaimLease is how long a serve's claims stay its own without a
	// heartbeat (renewed every third of it); a crashed serve's claims are
	// taken over, as unknown, once it lapses.
	ClaimLease time.Duration `envconfig:"AFTERCARE_CLAIM_LEASE" default:"30s"`
	// Failpoint makes serve kill itself with SIGKILL at one point of
	// dispatch; only the crash test sets it.
	Failpoint string `envconfig:"AFTERCARE_FAILPOINT"`

	// TrustedProxies are the reverse proxies (addresses or CIDR prefixes,
	// comma-separated) whose X-Forwarded-For names the client; without
	// them the peer's address is the client's.
	TrustedProxies string `envconfig:"AFTERCARE_TRUSTED_PROXIES"`

	TwilioAccountSID          string `envconfig:"TWILIO_ACCOUNT_SID"`
	TwilioAuthToken           string `envconfig:"TWILIO_AUTH_TOKEN"`
	TwilioFrom                string `envconfig:"TWILIO_FROM"`
	TwilioMessagingServiceSID string `envconfig:"TWILIO_MESSAGING_SERVICE_SID"`
	TwilioBaseURL             string `envconfig:"AFTERCARE_TWILIO_BASE_URL"`

	SMTPHost     string `envconfig:"SMTP_HOST"`
	SMTPPort     int    `envconfig:"SMTP_PORT" default:"587"`
	SMTPUsername string `envconfig:"SMTP_USERNAME"`
	SMTPPassword string `envconfig:"SMTP_PASSWORD"`
	SMTPFrom     string `envconfig:"SMTP_FROM"`
	SMTPTLS      string `envconfig:"SMTP_TLS" default:"starttls"`
}

func loadConfig() (Config, error) {
	var c Config
	err := envconfig.Process("", &c)
	return c, err
}
