package main

import (
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/spf13/cobra"
)

// Set with -ldflags "-X main.buildVersion=... -X main.buildCommit=..." where
// the build has no VCS data of its own: the container image, whose build
// context leaves .git out (.dockerignore), passes them as build args.
// Empty: the Go toolchain's build info is used.
var (
	buildVersion    string
	buildCommit     string
	buildCommitTime string
	buildDirty      string // "true" or "false"
)

// versionInfo is what `aftercare version` prints and the staff app's
// footer shows.
type versionInfo struct {
	Version    string `json:"version"`
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	// Dirty: the build had uncommitted changes; nil when unknown.
	Dirty     *bool  `json:"dirty,omitempty"`
	GoVersion string `json:"go_version"`
	// Source says where the version came from: "ldflags" (a build arg,
	// as the container image does), "buildinfo" (the VCS data the Go
	// toolchain records when it builds in a git checkout), or "none"
	// (neither: `go run`, a test binary, a build outside a checkout).
	Source string `json:"source"`
}

// readVersion reads the version from the ldflags variables when they are
// set, else from the build info's VCS settings.
func readVersion() versionInfo {
	info, _ := debug.ReadBuildInfo()
	return versionFrom(info, buildVersion, buildCommit, buildCommitTime, buildDirty)
}

// versionFrom is readVersion with its inputs passed in (tests).
func versionFrom(info *debug.BuildInfo, ldVersion, ldCommit, ldTime, ldDirty string) versionInfo {
	v := versionInfo{Version: "devel", GoVersion: runtime.Version(), Source: "none"}
	if info != nil {
		v.GoVersion = info.GoVersion
		vcs := map[string]string{}
		for _, s := range info.Settings {
			vcs[s.Key] = s.Value
		}
		if rev := vcs["vcs.revision"]; rev != "" {
			v.Source = "buildinfo"
			v.Commit, v.CommitTime = rev, vcs["vcs.time"]
			if d, err := strconv.ParseBool(vcs["vcs.modified"]); err == nil {
				v.Dirty = &d
			}
		}
		// Go 1.24+ derives the main module's version from the VCS tag
		// and commit ("v1.2.3", "v0.0.0-20261202170322-b0fee5b2509d+dirty").
		if mv := info.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
	}
	if ldVersion != "" || ldCommit != "" {
		v.Source = "ldflags"
		v.Version, v.Commit, v.CommitTime, v.Dirty = ldVersion, ldCommit, ldTime, nil
		if v.Version == "" {
			v.Version = "devel"
		}
		if d, err := strconv.ParseBool(ldDirty); err == nil {
			v.Dirty = &d
		}
	}
	return v
}

// String is the one-line form: the footer's and the command's first line.
func (v versionInfo) String() string {
	s := v.Version
	if v.Commit != "" && v.Version == "devel" {
		c := v.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		s += " (" + c
		if v.Dirty != nil && *v.Dirty {
			s += ", modified"
		}
		s += ")"
	}
	return s
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version this binary was built from",
		Long: `Print the version of this aftercare binary: the version, the commit and its
time, whether the checkout had uncommitted changes, the Go version, and where
these came from: "buildinfo" (recorded by the Go toolchain when it builds in a
git checkout), "ldflags" (passed in at build time, as the container image does
from its VERSION and COMMIT build args) or "none" (neither, e.g. go run).`,
		Example: `  aftercare version
  aftercare version --json`,
		Args: needArgs(0, "no arguments"),
		RunE: func(c *cobra.Command, _ []string) error {
			v := readVersion()
			if a.jsonOut {
				return a.printJSON(v)
			}
			a.printf("aftercare %s\n", v.Version)
			if v.Commit != "" {
				a.printf("commit      %s\n", v.Commit)
			}
			if v.CommitTime != "" {
				a.printf("commit time %s\n", v.CommitTime)
			}
			if v.Dirty != nil {
				a.printf("modified    %t\n", *v.Dirty)
			}
			a.printf("go          %s\n", v.GoVersion)
			a.printf("source      %s\n", v.Source)
			return nil
		},
	}
}
