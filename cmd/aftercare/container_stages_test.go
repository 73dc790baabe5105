package main

import (
	"bufio"
	"encoding/json"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// This machine has no Docker engine (and no registry to pull golang:1.26 or
// debian:bookworm-slim from), so the image itself is never built here.
// TestImageStages does, outside an engine, what the Dockerfile's stages
// do, read from the Dockerfile itself: it sends the build stage's go
// commands the build context .dockerignore leaves (as BuildKit would, with
// Docker's own pattern matcher), and runs the result as the runtime stage
// sets it up: its ENV, its user (uid 10001, when the test runs as root, as
// CI does) in a /data that user owns with mode 0700, its ENTRYPOINT and
// CMD, then its HEALTHCHECK command, and its STOPSIGNAL. What it cannot
// show: the base images' own contents (zone data and CA certificates come
// from the host here) and the engine's handling of VOLUME and EXPOSE.

// dockerfile is the Dockerfile as instructions, per stage.
type dockerfile struct {
	stages [][]instruction
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ENV...
	args string
}

// readDockerfile parses ../../Dockerfile for what this test needs: comment
// lines dropped (also inside a continued instruction, as Docker does),
// lines ending in a backslash joined.
func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var df dockerfile
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		cur.Reset()
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			df.stages = append(df.stages, nil)
		}
		if len(df.stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		}
		df.stages[len(df.stages)-1] = append(df.stages[len(df.stages)-1], in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(df.stages) != 2 {
		t.Fatalf("Dockerfile has %d stages; this test knows a build stage and a runtime stage", len(df.stages))
	}
	return df
}

// all returns the args of every instruction cmd of stage i.
func (df dockerfile) all(i int, cmd string) []string {
	var out []string
	for _, in := range df.stages[i] {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// one returns the args of stage i's only instruction cmd.
func (df dockerfile) one(t *testing.T, i int, cmd string) string {
	t.Helper()
	a := df.all(i, cmd)
	if len(a) != 1 {
		t.Fatalf("Dockerfile stage %d has %d %s instructions, want 1", i+1, len(a), cmd)
	}
	return a[0]
}

// execForm reads an exec-form argument list: ["aftercare", "serve"].
func execForm(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("Dockerfile: %q is not in exec form ([\"...\"]): %v", s, err)
	}
	return out
}

// envPairs reads ENV's key=value pairs (unquoted values, as ours are).
func envPairs(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range strings.Fields(s) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("Dockerfile: ENV %q: want key=value pairs", s)
		}
		out[k] = v
	}
	return out
}

// buildContext copies the repository into dir as `docker build .` sends
// it: every file but those .dockerignore leaves out, matched by
// github.com/moby/patternmatcher, the matcher Docker and BuildKit use.
// It returns the paths left out.
func buildContext(t *testing.T, dir string) (left []string) {
	t.Helper()
	pm := dockerignoreMatcher(t)
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		ignored, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if ignored {
			left = append(left, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		dst := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case d.Type().IsRegular():
			return copyFile(path, dst)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return left
}

// dockerignoreMatcher reads ../../.dockerignore with Docker's own reader
// and matcher.
func dockerignoreMatcher(t *testing.T) *patternmatcher.PatternMatcher {
	t.Helper()
	f, err := os.Open("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	return pm
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// imageUID is the image's aftercare user (the Dockerfile's useradd).
const imageUID = 10001

func TestImageStages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary as the image's build stage does (cgo, -trimpath): a minute of CPU")
	}
	df := readDockerfile(t)
	work := t.TempDir()
	// The image's user must reach the binary: open the test's temporary
	// directories (made 0700) to others.
	for _, d := range []string{filepath.Dir(work), work} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	// The build stage: its RUN commands, in the build context, with its
	// ARGs as `docker build --build-arg` would pass them. /out is the
	// stage's output directory: here a directory of the test's.
	ctxDir, out := filepath.Join(work, "src"), filepath.Join(work, "out")
	for _, d := range []string{ctxDir, out} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	left := buildContext(t, ctxDir)
	if _, err := os.Stat("../../.git"); err == nil && !slices.Contains(left, ".git") {
		t.Errorf("the build context holds .git (left out: %v)", left)
	}
	args := map[string]string{"VERSION": "v9.9.9-image-test", "COMMIT": "0123456789abcdef0123456789abcdef01234567", "COMMIT_TIME": "2026-12-03T08:00:00Z", "DIRTY": "false"}
	for _, a := range df.all(0, "ARG") {
		name, _, _ := strings.Cut(a, "=")
		if _, ok := args[name]; !ok {
			t.Errorf("Dockerfile ARG %s: this test passes no value for it; add one", name)
		}
	}
	var built string
	for _, run := range df.all(0, "RUN") {
		script := strings.ReplaceAll(run, "/out/", out+"/")
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = ctxDir
		cmd.Env = os.Environ()
		for k, v := range args {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("build stage RUN %s: %v\n%s", run, err, b)
		}
		built += string(b)
	}
	bin := filepath.Join(out, "aftercare")
	if !strings.Contains(built, args["VERSION"]) || !strings.Contains(built, "ldflags") {
		t.Errorf("the build stage's `aftercare version` printed %q; want the VERSION build arg, from ldflags", built)
	}

	// The runtime stage: COPY --from=build puts the binary on the PATH;
	// /data is the user's own, mode 0700; ENV, USER, WORKDIR as written.
	copyFrom := df.one(t, 1, "COPY")
	if !strings.HasPrefix(copyFrom, "--from=build /out/aftercare ") {
		t.Fatalf("runtime stage COPY %q: want the build stage's /out/aftercare", copyFrom)
	}
	binDir := filepath.Join(work, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFile(bin, filepath.Join(binDir, "aftercare")); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(work, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	asUser := os.Geteuid() == 0
	if asUser {
		if err := os.Chown(data, imageUID, imageUID); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Logf("not root: serve runs as uid %d, not the image's %d", os.Geteuid(), imageUID)
	}
	if u := df.one(t, 1, "USER"); u != "aftercare:aftercare" {
		t.Errorf("runtime stage USER %q, want aftercare:aftercare", u)
	}
	if w := df.one(t, 1, "WORKDIR"); w != "/data" {
		t.Errorf("runtime stage WORKDIR %q, want /data", w)
	}
	env := envPairs(t, df.one(t, 1, "ENV"))
	// EXPOSE names the port serve listens on.
	_, port, err := net.SplitHostPort(env["AFTERCARE_HTTP_ADDR"])
	if err != nil || df.one(t, 1, "EXPOSE") != port {
		t.Errorf("EXPOSE %s, AFTERCARE_HTTP_ADDR %q: want the port serve listens on exposed", df.one(t, 1, "EXPOSE"), env["AFTERCARE_HTTP_ADDR"])
	}
	// Here: loopback, and a free port rather than 8080.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env["AFTERCARE_HTTP_ADDR"] = ln.Addr().String()
	ln.Close()
	runEnv := []string{"PATH=" + binDir + ":/usr/bin:/bin", "HOME=" + data}
	for k, v := range env {
		runEnv = append(runEnv, k+"="+strings.ReplaceAll(v, "/data/", data+"/"))
	}
	if !strings.HasPrefix(env["AFTERCARE_DB"], "/data/") {
		t.Errorf("the image's AFTERCARE_DB is %q, want a file in /data (the volume)", env["AFTERCARE_DB"])
	}
	command := func(argv []string) *exec.Cmd {
		c := exec.Command(filepath.Join(binDir, argv[0]), argv[1:]...)
		c.Dir, c.Env = data, runEnv
		if asUser {
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: imageUID, Gid: imageUID}}
		}
		return c
	}

	entry := append(execForm(t, df.one(t, 1, "ENTRYPOINT")), execForm(t, df.one(t, 1, "CMD"))...)
	if strings.Join(entry, " ") != "aftercare serve" {
		t.Fatalf("ENTRYPOINT + CMD run %v, want aftercare serve", entry)
	}
	serve := command(entry)
	p := &serveProcess{name: "image", cmd: serve, stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), done: make(chan struct{})}
	serve.Stdout, serve.Stderr = p.stdout, p.stderr
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = serve.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = serve.Process.Kill()
			<-p.done
		}
	})
	p.waitOutput(t, p.stdout, "aftercare: serving on", crashEventTimeout)

	// HEALTHCHECK CMD [...]: healthy once serving.
	hc := df.one(t, 1, "HEALTHCHECK")
	_, hcCmd, ok := strings.Cut(hc, " CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q has no CMD", hc)
	}
	if b, err := command(execForm(t, hcCmd)).CombinedOutput(); err != nil {
		t.Errorf("the image's health check failed on a serving container: %v\n%s\nserve's log:\n%s", err, b, p.stderr)
	}
	st, err := os.Stat(strings.ReplaceAll(env["AFTERCARE_DB"], "/data/", data+"/"))
	if err != nil {
		t.Fatalf("serve made no database in /data: %v", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); asUser && (!ok || sys.Uid != imageUID) {
		t.Errorf("the database in /data is not the image user's (uid %d)", imageUID)
	}

	// STOPSIGNAL: serve stops cleanly on it.
	if s := df.one(t, 1, "STOPSIGNAL"); s != "SIGTERM" {
		t.Fatalf("STOPSIGNAL %s: this test sends SIGTERM", s)
	}
	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ps := p.waitExit(t, crashEventTimeout); !ps.Success() {
		t.Errorf("serve stopped by SIGTERM exited with %v, want 0\n%s", ps, p.stderr)
	}
}
