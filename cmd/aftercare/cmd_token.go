package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
)

// tokenJSON is an API token as `token list` and `token revoke` print it
// with --json; the secret is never in it.
type tokenJSON struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Clinic     string `json:"clinic"`
	Prefix     string `json:"prefix"`
	Status     string `json:"status"` // active or revoked
	CreatedBy  string `json:"created_by"`
	CreatedAt  string `json:"created_at"`
	LastUsedAt string `json:"last_used_at,omitempty"`
	RevokedAt  string `json:"revoked_at,omitempty"`
}

// newTokenJSON is what `token create --json` prints: the secret, once.
type newTokenJSON struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Role   string `json:"role"`
	Clinic string `json:"clinic"`
	Token  string `json:"token"`
}

func tokenStatus(t *aftercare.Token) string {
	if t.RevokedAt.IsZero() {
		return "active"
	}
	return "revoked"
}

func (a *app) tokenToJSON(t *aftercare.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Role: string(t.Role), Clinic: a.clinic.Slug, Prefix: t.Prefix,
		Status: tokenStatus(t), CreatedBy: t.CreatedBy, CreatedAt: rfc3339(t.CreatedAt),
		LastUsedAt: rfc3339(t.LastUsedAt), RevokedAt: rfc3339(t.RevokedAt)}
}

func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
		Long: `API tokens let other systems (an EHR, a booking tool, a script) use the JSON
API under /api/v1 with the header Authorization: Bearer TOKEN. A token
belongs to one clinic (the default one, or --clinic SLUG) and has a role, as
users do: frontdesk, manager or admin. The secret is shown once, when the
token is created; only its SHA-256 is stored.`,
		Example: `  aftercare token create --role frontdesk --name "EHR integration"
  aftercare token list
  aftercare token revoke 3`,
		Args: needArgs(0, "a subcommand: create, list or revoke"),
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
	}
	cmd.AddCommand(mayCreateDB(a.tokenCreateCmd()), a.tokenListCmd(), a.tokenRevokeCmd())
	return cmd
}

func (a *app) tokenCreateCmd() *cobra.Command {
	var roleArg, name string
	cmd := &cobra.Command{
		Use:   "create --role frontdesk|manager|admin [--name NAME]",
		Short: "Create an API token and print its secret, once",
		Long: `Create an API token for the clinic (the default one, or --clinic SLUG) and
print its secret. Store it now: it is shown only this once. Give the token
the weakest role that does the job (an integration that enrolls patients
needs frontdesk), and a name that says what it is for.`,
		Example: `  aftercare token create --role frontdesk --name "EHR integration"
  aftercare --clinic downtown token create --role manager --name "monthly report" --json`,
		Args: needArgs(0, "only flags"),
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			role, err := roleFlag(c, roleArg)
			if err != nil {
				return err
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			if !c.Flags().Changed("name") {
				name = "token of " + a.now().UTC().Format("2006-01-02")
			}
			secret, t, err := a.accountService().CreateToken(ctx, a.clinic.ID, name, role, "cli")
			if err != nil {
				return err
			}
			if err := a.svc.Audit(ctx, a.clinic.ID, aftercare.AuditTokenCreate, fmt.Sprintf("token %d", t.ID), string(t.Role)); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(newTokenJSON{ID: t.ID, Name: t.Name, Role: string(t.Role), Clinic: a.clinic.Slug, Token: secret})
			}
			a.printf("Created API token %d %q (%s) for %s (%s).\n", t.ID, t.Name, t.Role.Label(), a.clinic.Name, a.clinic.Slug)
			a.printf("Store the token now; it is not shown again:\n  %s\n", secret)
			a.printf("Send it as the header: Authorization: Bearer TOKEN. `aftercare token revoke %d` stops it.\n", t.ID)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&roleArg, "role", "", "frontdesk, manager or admin (required)")
	f.StringVar(&name, "name", "", `what the token is for, e.g. "EHR integration" (default: "token of" and today's date)`)
	return cmd
}

func (a *app) tokenListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the clinic's API tokens, newest first, revoked ones too",
		Long: `List the API tokens of the clinic (the default one, or --clinic SLUG), newest
first. PREFIX is the start of the secret, to tell tokens apart; the secret
itself is never shown again.`,
		Example: `  aftercare token list
  aftercare token list --json`,
		Args: needArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			return printList(c.Context(), a, listing[*aftercare.Token, tokenJSON]{
				load:   dbStore.ListTokens,
				json:   a.tokenToJSON,
				empty:  "%s has no API tokens; create one with `aftercare token create --role frontdesk --name NAME`.",
				header: "ID\tNAME\tROLE\tPREFIX\tSTATUS\tCREATED\tLAST USED",
				row: func(t *aftercare.Token) string {
					return fmt.Sprintf("%d\t%s\t%s\t%s…\t%s\t%s\t%s", t.ID, t.Name, t.Role, t.Prefix, tokenStatus(t), a.local(t.CreatedAt), a.local(t.LastUsedAt))
				},
			})
		},
	}
}

func (a *app) tokenRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token: requests with it are refused from now on",
		Long: `Revoke one of the clinic's API tokens by its ID (` + "`aftercare token list`" + ` shows
them). It cannot be undone: create a new token instead.`,
		Example: `  aftercare token revoke 3`,
		Args:    needArgs(1, "one token ID, e.g. 3"),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			id, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSpace(args[0]), "#"), 10, 64)
			if err != nil || id <= 0 {
				return aftercare.FieldErrorf("id", "%q is not a token ID: use the number `aftercare token list` shows", args[0])
			}
			if err := a.open(ctx); err != nil {
				return err
			}
			tokens, err := a.store.ListTokens(ctx, a.clinic.ID)
			if err != nil {
				return err
			}
			var t *aftercare.Token
			for _, x := range tokens {
				if x.ID == id {
					t = x
				}
			}
			if t == nil {
				return aftercare.Errorf(aftercare.ENOTFOUND, "clinic %s has no API token %d; `aftercare token list` shows its tokens", a.clinic.Slug, id)
			}
			was := t.RevokedAt
			if was.IsZero() {
				t.RevokedAt = a.now().UTC()
				if err := a.store.RevokeToken(ctx, a.clinic.ID, id, t.RevokedAt); err != nil {
					return err
				}
				if err := a.svc.Audit(ctx, a.clinic.ID, aftercare.AuditTokenRevoke, fmt.Sprintf("token %d", id), ""); err != nil {
					return err
				}
			}
			if a.jsonOut {
				return a.printJSON(a.tokenToJSON(t))
			}
			if !was.IsZero() {
				a.printf("API token %d %q was already revoked on %s; nothing changed.\n", t.ID, t.Name, a.local(was))
				return nil
			}
			a.printf("Revoked API token %d %q: requests with it are refused from now on.\n", t.ID, t.Name)
			return nil
		},
	}
}
