package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/aftercare/aftercare"
)

// warnEnvClinic writes one warning to stderr when AFTERCARE_CLINIC_NAME,
// _PHONE, _TZ or _COUNTRY name other settings than the default clinic's
// stored ones. Those variables only make the clinic on a database's first
// run; afterwards they change nothing, and a clinic that set them after
// that first run would otherwise never learn why its texts still say
// "Aftercare Clinic". The warning gives the `clinic set` command that
// applies them.
func (a *app) warnEnvClinic(ctx context.Context) error {
	if a.skipEnvCheck {
		return nil
	}
	c := a.clinic
	if a.clinicFlag != "" {
		def, err := a.store.FindClinic(ctx, "")
		if err != nil {
			return err
		}
		c = def
	}
	var differ, args []string
	check := func(variable, flag, env, stored string, same bool) {
		if env == "" || same {
			return
		}
		if stored == "" {
			stored = "none"
		}
		differ = append(differ, fmt.Sprintf("%s=%s (stored: %s)", variable, env, stored))
		args = append(args, "--"+flag, shellQuote(env))
	}
	cfg := a.cfg
	check("AFTERCARE_CLINIC_NAME", "name", cfg.ClinicName, c.Name, strings.TrimSpace(cfg.ClinicName) == c.Name)
	check("AFTERCARE_CLINIC_COUNTRY", "country", cfg.ClinicCountry, c.Country, strings.EqualFold(strings.TrimSpace(cfg.ClinicCountry), c.Country))
	phone, err := aftercare.NormalizePhone(cfg.ClinicPhone, c.Country)
	check("AFTERCARE_CLINIC_PHONE", "phone", cfg.ClinicPhone, aftercare.DisplayPhone(c.Phone), err == nil && phone == c.Phone)
	check("AFTERCARE_CLINIC_TZ", "tz", cfg.ClinicTZ, c.TZ, strings.TrimSpace(cfg.ClinicTZ) == c.TZ)
	if len(differ) == 0 {
		return nil
	}
	cmd := "aftercare clinic set " + strings.Join(args, " ")
	if !c.Default || a.clinicFlag != "" {
		cmd = "aftercare --clinic " + shellQuote(c.Slug) + " clinic set " + strings.Join(args, " ")
	}
	fmt.Fprintf(a.io.Err, "warning: the environment names other settings than clinic %q has: %s.\n"+
		"  AFTERCARE_CLINIC_* only make the clinic when the database is new; to change it, run:\n  %s\n",
		c.Slug, strings.Join(differ, ", "), cmd)
	return nil
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

// shellQuote quotes s for a POSIX shell, so that the command printed can
// be pasted as it is.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
