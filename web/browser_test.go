package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive a real headless Chromium (Debian's chromium
// package, which .ci/run installs) against the real server on loopback.
// They are skipped only under -short; a missing browser otherwise fails, so
// that CI can never pass without having run them.

// chromiumPath finds the browser: $AFTERCARE_CHROMIUM, or chromium /
// chromium-browser / google-chrome on PATH.
func chromiumPath() string {
	if p := os.Getenv("AFTERCARE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// newChrome starts a headless browser with a fresh profile and returns a
// context for chromedp actions. width is the viewport width (375 for a
// phone).
func newChrome(t *testing.T, width, height int) context.Context {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped under -short")
	}
	path := chromiumPath()
	if path == "" {
		t.Fatal("no Chromium found: install it (apt-get install -y chromium) or set AFTERCARE_CHROMIUM to the browser's path")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		// The machine has no internet: stop Chromium's own background
		// connections, which would otherwise fail loudly at every start.
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A generous bound so a hung browser fails the test instead of CI.
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// screenshot saves the page as docs/screenshots/NAME.png when
// AFTERCARE_SCREENSHOTS is set (make screenshots); ordinary test runs do
// not rewrite the docs.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	saveShot(t, ctx, name, chromedp.FullScreenshot(100)) // 100: PNG, not JPEG
}

// screenshotTop saves what the window shows (a long page's first screen,
// the guide's), as screenshot does.
func screenshotTop(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	saveShot(t, ctx, name, chromedp.CaptureScreenshot())
}

func saveShot(t *testing.T, ctx context.Context, name string, shot chromedp.Action[[]byte]) {
	t.Helper()
	if os.Getenv("AFTERCARE_SCREENSHOTS") == "" {
		return
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// signInBrowser signs the browser in through the real form.
func signInBrowser(t *testing.T, ctx context.Context, app *testApp, email, pw string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/signin"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS("header.top")),
	)
	if err != nil {
		t.Fatalf("signing in as %s in the browser: %v", email, err)
	}
}

// TestBrowserSignIn: the sign-in page works in a real browser and lands on
// the start page; a wrong password shows the error.
func TestBrowserSignIn(t *testing.T) {
	app := newTestApp(t)
	ctx := newChrome(t, 1280, 900)
	email, pw := app.User(app.Main, "frontdesk")
	err := chromedp.Do(ctx,
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), "wrong password!"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.CSS(".form-error")),
	)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".form-error")))
	if err != nil {
		t.Fatal(err)
	}
	if msg == "" {
		t.Fatal("a wrong password showed no error")
	}
	screenshot(t, ctx, "signin")
	signInBrowser(t, ctx, app, email, pw)
}
