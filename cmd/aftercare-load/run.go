package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "f00dfeedf00dfeedf00dfeedf00dfeed"
	smsFrom    = "+15005550006"
)

func run(ctx context.Context, o options) (*Report, error) {
	tmp, err := os.MkdirTemp("", "aftercare-load-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "aftercare-load: files in", tmp)
	} else {
		defer func() { _ = os.RemoveAll(tmp) }()
	}
	if o.aftercare == "" {
		if o.aftercare, err = build(ctx, tmp, "aftercare", ".", "./cmd/aftercare"); err != nil {
			return nil, fmt.Errorf("%w (run it from the repository root, or pass --aftercare)", err)
		}
	}
	if o.fake == "" {
		if o.fake, err = build(ctx, tmp, "faketwilio", filepath.Join(o.bench, "faketwilio"), "."); err != nil {
			return nil, fmt.Errorf("%w (pass --bench DIR or --fake PATH)", err)
		}
	}
	if o.db == "" {
		o.db = filepath.Join(tmp, "aftercare.db")
	}

	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			if p.ProcessState == nil {
				_ = p.Process.Kill()
				_ = p.Wait()
			}
		}
	}()
	fakePort, err := freePort()
	if err != nil {
		return nil, err
	}
	sentLog := filepath.Join(tmp, "sent.jsonl")
	fake := exec.CommandContext(ctx, o.fake, "-port", strconv.Itoa(fakePort), "-log", sentLog, "-delay", o.delay.String())
	fake.Stderr = os.Stderr
	if err := fake.Start(); err != nil {
		return nil, fmt.Errorf("starting the fake %s: %w", o.fake, err)
	}
	procs = append(procs, fake)

	env := append(os.Environ(),
		"AFTERCARE_DB="+o.db,
		"AFTERCARE_CLINIC_NAME=Glow Skin Studio", "AFTERCARE_CLINIC_PHONE=+14155550199", "AFTERCARE_CLINIC_TZ=UTC",
		"TWILIO_ACCOUNT_SID="+accountSID, "TWILIO_AUTH_TOKEN="+authToken, "TWILIO_FROM="+smsFrom,
		fmt.Sprintf("AFTERCARE_TWILIO_BASE_URL=http://127.0.0.1:%d", fakePort),
		"AFTERCARE_SEND_CONCURRENCY="+strconv.Itoa(o.sendConc), "AFTERCARE_SMS_RATE=0",
		"AFTERCARE_OUTBOX="+filepath.Join(tmp, "outbox.jsonl"))
	token, err := createToken(ctx, o.aftercare, env)
	if err != nil {
		return nil, err
	}

	startServes := func(phase, spec string) ([]*exec.Cmd, []string, error) {
		var serves []*exec.Cmd
		var bases []string
		for i := range o.replicas {
			port, err := freePort()
			if err != nil {
				return nil, nil, err
			}
			logPath := filepath.Join(tmp, fmt.Sprintf("serve-%s-%d.log", phase, i))
			logf, err := os.Create(logPath)
			if err != nil {
				return nil, nil, err
			}
			defer logf.Close()
			s := exec.Command(o.aftercare, "serve")
			s.Env = append(slices.Clip(env), fmt.Sprintf("AFTERCARE_HTTP_ADDR=127.0.0.1:%d", port),
				fmt.Sprintf("AFTERCARE_INSTANCE=load-%d", i), "AFTERCARE_DISPATCH_SPEC="+spec)
			s.Stdout, s.Stderr = logf, logf
			if err := s.Start(); err != nil {
				return nil, nil, fmt.Errorf("starting serve: %w", err)
			}
			procs = append(procs, s)
			serves = append(serves, s)
			bases = append(bases, fmt.Sprintf("http://127.0.0.1:%d", port))
		}
		for i, b := range bases {
			if err := waitHealthy(ctx, b); err != nil {
				return nil, nil, fmt.Errorf("serve %d (log %s): %w", i, filepath.Join(tmp, fmt.Sprintf("serve-%s-%d.log", phase, i)), err)
			}
		}
		return serves, bases, nil
	}
	stopServes := func(serves []*exec.Cmd) {
		for _, s := range serves {
			_ = s.Process.Signal(syscall.SIGTERM)
		}
		for _, s := range serves {
			_ = s.Wait()
		}
	}
	spec := o.dispatchEvery
	if o.backlog {
		// Enroll with dispatch idle, then restart the serves to drain the backlog.
		spec = "@every 8760h"
	}
	serves, bases, err := startServes("enroll", spec)
	if err != nil {
		return nil, err
	}
	rep := &Report{DB: o.db, Replicas: o.replicas, ProviderDelayMS: o.delay.Milliseconds(), SendConcurrency: o.sendConc,
		Enrollments: o.enrollments, Expected: perPatient * o.enrollments, NProc: runtime.NumCPU(), Backlog: o.backlog}
	enrolled, err := enroll(ctx, o, bases, token, rep)
	if err != nil {
		return nil, err
	}
	if o.backlog {
		for _, s := range serves {
			rep.EnrollRSSMB = append(rep.EnrollRSSMB, peakRSS(s.Process.Pid))
		}
		stopServes(serves)
		if serves, _, err = startServes("dispatch", o.dispatchEvery); err != nil {
			return nil, err
		}
		// Lateness counts from when the dispatching serves were up.
		up := time.Now()
		for phone := range enrolled {
			enrolled[phone] = up
		}
	}
	// Wait until every text due at treatment time has reached the fake.
	deadline := time.Now().Add(o.timeout)
	for {
		n, _ := countLines(sentLog)
		if n >= rep.Expected {
			break
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "aftercare-load: only %d of %d texts sent after %s\n", n, rep.Expected, o.timeout)
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	time.Sleep(300 * time.Millisecond) // the fake flushes its log every 100 ms
	for _, s := range serves {
		rep.PeakRSSMB = append(rep.PeakRSSMB, peakRSS(s.Process.Pid))
	}
	stopServes(serves)
	rep.LoadAverageAtEnd = loadAverage()
	if err := readSent(sentLog, enrolled, rep); err != nil {
		return nil, err
	}
	return rep, nil
}

func createToken(ctx context.Context, bin string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "token", "create", "--role", "frontdesk", "--name", "aftercare-load", "--json")
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("aftercare token create: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	var t struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out.Bytes(), &t); err != nil || t.Token == "" {
		return "", fmt.Errorf("aftercare token create printed no token: %q", out.String())
	}
	return t.Token, nil
}

func waitHealthy(ctx context.Context, base string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("/healthz not OK after 30 s")
}

// dayZone is a fixed zone where it is midday now, so that the texts due
// at treatment time are inside every send window.
func dayZone(now time.Time) string {
	off := now.UTC().Hour() - 12
	switch {
	case off > 0:
		return fmt.Sprintf("Etc/GMT+%d", off)
	case off < 0:
		return fmt.Sprintf("Etc/GMT%d", off)
	}
	return "UTC"
}

// enroll posts the enrollments from o.clients clients, round robin over
// the replicas, and returns when each phone's enrollment was answered.
func enroll(ctx context.Context, o options, bases []string, token string, rep *Report) (map[string]time.Time, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.clients}}
	zone := dayZone(time.Now())
	var (
		next     atomic.Int64
		mu       sync.Mutex
		enrolled = make(map[string]time.Time, o.enrollments)
		lat      []time.Duration
		failures []string
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range o.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(o.enrollments) {
					return
				}
				phone := fmt.Sprintf("+1415%03d%04d", 200+i/10000%800, i%10000)
				body, _ := json.Marshal(map[string]any{
					"name": fmt.Sprintf("Load Patient %d", i), "phone": phone, "tz": zone, "lang": "en",
					"protocol": "microneedling", "treated_at": time.Now().UTC().Format(time.RFC3339),
					"sms_consent": true, "email_consent": false,
				})
				req, _ := http.NewRequestWithContext(ctx, "POST", bases[int(i)%len(bases)]+"/api/v1/enrollments", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				done := time.Now()
				mu.Lock()
				if resp.StatusCode != http.StatusCreated {
					failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(out))))
				} else {
					enrolled[phone] = done
					lat = append(lat, done.Sub(t0))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.EnrollPerSec = float64(len(enrolled)) / el.Seconds()
	rep.EnrollP99MS = ms(percentile(lat, 0.99))
	rep.EnrollErrors = len(failures)
	if len(failures) > 0 {
		fmt.Fprintf(os.Stderr, "aftercare-load: %d enrollments failed; the first: %s\n", len(failures), failures[0])
	}
	if len(enrolled) == 0 {
		return nil, errors.New("no enrollment succeeded")
	}
	rep.Expected = perPatient * len(enrolled)
	return enrolled, nil
}

// readSent reads the fake's log: the dispatch rate from its first send to
// its last, lateness against each phone's enrollment, and duplicates.
func readSent(path string, enrolled map[string]time.Time, rep *Report) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	seen := map[string]bool{}
	var first, last float64
	var late []time.Duration
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m struct {
			To   string  `json:"to"`
			Body string  `json:"body"`
			T    float64 `json:"t"`
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("the fake's log %s: %w", path, err)
		}
		rep.Sent++
		if key := m.To + "\x00" + m.Body; seen[key] {
			rep.Duplicates++
		} else {
			seen[key] = true
		}
		if first == 0 || m.T < first {
			first = m.T
		}
		last = math.Max(last, m.T)
		if at, ok := enrolled[m.To]; ok {
			sec, frac := math.Modf(m.T)
			late = append(late, time.Unix(int64(sec), int64(frac*1e9)).Sub(at))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if rep.Sent > 1 && last > first {
		rep.MessagesPerSec = float64(rep.Sent-1) / (last - first)
	}
	rep.LatenessP50MS, rep.LatenessP99MS = ms(percentile(late, 0.50)), ms(percentile(late, 0.99))
	return nil
}

func countLines(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return bytes.Count(b, []byte{'\n'}), nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
