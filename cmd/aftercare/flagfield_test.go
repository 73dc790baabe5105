package main

import (
	"strings"
	"testing"

	"github.com/aftercare/aftercare"
)

// TestFlagFieldNames: an error about a flag's value names the flag as
// typed (--summary-at), not the store's or the API's field (summary_at).
func TestFlagFieldNames(t *testing.T) {
	t.Parallel()
	db := madeDB(t)
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrSummaryAt", []string{"clinic", "set", "--summary-at", "25:00", "--yes"}, `--summary-at: "25:00" is not a time of day`},
		{"ErrSummaryTo", []string{"clinic", "set", "--summary-to", "manager", "--yes"}, `--summary-to: "manager" is not an email address`},
		{"ErrDay", []string{"summary", "--day", "yesterday"}, `--day: "yesterday" is not a day`},
		{"ErrTo", []string{"copy-db", "--to", "other.db"}, "--to: give the PostgreSQL URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := cli(t, db, "", tt.args...)
			wantErr(t, strings.Join(tt.args, " "), err, aftercare.EINVALID, tt.want)
		})
	}
}

// TestClinicEnvFieldNames: the first clinic's settings come from the
// environment, and an error in one names its variable, not the command's
// flag of the same name (enroll's --phone is the patient's).
func TestClinicEnvFieldNames(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	setEnv(db, map[string]string{"AFTERCARE_CLINIC_NAME": "Glow Skin Studio", "AFTERCARE_CLINIC_PHONE": "12"})
	_, _, err := cli(t, db, "", "enroll", "--name", "Ana Ruiz", "--phone", "+1 415 555 0100", "--protocol", "microneedling",
		"--treated-at", "2026-11-22T09:00", "--sms-consent")
	wantErr(t, "enroll with AFTERCARE_CLINIC_PHONE=12", err, aftercare.EINVALID, `AFTERCARE_CLINIC_PHONE: "12" is not a valid phone number`)
}

// TestEnvErrors: a variable that does not parse is named with its value
// and the form it takes, not with envconfig's and strconv's words.
func TestEnvErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, key, value, want string }{
		{"ErrInt", "AFTERCARE_SEND_CONCURRENCY", "lots", `AFTERCARE_SEND_CONCURRENCY="lots" is not a whole number`},
		{"ErrFloat", "AFTERCARE_SMS_RATE", "fast", `AFTERCARE_SMS_RATE="fast" is not a number`},
		{"ErrDuration", "AFTERCARE_CLAIM_LEASE", "30", `AFTERCARE_CLAIM_LEASE="30" is not a duration with its unit, e.g. 30s`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := newDB(t)
			setEnv(db, map[string]string{tt.key: tt.value})
			_, _, err := cli(t, db, "", "clinic")
			wantErr(t, tt.key+"="+tt.value, err, aftercare.EINVALID, tt.want)
			if strings.Contains(err.Error(), "envconfig") {
				t.Errorf("%s=%s: %v", tt.key, tt.value, err)
			}
		})
	}
}
