package main

import (
	"reflect"
	"strconv"
	"strings"
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

	// MetricsAddr is where Prometheus's /metrics is served, a listener of
	// its own (serve_metrics.go); empty: not served.
	MetricsAddr string `envconfig:"AFTERCARE_METRICS_ADDR"`
	// LogFormat is serve's log format, json or text (empty: text on a
	// terminal, JSON otherwise); LogLevel debug, info, warn or error.
	LogFormat string `envconfig:"AFTERCARE_LOG_FORMAT"`
	LogLevel  string `envconfig:"AFTERCARE_LOG_LEVEL" default:"info"`

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

// Env looks up one variable of the environment run is given: os.LookupEnv
// in main, a map in tests (MapEnv), so that tests leave the process's
// environment alone and can run in parallel.
type Env func(key string) (value string, ok bool)

// MapEnv is an environment of the variables in m only.
func MapEnv(m map[string]string) Env {
	return func(key string) (string, bool) {
		v, ok := m[key]
		return v, ok
	}
}

// loadConfig reads Config from env the way envconfig.Process("", &c) reads
// it from the process's environment.
//
// envconfig v1.4.0 reads os.LookupEnv and nothing else (a way to pass a
// lookup, kelseyhightower/envconfig#210, is not merged), and setting the
// process's environment to feed it would undo the point of passing env
// in. So this reads the same struct tags itself, for the kinds of field
// Config has, with envconfig's rules: a variable set to "" is set (its
// default is not used), integers in any base strconv.ParseInt(v, 0, ...)
// reads, durations as time.ParseDuration, and errors as
// *envconfig.ParseError, so messages are unchanged.
// TestLoadConfigMatchesEnvconfig checks it against envconfig.Process.
func loadConfig(env Env) (Config, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i := range v.NumField() {
		f, field := v.Type().Field(i), v.Field(i)
		key := strings.ToUpper(f.Tag.Get("envconfig"))
		if key == "" {
			key = strings.ToUpper(f.Name)
		}
		value, ok := env(key)
		if !ok {
			if value, ok = f.Tag.Lookup("default"); !ok || value == "" {
				continue
			}
		}
		if err := setField(field, value); err != nil {
			return Config{}, &envconfig.ParseError{KeyName: key, FieldName: f.Name, TypeName: field.Type().String(), Value: value, Err: err}
		}
	}
	return c, nil
}

// setField converts value to field's type as envconfig does.
func setField(field reflect.Value, value string) error {
	switch {
	case field.Type() == reflect.TypeFor[time.Duration]():
		d, err := time.ParseDuration(value)
		if err != nil {
			return err
		}
		field.SetInt(int64(d))
	case field.Kind() == reflect.String:
		field.SetString(value)
	case field.CanInt():
		n, err := strconv.ParseInt(value, 0, field.Type().Bits())
		if err != nil {
			return err
		}
		field.SetInt(n)
	case field.CanFloat():
		x, err := strconv.ParseFloat(value, field.Type().Bits())
		if err != nil {
			return err
		}
		field.SetFloat(x)
	default:
		// A new kind of field in Config: teach setField, and
		// TestLoadConfigMatchesEnvconfig, envconfig's rule for it.
		panic("loadConfig: no rule for a field of type " + field.Type().String())
	}
	return nil
}
