package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/scheduler"
	"github.com/aftercare/aftercare/store/postgres"
)

// usageCode marks errors in how a command was called (exit status 2).
const usageCode = "usage"

// app is one invocation: its streams, clock, global flags and, once a
// command needs them, the opened store and service.
type app struct {
	io  Streams
	env Env
	now func() time.Time

	dbFlag     string
	clinicFlag string
	jsonOut    bool
	// skipEnvCheck: `clinic set` changes the settings warnEnvClinic
	// compares, so it does not warn about them first.
	skipEnvCheck bool
	// mayCreate: the command running is one of mayCreateDB's, which may
	// make a new SQLite database where --db names no file.
	mayCreate bool
	// madeDB, if set, tells of the new database open made at path instead
	// of the note on stderr: serve logs it, as its stderr is its log.
	madeDB func(path string)

	cfg    Config
	store  dbStore
	svc    *scheduler.Service
	clinic *aftercare.Clinic
}

// run runs the command line args with the process's environment env,
// streams and clock.
func run(ctx context.Context, args []string, env Env, io Streams, now func() time.Time) (err error) {
	a := &app{io: io, env: env, now: now}
	defer func() {
		// The command's own error, if any, is the one to report.
		if cerr := a.close(); err == nil {
			err = cerr
		}
	}()
	// Whatever a command does is recorded in the audit log as the command
	// line's.
	ctx = aftercare.WithActor(ctx, aftercare.Actor{Label: "cli"})
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil && aftercare.ErrorCode(err) == aftercare.EINTERNAL && strings.HasPrefix(err.Error(), "unknown command") {
		return &aftercare.Error{Code: usageCode, Message: err.Error() + "; see `aftercare --help`"}
	}
	return flagField(cmd, err)
}

// flagField names an error's field as the user typed it: the store and
// the API call it summary_at, the command line --summary-at. Fields that
// are no flag of the command (an environment variable's) stay as they are.
func flagField(c *cobra.Command, err error) error {
	var e *aftercare.Error
	if c == nil || !errors.As(err, &e) || e.Field == "" || strings.HasPrefix(e.Field, "-") {
		return err
	}
	name := strings.ReplaceAll(e.Field, "_", "-")
	if c.Flag(name) == nil {
		return err
	}
	return &aftercare.Error{Code: e.Code, Message: e.Message, Field: "--" + name}
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "aftercare",
		Short: "Send clinics' treatment aftercare to patients by SMS and email, on time, and prove it",
		Long: `Aftercare sends a clinic's treatment aftercare to patients by SMS and email,
in each patient's own time zone and inside quiet hours, and logs every attempt.

Data lives in one SQLite file: --db PATH or AFTERCARE_DB (default ./aftercare.db),
or in PostgreSQL for several replicas: --db postgres://user@host:5432/name.
A SQLite file that is not there is made only by serve, restore, protocols and
the commands that add something (enroll, import, protocols import, clinic add
and set, user add, token create); the others say so and stop, rather than
answer from a new, empty database.
The first run creates the clinic from AFTERCARE_CLINIC_NAME, AFTERCARE_CLINIC_PHONE
and AFTERCARE_CLINIC_TZ (later runs only warn when they differ: change a stored
clinic with ` + "`clinic set`" + `); commands act on it unless --clinic SLUG names another.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(c *cobra.Command, _ []string) {
			_, a.mayCreate = c.Annotations[createsDB]
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.dbFlag, "db", "", "SQLite database file or postgres:// URL (default $AFTERCARE_DB or ./aftercare.db)")
	pf.StringVar(&a.clinicFlag, "clinic", "", "act on this clinic (slug) instead of the default one")
	pf.BoolVar(&a.jsonOut, "json", false, "print machine-readable JSON")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &aftercare.Error{Code: usageCode, Message: fmt.Sprintf("%v; see `%s --help`", err, c.CommandPath())}
	})
	// mayCreateDB marks the commands that may make a new database; the
	// rest refuse a --db that names no file.
	root.AddCommand(mayCreateDB(a.protocolsCmd()), a.previewCmd(), mayCreateDB(a.enrollCmd()), a.showCmd(), a.cancelCmd(), a.rescheduleCmd(),
		mayCreateDB(a.importCmd()), a.clinicCmd(), mayCreateDB(a.serveCmd()), a.logCmd(), a.statsCmd(), a.userCmd(), a.tokenCmd(), a.copyDBCmd())
	root.AddCommand(a.recordsCmds()...)
	root.AddCommand(a.summaryCmd())
	root.AddCommand(a.versionCmd(), a.healthcheckCmd(), a.backupCmd(), mayCreateDB(a.restoreCmd()))
	return root
}

// open opens the store, runs migrations, creates the first clinic and the
// built-in protocols if needed, and resolves --clinic.
func (a *app) open(ctx context.Context) error {
	cfg, err := loadConfig(a.env)
	if err != nil {
		return envError(err)
	}
	a.cfg = cfg
	path := a.dbPath(cfg)
	made := false
	// "", :memory: and file: URIs are no file path: sqlite.Open refuses
	// them, saying what to give.
	if !postgres.IsURL(path) && path != "" && path != ":memory:" && !strings.HasPrefix(path, "file:") {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if !a.mayCreate {
				return a.noDatabase(path)
			}
			made = true
		}
	}
	st, err := openStore(ctx, path, a.now)
	if err != nil {
		return err
	}
	a.store = st
	switch {
	case made && a.madeDB != nil:
		a.madeDB(st.Path())
	case made:
		fmt.Fprintf(a.io.Err, "note: made a new database at %s, where there was none; if you meant an existing one, check --db and AFTERCARE_DB\n", st.Path())
	}
	a.svc = scheduler.NewService(st, a.now)
	if err := a.svc.Bootstrap(ctx, scheduler.ClinicDefaults{
		Slug: cfg.ClinicSlug, Name: cfg.ClinicName, Phone: cfg.ClinicPhone, TZ: cfg.ClinicTZ, Country: cfg.ClinicCountry,
	}); err != nil {
		return clinicEnvField(err)
	}
	c, err := st.FindClinic(ctx, a.clinicFlag)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND && a.clinicFlag != "" {
		return aftercare.FieldErrorf("clinic", "no clinic %q; `aftercare clinic list` shows the clinics", a.clinicFlag)
	} else if err != nil {
		return err
	}
	a.clinic = c
	return a.warnEnvClinic(ctx)
}

// clinicEnvField names a field of the first clinic as the variable it
// came from (AFTERCARE_CLINIC_PHONE), not as the command's flag of the
// same name (enroll's --phone is the patient's).
func clinicEnvField(err error) error {
	vars := map[string]string{"slug": "AFTERCARE_CLINIC_SLUG", "name": "AFTERCARE_CLINIC_NAME", "phone": "AFTERCARE_CLINIC_PHONE",
		"tz": "AFTERCARE_CLINIC_TZ", "country": "AFTERCARE_CLINIC_COUNTRY"}
	var e *aftercare.Error
	if !errors.As(err, &e) || vars[e.Field] == "" {
		return err
	}
	return &aftercare.Error{Code: e.Code, Message: e.Message, Field: vars[e.Field]}
}

// close closes the store, if a command opened it. Closing checkpoints the
// write-ahead log into the database file, so its error counts.
func (a *app) close() error {
	if a.store == nil {
		return nil
	}
	if err := a.store.Close(); err != nil {
		return fmt.Errorf("closing database %s: %w", a.store.Path(), err)
	}
	return nil
}

// needArgs is cobra.ExactArgs with a usage error that names what is missing.
func needArgs(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return &aftercare.Error{Code: usageCode, Message: fmt.Sprintf("`%s` takes %s; see `%s --help`", c.CommandPath(), what, c.CommandPath())}
		}
		return nil
	}
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) printf(format string, args ...any) {
	fmt.Fprintf(a.io.Out, format, args...)
}

// requireFlags returns a usage error naming the first empty required flag.
func requireFlags(c *cobra.Command, names ...string) error {
	var missing []string
	for _, n := range names {
		if !c.Flags().Changed(n) {
			missing = append(missing, "--"+n)
		}
	}
	if len(missing) > 0 {
		return &aftercare.Error{Code: usageCode, Message: fmt.Sprintf("missing %s; see `%s --help`", strings.Join(missing, ", "), c.CommandPath())}
	}
	return nil
}
