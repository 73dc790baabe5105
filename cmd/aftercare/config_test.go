package main

import (
	"os"
	"reflect"
	"testing"

	"github.com/kelseyhightower/envconfig"
)

// TestLoadConfigMatchesEnvconfig: loadConfig, given an environment,
// reads Config as envconfig.Process reads it from the process's: defaults,
// variables set to "", other bases, durations, and the same errors. It
// sets the process's environment, so it does not run in parallel.
func TestLoadConfigMatchesEnvconfig(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
	}{
		{"defaults", nil},
		{"set", map[string]string{
			"AFTERCARE_DB": "/var/lib/aftercare.db", "AFTERCARE_CLINIC_NAME": "Glow Skin Studio", "AFTERCARE_SEND_CONCURRENCY": "16",
			"AFTERCARE_SMS_RATE": "0.5", "AFTERCARE_CLAIM_LEASE": "1m30s", "SMTP_PORT": "465", "TWILIO_FROM": "+14155550100",
		}},
		{"empty strings are set", map[string]string{"AFTERCARE_DB": "", "AFTERCARE_OUTBOX": "", "SMTP_TLS": ""}},
		{"integer bases", map[string]string{"AFTERCARE_SEND_CONCURRENCY": "0x10", "SMTP_PORT": "0o1000"}},
		{"bad integer", map[string]string{"AFTERCARE_SEND_CONCURRENCY": "four"}},
		{"empty integer", map[string]string{"SMTP_PORT": ""}},
		{"integer overflow", map[string]string{"SMTP_PORT": "99999999999999999999"}},
		{"bad float", map[string]string{"AFTERCARE_EMAIL_RATE": "fast"}},
		{"bad duration", map[string]string{"AFTERCARE_CLAIM_LEASE": "30"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// The process's environment: only tt.env of Config's variables.
			for _, key := range configKeys() {
				t.Setenv(key, "") // restored when the test ends
				if v, ok := tt.env[key]; ok {
					t.Setenv(key, v)
				} else {
					unsetenv(t, key)
				}
			}
			var want Config
			wantErr := envconfig.Process("", &want)

			got, err := loadConfig(MapEnv(tt.env))
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("error %v, envconfig's %v", err, wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, want) {
				t.Errorf("loadConfig:\n%+v\nenvconfig.Process:\n%+v", got, want)
			}
		})
	}
}

// configKeys are the variables Config reads.
func configKeys() []string {
	var keys []string
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		keys = append(keys, typ.Field(i).Tag.Get("envconfig"))
	}
	return keys
}

// unsetenv unsets key for the rest of the test (t.Setenv before it
// restores the value it had).
func unsetenv(t *testing.T, key string) {
	t.Helper()
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
