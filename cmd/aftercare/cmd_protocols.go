package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aftercare/aftercare"
	"github.com/aftercare/aftercare/templates"
)

// protocolRowJSON is a protocol as `protocols list --json` prints it.
type protocolRowJSON struct {
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	Version   int      `json:"version"`
	Source    string   `json:"source"`
	Languages []string `json:"languages"`
	CreatedAt string   `json:"created_at"`
}

func (a *app) protocolsCmd() *cobra.Command {
	list := func(c *cobra.Command, _ []string) error {
		return printList(c.Context(), a, listing[*aftercare.Protocol, protocolRowJSON]{
			load: dbStore.ListProtocols,
			json: func(p *aftercare.Protocol) protocolRowJSON {
				return protocolRowJSON{p.Slug, p.Name, p.Version, p.Source, p.Languages, p.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")}
			},
			header: "SLUG\tVERSION\tSOURCE\tLANGUAGES\tNAME",
			row: func(p *aftercare.Protocol) string {
				return fmt.Sprintf("%s\tv%d\t%s\t%s\t%s", p.Slug, p.Version, p.Source, strings.Join(p.Languages, ","), p.Name)
			},
		})
	}
	cmd := &cobra.Command{
		Use:   "protocols",
		Short: "List, show, validate and import protocols",
		Long: `List the clinic's protocols (built-in and its own, latest version of each).

The protocol file format is described in docs/protocols.md.`,
		Args: needArgs(0, "no arguments (did you mean `protocols show SLUG`?)"),
		RunE: list,
	}
	cmd.AddCommand(mayCreateDB(&cobra.Command{Use: "list", Short: "List the protocols (the default)", Args: needArgs(0, "no arguments"), RunE: list}))

	var version int
	var lang string
	show := &cobra.Command{
		Use:   "show SLUG",
		Short: "Print a protocol's steps, when each fires, and its texts",
		Args:  needArgs(1, "one protocol slug"),
		RunE: func(c *cobra.Command, args []string) error {
			if err := a.open(c.Context()); err != nil {
				return err
			}
			cp, err := a.svc.Protocol(c.Context(), a.clinic.ID, args[0], version)
			if err != nil {
				return err
			}
			if lang == "" {
				lang = cp.Languages[0]
			}
			if !cp.HasLanguage(lang) {
				return aftercare.FieldErrorf("lang", "protocol %q has no %q text; it is written in %s", cp.Slug, lang, strings.Join(cp.Languages, ", "))
			}
			if a.jsonOut {
				type step struct {
					Key      string              `json:"key"`
					When     string              `json:"when"`
					Channels []aftercare.Channel `json:"channels"`
					Expires  string              `json:"expires"`
					SMS      string              `json:"sms,omitempty"`
					Subject  string              `json:"subject,omitempty"`
					Email    string              `json:"email,omitempty"`
				}
				out := struct {
					Slug      string   `json:"slug"`
					Name      string   `json:"name"`
					Version   int      `json:"version"`
					Source    string   `json:"source"`
					Languages []string `json:"languages"`
					Steps     []step   `json:"steps"`
				}{cp.Slug, cp.Name, cp.Version, cp.Source, cp.Languages, nil}
				for _, s := range cp.Steps {
					t := s.Text[lang]
					out.Steps = append(out.Steps, step{s.Key, s.Timing.String(), s.Channels, aftercare.FormatOffset(s.Expires), t.SMS, t.EmailSubject, t.EmailBody})
				}
				return a.printJSON(out)
			}
			a.printf("%s (%s) v%d, %s; languages %s\n\n", cp.Name, cp.Slug, cp.Version, cp.Source, strings.Join(cp.Languages, ", "))
			for i, s := range cp.Steps {
				a.printf("%2d. %-20s %s; %s; expires after %s\n", i+1, s.Key, s.Timing, joinChannels(s.Channels), aftercare.FormatOffset(s.Expires))
				t := s.Text[lang]
				if t.SMS != "" {
					a.printf("    sms:   %s\n", t.SMS)
				}
				if t.EmailSubject != "" {
					a.printf("    email: %s\n", t.EmailSubject)
				}
			}
			return nil
		},
	}
	show.Flags().IntVar(&version, "version", 0, "show this version (default: the latest)")
	show.Flags().StringVar(&lang, "lang", "", "language of the texts (default: the protocol's first)")

	validate := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a protocol file and report every problem with its line and column",
		Long: `Check a protocol file and report every problem with its line and column.

Warnings (on stderr, or under "warnings" with --json) point at texts a
patient would be better off without: an SMS that does not start with
{{.ClinicName}} or gives no {{.ClinicPhone}}, or an SMS or email subject that
names the treatment, which shows on a lock screen (write {{.Treatment}}).
A protocol with warnings is still valid and can be imported.`,
		Args: needArgs(1, "one protocol file"),
		RunE: func(c *cobra.Command, args []string) error {
			src, err := readFile(args[0])
			if err != nil {
				return a.invalidJSON(args[0], err)
			}
			p, warns, err := templates.ParseWithWarnings(args[0], src)
			if err != nil {
				return a.invalidJSON(args[0], err)
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"valid": true, "slug": p.Slug, "steps": len(p.Steps), "languages": p.Languages,
					"problems": []problemJSON{}, "warnings": warningLines(warns)})
			}
			a.printWarnings(warns)
			a.printf("%s: valid protocol %q with %d steps in %s\n", args[0], p.Slug, len(p.Steps), strings.Join(p.Languages, ", "))
			return nil
		},
	}
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Store a protocol file as the next version of its slug",
		Long: `Validate a protocol file and store it. Importing a slug that exists stores a new
version; patients already enrolled keep the version they were enrolled on.
Importing a file identical to the latest version changes nothing.
Warnings (see ` + "`protocols validate --help`" + `) are printed on stderr and do not stop
the import.`,
		Args: needArgs(1, "one protocol file"),
		RunE: func(c *cobra.Command, args []string) error {
			src, err := readFile(args[0])
			if err != nil {
				return err
			}
			_, warns, err := templates.ParseWithWarnings(args[0], src)
			if err != nil {
				return err // before touching the database
			}
			if err := a.open(c.Context()); err != nil {
				return err
			}
			p, created, err := a.svc.ImportProtocol(c.Context(), a.clinic.ID, args[0], src)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(map[string]any{"slug": p.Slug, "version": p.Version, "created": created, "warnings": warningLines(warns)})
			}
			a.printWarnings(warns)
			if created {
				a.printf("imported %s as version %d\n", p.Slug, p.Version)
			} else {
				a.printf("%s is unchanged: still version %d\n", p.Slug, p.Version)
			}
			return nil
		},
	}
	cmd.AddCommand(show, validate, mayCreateDB(imp))
	return cmd
}

// problemJSON is one problem of a protocol file as `protocols validate
// --json` prints it.
type problemJSON struct {
	Line    int    `json:"line"`
	Col     int    `json:"col"`
	Message string `json:"message"`
}

// invalidJSON reports err, a file that is no valid protocol: with --json,
// as {"valid": false, "problems": [...]} on stdout, so that a script reads
// the same shape whether the file is good or not, and then as an error
// (exit 1) that says where the problems are; without --json, err itself.
func (a *app) invalidJSON(file string, err error) error {
	if !a.jsonOut || aftercare.ErrorCode(err) != aftercare.EINVALID {
		return err
	}
	problems := []problemJSON{}
	if pe := (*templates.ParseError)(nil); errors.As(err, &pe) {
		for _, p := range pe.Problems {
			problems = append(problems, problemJSON{p.Line, p.Col, p.Msg})
		}
	} else {
		problems = append(problems, problemJSON{Message: aftercare.ErrorMessage(err)})
	}
	if perr := a.printJSON(map[string]any{"valid": false, "file": file, "problems": problems, "warnings": []string{}}); perr != nil {
		return perr
	}
	return aftercare.Errorf(aftercare.EINVALID, "%s is not a valid protocol: %d problem(s), listed in the JSON on stdout", file, len(problems))
}

// warningLines are a protocol's warnings as "file:line:col: warning: ..."
// lines, never nil, so that --json always has a list.
func warningLines(warns []templates.Problem) []string {
	out := []string{}
	for _, w := range warns {
		out = append(out, w.Warning())
	}
	return out
}

// printWarnings writes a protocol's warnings to stderr: the protocol is
// valid and is imported, but a patient would be better served without them.
func (a *app) printWarnings(warns []templates.Problem) {
	for _, w := range warns {
		fmt.Fprintln(a.io.Err, w.Warning())
	}
}

func joinChannels(cs []aftercare.Channel) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return strings.Join(s, "+")
}

func readFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, aftercare.Errorf(aftercare.EINVALID, "cannot read %s: %v", path, unwrapPathErr(err))
	}
	return b, nil
}

func unwrapPathErr(err error) error {
	if pe := (*os.PathError)(nil); errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
