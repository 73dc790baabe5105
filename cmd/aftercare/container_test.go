package main

import (
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// dockerignore reports whether `docker build` leaves path (relative to
// the context's root) out of the build context, as Docker and BuildKit
// decide it: ../../.dockerignore through github.com/moby/patternmatcher.
func dockerignore(t *testing.T) func(path string) bool {
	t.Helper()
	pm := dockerignoreMatcher(t)
	return func(path string) bool {
		ignored, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatalf(".dockerignore on %s: %v", path, err)
		}
		return ignored
	}
}

// TestDockerignore: the build context leaves out the repository's history,
// patients' data (databases with their side files, kept and backup copies,
// outboxes), local settings with secrets and the screenshots, and keeps
// every file the build needs.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	ignored := dockerignore(t)
	for _, p := range []string{
		".git", ".git/HEAD", ".git/objects/ab/cdef",
		"aftercare.db", "aftercare.db-wal", "aftercare.db-shm", "aftercare.db-journal", "frontdesk.db",
		"cmd/aftercare/aftercare.db", "data/aftercare.db.before-restore-20261122T180000Z", "backups/nightly.db",
		"outbox.jsonl", "cmd/aftercare/outbox.jsonl", "patients.csv",
		".env", "aftercare.env", "deploy/.env.production",
		"docs/screenshots/home.png",
	} {
		if !ignored(p) {
			t.Errorf(".dockerignore lets %s into the build context", p)
		}
	}
	kept := []string{"go.mod", "go.sum", "cmd/aftercare/main.go", "store/sqlite/migrations/0001_init.sql",
		"web/templates/layout.html", "web/static/app.css", "templates/builtin/microneedling.yaml", "docs/examples/my-peel.yaml"}
	if out, err := exec.Command("git", "-C", "../..", "ls-files").Output(); err == nil {
		kept = append(kept, strings.Fields(string(out))...)
	}
	for _, p := range kept {
		if ignored(p) && !strings.HasPrefix(p, "docs/screenshots/") && p != ".gitignore" {
			t.Errorf(".dockerignore leaves out %s, which the build may need", p)
		}
	}
}

// TestComposeFile: docker-compose.yml's services restart, have health
// checks and wait longer than serve drains before a kill; the env file it
// reads by default exists and documents every setting of Config.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image           string         `yaml:"image"`
			Restart         string         `yaml:"restart"`
			StopGracePeriod string         `yaml:"stop_grace_period"`
			Healthcheck     map[string]any `yaml:"healthcheck"`
			EnvFile         []string       `yaml:"env_file"`
			Profiles        []string       `yaml:"profiles"`
			Volumes         []string       `yaml:"volumes"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(b, &compose); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"aftercare", "mailpit", "postgres"} {
		s, ok := compose.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if s.Restart != "unless-stopped" || s.Healthcheck["test"] == nil || len(s.Volumes) == 0 {
			t.Errorf("service %s: restart %q, healthcheck %v, volumes %v; want unless-stopped, a health check and a volume", name, s.Restart, s.Healthcheck, s.Volumes)
		}
	}
	app := compose.Services["aftercare"]
	grace, err := time.ParseDuration(app.StopGracePeriod)
	if err != nil || grace <= serveDrain {
		t.Errorf("aftercare's stop_grace_period %q (%v) must be longer than serve's drain, %v", app.StopGracePeriod, err, serveDrain)
	}
	if got := app.Healthcheck["test"]; !strings.Contains(words(got), "aftercare healthcheck") {
		t.Errorf("aftercare's health check is %v, want `aftercare healthcheck`", got)
	}
	if p := compose.Services["postgres"].Profiles; len(p) != 1 || p[0] != "postgres" {
		t.Errorf("the postgres service's profiles are %v, want [postgres]", p)
	}
	// ${AFTERCARE_ENV_FILE:-default}: the default must exist.
	m := regexp.MustCompile(`^\$\{AFTERCARE_ENV_FILE:-([^}]+)\}$`).FindStringSubmatch(strings.Join(app.EnvFile, " "))
	if m == nil {
		t.Fatalf("aftercare's env_file is %v, want ${AFTERCARE_ENV_FILE:-a file in the repository}", app.EnvFile)
	}
	example, err := os.ReadFile("../../" + m[1])
	if err != nil {
		t.Fatalf("the default env file: %v", err)
	}
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		key := ct.Field(i).Tag.Get("envconfig")
		if !regexp.MustCompile(`(?m)^#? ?` + key + `=`).Match(example) {
			t.Errorf("%s does not document %s", m[1], key)
		}
	}
	if regexp.MustCompile(`(?m)^(TWILIO_AUTH_TOKEN|SMTP_PASSWORD)=.`).Match(example) {
		t.Errorf("%s sets a secret", m[1])
	}
}

// words is a health check's test, a list or a string, as one string.
func words(v any) string {
	if s, ok := v.([]any); ok {
		var parts []string
		for _, p := range s {
			if ps, ok := p.(string); ok {
				parts = append(parts, ps)
			}
		}
		return strings.Join(parts, " ")
	}
	s, _ := v.(string)
	return s
}

// TestDockerfile: the image builds with cgo and -trimpath, runs as a
// non-root user owning /data, and checks itself with `aftercare
// healthcheck`. (No Docker engine here: the image itself is not built.)
func TestDockerfile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^FROM \S+ AS build$`),
		regexp.MustCompile(`CGO_ENABLED=1 go build -trimpath`),
		regexp.MustCompile(`-X main\.buildVersion=\$\{VERSION\}`),
		regexp.MustCompile(`chown aftercare:aftercare /data`),
		regexp.MustCompile(`(?m)^USER aftercare`),
		regexp.MustCompile(`AFTERCARE_DB=/data/aftercare\.db`),
		regexp.MustCompile(`(?m)^EXPOSE 8080$`),
		regexp.MustCompile(`(?s)HEALTHCHECK .*CMD \["aftercare", "healthcheck"`),
		regexp.MustCompile(`ca-certificates tzdata`),
	} {
		if !want.MatchString(df) {
			t.Errorf("the Dockerfile has no %s", want)
		}
	}
}
