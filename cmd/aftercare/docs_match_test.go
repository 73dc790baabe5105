package main

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// docFiles are the documents whose commands and settings a clinic's
// operator copies.
var docFiles = []string{"../../README.md", "../../docs/operations.md", "../../docs/security.md", "../../docs/protocols.md",
	"../../docs/performance.md", "../../docs/examples/aftercare.env.example"}

// docCommand is an aftercare command line in a document: the words after
// "aftercare " up to the end of the shell command (a comment, a pipe, a
// redirection, the end of a code span).
var docCommand = regexp.MustCompile("(?:^|[\\s`(])(?:\\./)?aftercare ([^`#;|&)<>\\n]*)")

// TestDocsFlagsExist: every flag the documents and the commands' own
// examples (--help) give an aftercare command is one that command has, and
// every subcommand they name exists (a renamed flag would leave the docs
// behind).
func TestDocsFlagsExist(t *testing.T) {
	t.Parallel()
	root := (&app{}).rootCmd()
	texts := map[string]string{}
	for _, file := range docFiles {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		texts[file] = string(b)
	}
	var examples func(c *cobra.Command)
	examples = func(c *cobra.Command) {
		if c.Example != "" {
			texts[c.CommandPath()+" --help"] = c.Example
		}
		for _, sub := range c.Commands() {
			examples(sub)
		}
	}
	examples(root)
	checked := 0
	for where, text := range texts {
		for _, m := range docCommand.FindAllStringSubmatch(text, -1) {
			line := strings.TrimSpace(m[1])
			words := strings.Fields(line)
			cmd, rest, err := root.Find(words)
			if err != nil || cmd == root {
				continue // prose ("aftercare is ..."), not a command
			}
			checked++
			if cmd.HasSubCommands() && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
				t.Errorf("%s: `aftercare %s`: %s has no command %q", where, line, cmd.CommandPath(), rest[0])
			}
			for _, w := range words {
				if !strings.HasPrefix(w, "--") {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimPrefix(w, "--"), "=")
				name = strings.Trim(name, `"',.`)
				if name != "" && cmd.Flag(name) == nil {
					t.Errorf("%s: `aftercare %s`: %s has no flag --%s", where, line, cmd.CommandPath(), name)
				}
			}
		}
	}
	if checked < 80 {
		t.Errorf("only %d aftercare commands found in the documents and examples: is docCommand still right?", checked)
	}
}

// TestDocsListEverySetting: README's configuration table and the example
// env file name every variable Config reads.
func TestDocsListEverySetting(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, _ := strings.Cut(string(readme), "\n## Configuration (environment)\n")
	table, _, _ = strings.Cut(table, "\n## ")
	example, err := os.ReadFile("../../docs/examples/aftercare.env.example")
	if err != nil {
		t.Fatal(err)
	}
	typ := reflect.TypeFor[Config]()
	for i := range typ.NumField() {
		key := typ.Field(i).Tag.Get("envconfig")
		// The table groups the clinic's variables: `AFTERCARE_CLINIC_NAME`, `_PHONE`, ...
		short := "`_" + strings.TrimPrefix(key, "AFTERCARE_CLINIC_") + "`"
		if !strings.Contains(table, "`"+key+"`") && !(strings.HasPrefix(key, "AFTERCARE_CLINIC_") && strings.Contains(table, short)) &&
			!strings.Contains(table, key+"`") && !strings.Contains(table, "`"+key+",") && !strings.Contains(table, " "+key+",") {
			t.Errorf("README.md's configuration table does not list %s", key)
		}
		if !regexp.MustCompile(`(?m)^#? ?` + key + `=`).Match(example) {
			t.Errorf("docs/examples/aftercare.env.example does not list %s", key)
		}
	}
}

// TestEnvExampleValuesWork: each line of the example env file, commented
// or not, is a value serve takes as it stands once uncommented (a note
// after a value would become part of it: env files have no end-of-line
// comments).
func TestEnvExampleValuesWork(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/examples/aftercare.env.example")
	if err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^#? ?([A-Z][A-Z0-9_]*)=(.*)$`).FindAllStringSubmatch(string(b), -1)
	if len(lines) < 30 {
		t.Fatalf("only %d settings found in the example", len(lines))
	}
	for _, m := range lines {
		key, value := m[1], m[2]
		cfg, err := loadConfig(MapEnv(map[string]string{key: value}))
		if err == nil {
			_, err = newLogger(&strings.Builder{}, cfg.LogFormat, cfg.LogLevel, nil)
		}
		if err != nil {
			t.Errorf("%s=%s: %v", key, value, err)
		}
	}
}
