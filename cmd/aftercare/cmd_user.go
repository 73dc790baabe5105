package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/accounts"
)

// userJSON is a user as `user` commands print it with --json. Link is set
// only by the commands that make one.
type userJSON struct {
	ID            int64  `json:"id"`
	Email         string `json:"email"`
	Name          string `json:"name"`
	Role          string `json:"role"`
	Clinic        string `json:"clinic"`
	Status        string `json:"status"` // active, invited (no password yet) or disabled
	CreatedAt     string `json:"created_at"`
	DisabledAt    string `json:"disabled_at,omitempty"`
	Link          string `json:"link,omitempty"`
	LinkExpiresAt string `json:"link_expires_at,omitempty"`
}

func userStatus(u *aftercare.User) string {
	switch {
	case !u.Active():
		return "disabled"
	case u.PasswordHash == "":
		return "invited"
	}
	return "active"
}

func (a *app) userToJSON(u *aftercare.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: string(u.Role), Clinic: a.clinic.Slug,
		Status: userStatus(u), CreatedAt: rfc3339(u.CreatedAt), DisabledAt: rfc3339(u.DisabledAt)}
}

// rfc3339 is a time in JSON output: UTC, "" for never.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// local is a time in text output, in the clinic's zone.
func (a *app) local(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	loc, err := aftercare.LoadZone(a.clinic.TZ)
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// warnLocalLink says, on stderr, when a link printed for someone else
// points to this machine because AFTERCARE_PUBLIC_URL is unset: opened
// anywhere else, it reaches nothing.
func (a *app) warnLocalLink() {
	if a.cfg.PublicURL == "" {
		fmt.Fprintf(a.io.Err, "warning: AFTERCARE_PUBLIC_URL is not set, so the link points to this machine (%s); set it to the address staff open, e.g. https://care.example.com, and make a new link\n", publicURL(a.cfg, a.cfg.HTTPAddr))
	}
}

// publicURL is where people open the web app: AFTERCARE_PUBLIC_URL, else
// http:// and addr (AFTERCARE_HTTP_ADDR, or the address serve listens on),
// with localhost for a host that means "every interface".
func publicURL(cfg Config, addr string) string {
	if cfg.PublicURL != "" {
		return strings.TrimSuffix(cfg.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// accountService is the account rules over the opened store: the same
// ones the web app applies.
func (a *app) accountService() *accounts.Service { return accounts.New(a.store, a.now) }

// signInLink makes a one-time sign-in link for u and returns its full URL
// and expiry.
func (a *app) signInLink(ctx context.Context, u *aftercare.User, base string) (string, time.Time, error) {
	path, expires, err := a.accountService().CreateLink(ctx, u)
	if err != nil {
		return "", time.Time{}, err
	}
	return base + path, expires, nil
}

// roleFlag is the --role a command requires, parsed.
func roleFlag(c *cobra.Command, raw string) (aftercare.Role, error) {
	if err := requireFlags(c, "role"); err != nil {
		return "", err
	}
	return aftercare.ParseRole(strings.ToLower(strings.TrimSpace(raw)))
}

// clinicUser opens the store and finds a user of the clinic the command
// acts on by email. A user of another clinic is ENOTFOUND naming the
// --clinic to use.
func (a *app) clinicUser(ctx context.Context, raw string) (*aftercare.User, error) {
	if err := a.open(ctx); err != nil {
		return nil, err
	}
	email, err := aftercare.NormalizeEmail(raw)
	if err != nil {
		return nil, err
	}
	if email == "" {
		return nil, aftercare.FieldErrorf("email", "give the user's email address")
	}
	u, err := a.store.FindUserByEmail(ctx, email)
	if aftercare.ErrorCode(err) == aftercare.ENOTFOUND {
		return nil, aftercare.Errorf(aftercare.ENOTFOUND, "no user %s in clinic %s; `aftercare user list` shows its users", email, a.clinic.Slug)
	}
	if err != nil {
		return nil, err
	}
	if u.ClinicID != a.clinic.ID {
		other, err := a.store.FindClinicByID(ctx, u.ClinicID)
		if err != nil {
			return nil, err
		}
		return nil, aftercare.Errorf(aftercare.ENOTFOUND, "%s is a user of clinic %s, not %s: add --clinic %s", email, other.Slug, a.clinic.Slug, other.Slug)
	}
	return u, nil
}

// readPassword reads a password from in: all of it, less one line ending.
func readPassword(in io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(in, 4096))
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pw == "" {
		return "", aftercare.FieldErrorf("password", "--password-stdin read nothing: pipe the password in, e.g. printf '%%s\\n' \"$PASSWORD\" | aftercare user add ...")
	}
	return pw, nil
}

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Add, list and disable the staff who sign in to the web app",
		Long: `Staff sign in to the web app with their email and a password. Each user
belongs to one clinic (the default one, or --clinic SLUG) and has a role:

  frontdesk  enroll, find and change patients, import
  manager    and the delivery log, attention list, protocols, users (read)
  admin      and clinic settings, users and API tokens

A new user gets a one-time sign-in link (valid 72 hours) that asks them to
choose a password. Links use AFTERCARE_PUBLIC_URL, or http://AFTERCARE_HTTP_ADDR.`,
		Example: `  aftercare user add ana@glowskin.example --role frontdesk --name "Ana Ruiz"
  aftercare user list
  aftercare user link ana@glowskin.example
  aftercare user disable ana@glowskin.example`,
		Args: needArgs(0, "a subcommand: add, list, link, disable or enable"),
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(mayCreateDB(a.userAddCmd()), a.userListCmd(), a.userLinkCmd(), a.userDisableCmd(), a.userEnableCmd())
	return cmd
}

func (a *app) userAddCmd() *cobra.Command {
	var roleArg, name string
	var pwStdin bool
	cmd := &cobra.Command{
		Use:   "add EMAIL --role frontdesk|manager|admin [--name NAME] [--password-stdin]",
		Short: "Add a user to the clinic and print their one-time sign-in link",
		Long: `Add a user to the clinic (the default one, or --clinic SLUG). An email
signs in to one clinic only.

Without --password-stdin the user has no password yet: the command prints a
one-time link, valid 72 hours, that asks them to choose one. Send it to them
and to nobody else. With --password-stdin the password is read from standard
input (at least 10 characters) and no link is made.`,
		Example: `  aftercare user add ana@glowskin.example --role frontdesk --name "Ana Ruiz"
  aftercare --clinic downtown user add lee@glowskin.example --role manager --json
  printf '%s\n' "$PASSWORD" | aftercare user add ops@glowskin.example --role admin --password-stdin`,
		Args: needArgs(1, "one email address, e.g. ana@glowskin.example"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			role, err := roleFlag(c, roleArg)
			if err != nil {
				return err
			}
			email, err := aftercare.NormalizeEmail(args[0])
			if err != nil {
				return err
			}
			if email == "" {
				return aftercare.FieldErrorf("email", "give the user's email address: it is their sign-in name")
			}
			if err := aftercare.CheckNameChars("name", name); err != nil {
				return err
			}
			var pw string
			if pwStdin {
				if pw, err = readPassword(a.io.In); err != nil {
					return err
				}
				// Checked before the database is opened or created.
				if err := accounts.ValidPassword(pw); err != nil {
					return err
				}
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			u := &aftercare.User{ClinicID: a.clinic.ID, Email: email, Name: strings.TrimSpace(name), Role: role}
			if err := a.accountService().AddUser(ctx, u, pw); err != nil {
				if aftercare.ErrorCode(err) == aftercare.ECONFLICT {
					return a.emailTaken(ctx, email)
				}
				return err
			}
			if err := a.svc.Audit(ctx, a.clinic.ID, aftercare.AuditUserAdd, fmt.Sprintf("user %d", u.ID), string(u.Role)); err != nil {
				return err
			}
			out := a.userToJSON(u)
			if u.PasswordHash == "" {
				link, expires, err := a.signInLink(ctx, u, publicURL(a.cfg, a.cfg.HTTPAddr))
				if err != nil {
					return err
				}
				out.Link, out.LinkExpiresAt = link, rfc3339(expires)
			}
			if a.jsonOut {
				return a.printJSON(out)
			}
			a.printf("Added %s (%s) to %s (%s).\n", u.Email, u.Role.Label(), a.clinic.Name, a.clinic.Slug)
			if out.Link == "" {
				a.printf("They sign in at %s/signin with the password given.\n", publicURL(a.cfg, a.cfg.HTTPAddr))
				return nil
			}
			a.printf("Send them this one-time link to choose a password (it works once, until %s):\n  %s\n",
				a.local(a.now().Add(accounts.LinkLifetime)), out.Link)
			a.warnLocalLink()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&roleArg, "role", "", "frontdesk, manager or admin (required)")
	f.StringVar(&name, "name", "", "the user's name, shown in the app")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input instead of printing a sign-in link")
	return cmd
}

// emailTaken explains an ECONFLICT from CreateUser.
func (a *app) emailTaken(ctx context.Context, email string) error {
	u, err := a.store.FindUserByEmail(ctx, email)
	if err != nil {
		return aftercare.Errorf(aftercare.ECONFLICT, "%s is already a user: use another email address", email)
	}
	if u.ClinicID != a.clinic.ID {
		return aftercare.Errorf(aftercare.ECONFLICT, "%s is already a user of another clinic, and an email signs in to one clinic only: use another email address", email)
	}
	return aftercare.Errorf(aftercare.ECONFLICT, "%s is already a user of %s: `aftercare user link %s` makes a new sign-in link", email, a.clinic.Slug, email)
}

func (a *app) userListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the clinic's users, disabled ones too",
		Long: `List the users of the clinic (the default one, or --clinic SLUG) by email.
STATUS is active, invited (has not chosen a password yet) or disabled.`,
		Example: `  aftercare user list
  aftercare --clinic downtown user list --json`,
		Args: needArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return printList(c.Context(), a, listing[*aftercare.User, userJSON]{
				load:   dbStore.ListUsers,
				json:   a.userToJSON,
				empty:  "%s has no users yet; add one with `aftercare user add EMAIL --role admin`.",
				header: "EMAIL\tNAME\tROLE\tSTATUS\tCREATED",
				row: func(u *aftercare.User) string {
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s", u.Email, u.Name, u.Role, userStatus(u), a.local(u.CreatedAt))
				},
			})
		},
	}
}

func (a *app) userLinkCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "link EMAIL",
		Short: "Print a new one-time sign-in link for a user (a forgotten password, a lost invitation)",
		Long: `Make a new one-time sign-in link for a user of the clinic. Opening it asks
for a new password; once chosen, the user's other browsers are signed out.
The link works once, for 72 hours, and cancels the links made before it (a
password set through any link cancels the rest). Send it to the user and to
nobody else.`,
		Example: `  aftercare user link ana@glowskin.example
  aftercare user link ana@glowskin.example --json`,
		Args: needArgs(1, "one email address"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			u, err := a.clinicUser(ctx, args[0])
			if err != nil {
				return err
			}
			if !u.Active() {
				return aftercare.Errorf(aftercare.ECONFLICT, "%s is disabled and cannot sign in: `aftercare user enable %s` first", u.Email, u.Email)
			}
			link, expires, err := a.signInLink(ctx, u, publicURL(a.cfg, a.cfg.HTTPAddr))
			if err != nil {
				return err
			}
			if a.jsonOut {
				out := a.userToJSON(u)
				out.Link, out.LinkExpiresAt = link, rfc3339(expires)
				return a.printJSON(out)
			}
			a.printf("One-time sign-in link for %s (it works once, until %s):\n  %s\n", u.Email, a.local(expires), link)
			a.warnLocalLink()
			return nil
		},
	}
}

func (a *app) userDisableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disable EMAIL",
		Short: "Stop a user from signing in, and sign them out everywhere",
		Long: `Disable a user of the clinic: they are signed out of every browser at once
and can no longer sign in. Their name stays in the history.
` + "`aftercare user enable EMAIL`" + ` undoes it.`,
		Example: `  aftercare user disable ana@glowskin.example`,
		Args:    needArgs(1, "one email address"),
		RunE:    a.setDisabled(true),
	}
}

func (a *app) userEnableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "enable EMAIL",
		Short: "Let a disabled user sign in again",
		Long: `Enable a disabled user of the clinic: their password works again. If they
have forgotten it, ` + "`aftercare user link EMAIL`" + ` makes a sign-in link.`,
		Example: `  aftercare user enable ana@glowskin.example`,
		Args:    needArgs(1, "one email address"),
		RunE:    a.setDisabled(false),
	}
}

// setDisabled is `user disable` (disable) and `user enable`.
func (a *app) setDisabled(disable bool) func(c *cobra.Command, args []string) error {
	return func(c *cobra.Command, args []string) error {
		ctx := c.Context()
		u, err := a.clinicUser(ctx, args[0])
		if err != nil {
			return err
		}
		svc := a.accountService()
		var changed bool
		if disable {
			// Signs them out everywhere even when they were disabled
			// already: it costs nothing and leaves no doubt.
			changed, err = svc.Disable(ctx, u)
		} else {
			changed, err = svc.Enable(ctx, u)
		}
		if errors.Is(err, accounts.ErrLastAdmin) {
			return aftercare.Errorf(aftercare.ECONFLICT, "%s is the only active admin of %s: add another admin first (`aftercare user add EMAIL --role admin`), or nobody could change its settings, users or tokens", u.Email, a.clinic.Slug)
		}
		if err != nil {
			return err
		}
		if changed {
			detail := map[bool]string{true: "disabled", false: "enabled"}[disable]
			if err := a.svc.Audit(ctx, u.ClinicID, aftercare.AuditUserChange, fmt.Sprintf("user %d", u.ID), detail); err != nil {
				return err
			}
		}
		if a.jsonOut {
			return a.printJSON(a.userToJSON(u))
		}
		switch {
		case disable && changed:
			a.printf("Disabled %s: signed out everywhere; they can no longer sign in.\n", u.Email)
		case disable:
			a.printf("%s was already disabled; they are signed out everywhere.\n", u.Email)
		case changed:
			a.printf("Enabled %s: they can sign in again.\n", u.Email)
		default:
			a.printf("%s was not disabled; nothing changed.\n", u.Email)
		}
		return nil
	}
}
