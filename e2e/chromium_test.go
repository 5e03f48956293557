package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authcli/authcli/internal/devidp"
)

// chromiumPath is Debian's chromium package. The tests never download a
// browser: CI installs it with scripts/ci-chromium-deps.sh.
const chromiumPath = "/usr/bin/chromium"

// stepTimeout bounds each wait on the browser or on authcli.
const stepTimeout = 30 * time.Second

// TestChromiumDemoAllow is the README's first command as a person sees it:
// `authcli demo` opens the demo provider's page in a real browser, the
// person picks Grace and clicks Allow, the tab lands on authcli's loopback
// success page, and the terminal shows Grace's profile.
func TestChromiumDemoAllow(t *testing.T) {
	requireChromium(t)
	r := newRun(t)
	cli := startWithLauncher(t, r, "demo", "--timeout", "60s")
	authURL := cli.waitForURL(t)
	br := newChromium(t)

	br.do(t, "open the sign-in page", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)))
	mustContain(t, "provider heading", read(t, br, chromedp.Text(chromedp.CSS("h1"))), "Sign in to")
	if n := read(t, br, chromedp.Evaluate[int](`document.querySelectorAll('input[type=radio][name=user]').length`)); n < 2 {
		t.Fatalf("provider page offers %d users, want a choice", n)
	}
	grace := chromedp.CSS(`input[name=user][data-email="grace@example.com"]`)
	br.do(t, "pick Grace", chromedp.Click(grace))
	if !read(t, br, chromedp.Evaluate[bool](`document.querySelector('input[name=user][data-email="grace@example.com"]').checked`)) {
		t.Fatal("clicking Grace did not select her")
	}
	br.screenshot(t, "demo-provider")

	br.do(t, "allow", chromedp.Click(chromedp.CSS(`button[value=allow]`)))
	br.landed(t, ".mark.ok")
	loc := read(t, br, chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Hostname() != "127.0.0.1" || u.Path != "/callback/demo" {
		t.Errorf("success page at %q, want authcli's loopback /callback/demo", loc)
	}
	if got := read(t, br, chromedp.Text(chromedp.CSS("h1"))); got != "You are signed in" {
		t.Errorf("success heading %q", got)
	}
	mustContain(t, "success page", read(t, br, chromedp.Text(chromedp.CSS("main"))), "Signed in as grace@example.com", "return to the terminal")
	br.screenshot(t, "demo-success")

	res := cli.wait(t)
	if res.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", res.code, res.stderr)
	}
	mustContain(t, "stdout", res.stdout, "Signed in to the demo provider as Grace Hopper <grace@example.com>.", "subject:  grace")
	if code := authCode(loc); code == "" || strings.Contains(res.stdout+res.stderr, code) {
		t.Errorf("the authorization code (%d bytes) is missing from the callback or leaked to the terminal", len(code))
	}
	br.noPageErrors(t)
}

// TestChromiumLoginDeny: the person clicks Deny at a provider from the
// config file; the tab shows authcli's failure page with the provider's
// reason as text, authcli exits 1 and prints nothing on stdout.
func TestChromiumLoginDeny(t *testing.T) {
	requireChromium(t)
	idp := startDevIDP(t)
	r := newRun(t)
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\ndisplay_name = \"Local IdP\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	cli := startWithLauncher(t, r, "login", "local", "--timeout", "60s")
	authURL := cli.waitForURL(t)
	br := newChromium(t)

	br.do(t, "open the sign-in page", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS(`button[value=deny]`)))
	br.do(t, "deny", chromedp.Click(chromedp.CSS(`button[value=deny]`)))
	br.landed(t, ".mark.fail")
	if got := read(t, br, chromedp.Text(chromedp.CSS("h1"))); got != "Sign-in cancelled" {
		t.Errorf("failure heading %q", got)
	}
	mustContain(t, "failure detail", read(t, br, chromedp.Text(chromedp.CSS(".detail"))), "access_denied", "The user denied the sign-in request.")
	br.screenshot(t, "deny-failure")

	res := cli.wait(t)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "access_denied")
	if res.stdout != "" {
		t.Errorf("stdout not empty on failure: %q", res.stdout)
	}
	if st := idp.Stats(); st.AuthCodeGrants != 0 {
		t.Errorf("provider exchanged %d codes after a denial", st.AuthCodeGrants)
	}
	br.noPageErrors(t)
}

// TestChromiumHostileErrorDescription plays a provider that puts markup in
// error_description: the browser must render it as text on the failure page,
// never as elements, and no script of it may run.
func TestChromiumHostileErrorDescription(t *testing.T) {
	requireChromium(t)
	r := newRun(t)
	cli := startWithLauncher(t, r, "demo", "--timeout", "60s")
	authURL := followStart(t, cli.waitForURL(t))
	au, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	redirect, state := au.Query().Get("redirect_uri"), au.Query().Get("state")
	if redirect == "" || state == "" {
		t.Fatalf("authorization URL lacks redirect_uri or state: %s", authURL)
	}
	const hostile = `<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script><b id=injected>bold</b>`
	callback := redirect + "?" + url.Values{
		"error":             {"access_denied"},
		"error_description": {hostile},
		"state":             {state},
	}.Encode()
	br := newChromium(t)

	br.do(t, "open the forged callback", chromedp.Navigate(callback), chromedp.WaitVisible(chromedp.CSS(".mark.fail")))
	mustContain(t, "failure detail", read(t, br, chromedp.Text(chromedp.CSS(".detail"))), hostile)
	if n := read(t, br, chromedp.Evaluate[int](`document.querySelectorAll('body img, body script, #injected').length`)); n != 0 {
		t.Errorf("the provider's markup became %d elements of the page", n)
	}
	if title := read(t, br, chromedp.Title()); title == "pwned" {
		t.Error("the provider's script ran")
	}
	br.screenshot(t, "hostile-failure")

	res := cli.wait(t)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\nstderr:\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "access_denied")
	// A blocked inline script would show up here as a CSP violation.
	br.noPageErrors(t)
}

// requireChromium skips on a developer machine without the browser, and
// fails in CI, where a silently skipped browser test would prove nothing.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err == nil {
		return
	}
	msg := fmt.Sprintf("%s not found: install Debian's chromium and chromium-driver (scripts/ci-chromium-deps.sh) to run the real-browser tests", chromiumPath)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// cliRun is an authcli process running in the background while the test
// plays the person in front of the browser.
type cliRun struct {
	urlFile string
	done    chan result
	cancel  context.CancelFunc
}

// startWithLauncher starts authcli with $BROWSER set to a launcher that
// only writes the URL down (temp file, then rename, so the test never reads
// half a URL); the test hands it to Chromium itself.
func startWithLauncher(t *testing.T, r *run, args ...string) *cliRun {
	t.Helper()
	urlFile := filepath.Join(r.dir, "auth-url")
	launcher := filepath.Join(r.dir, "launcher")
	script := "#!/bin/sh\nprintf '%s' \"$1\" > \"$AUTHCLI_E2E_URL_FILE.tmp\" && mv \"$AUTHCLI_E2E_URL_FILE.tmp\" \"$AUTHCLI_E2E_URL_FILE\"\n"
	if err := os.WriteFile(launcher, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	r.setenv("BROWSER="+launcher, "AUTHCLI_E2E_URL_FILE="+urlFile)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	cmd := exec.CommandContext(ctx, authcliBin, args...)
	cmd.Env = r.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start authcli %v: %v", args, err)
	}
	c := &cliRun{urlFile: urlFile, done: make(chan result, 1), cancel: cancel}
	go func() {
		err := cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			code = -1
		}
		c.done <- result{code, out.String(), errb.String()}
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

// waitForURL polls for the launcher's file; authcli exiting first is a
// failure with its stderr.
func (c *cliRun) waitForURL(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(c.urlFile); err == nil && len(b) > 0 {
			return string(b)
		}
		select {
		case res := <-c.done:
			c.done <- res
			t.Fatalf("authcli exited %d before opening the browser\nstderr:\n%s", res.code, res.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("$BROWSER was not given a URL within %s", stepTimeout)
	return ""
}

func (c *cliRun) wait(t *testing.T) result {
	t.Helper()
	select {
	case res := <-c.done:
		c.done <- res
		return res
	case <-time.After(stepTimeout):
		c.cancel()
		t.Fatalf("authcli did not exit within %s after the browser finished", stepTimeout)
		return result{}
	}
}

// followStart opens authcli's one-time start link without following its
// redirect and returns the authorization URL it leads to (the link is then
// spent, so the test's browser does not open it).
func followStart(t *testing.T, start string) string {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := resp.Location()
	if err != nil {
		t.Fatalf("the start link %s answered %d without a redirect", start, resp.StatusCode)
	}
	return loc.String()
}

// authCode is the code parameter of the callback URL the browser landed on.
func authCode(callback string) string {
	u, err := url.Parse(callback)
	if err != nil {
		return ""
	}
	return u.Query().Get("code")
}

// chromium is one headless browser with its own profile, and the console
// messages its pages produced.
type chromium struct {
	ctx       context.Context
	artifacts string

	mu       sync.Mutex
	messages []chromedp.ConsoleMessage
}

func newChromium(t *testing.T) *chromium {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Containers give /dev/shm 64 MB, which renderers outgrow.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 760),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	b := &chromium{ctx: ctx, artifacts: artifactsDir(t)}
	// The first Run starts the browser; it gets no timeout of its own
	// because that would bound the browser's whole life.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	collected := make(chan struct{})
	messages := chromedp.Console(ctx)
	go func() {
		defer close(collected)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		<-collected
	})
	return b
}

// do runs browser steps, bounded by stepTimeout.
func (b *chromium) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		// What the page shows when a step fails is the best clue.
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err != nil {
			t.Logf("no screenshot of the failed page: %v", err)
		} else {
			name := "failed-" + strings.Map(func(r rune) rune {
				if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
					return r
				}
				return '-'
			}, what)
			path := filepath.Join(b.artifacts, name+".png")
			if err := writeArtifact(path, png); err != nil {
				t.Log(err)
			} else {
				t.Logf("screenshot: %s", path)
			}
		}
		t.Fatalf("%s: %v\npage: %s\nbrowser console:\n%s", what, err, loc, b.console())
	}
}

// landed waits until the tab shows authcli's loopback page marked by want,
// or the provider's error box, and fails fast with the provider's words in
// the second case.
func (b *chromium) landed(t *testing.T, want string) {
	t.Helper()
	b.do(t, "wait for the next page", chromedp.WaitVisible(chromedp.CSS(want+", main .error")))
	if read(t, b, chromedp.Evaluate[bool](fmt.Sprintf(`document.querySelector(%q) !== null`, want))) {
		return
	}
	b.screenshot(t, "failed-provider-error")
	t.Fatalf("the provider refused the form: %q\nbrowser console:\n%s", read(t, b, chromedp.Text(chromedp.CSS("main .error"))), b.console())
}

// read reads one value from the page, bounded by stepTimeout.
func read[T any](t *testing.T, b *chromium, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("read the page: %v", err)
	}
	return v
}

// screenshot saves the whole page as a PNG artefact: these are the pages
// users see, and a person should look at them after a change.
func (b *chromium) screenshot(t *testing.T, name string) {
	t.Helper()
	png := read(t, b, chromedp.FullScreenshot(100))
	if err := checkRendered(png); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := writeArtifact(path, png); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// console is what the browser reported so far, one message a line.
func (b *chromium) console() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var sb strings.Builder
	for _, m := range b.messages {
		fmt.Fprintf(&sb, "  %s [%s] %s\n", m, m.Source, m.URL)
	}
	return sb.String()
}

// noPageErrors fails on what a person would not see but a browser reports:
// a Content-Security-Policy violation (a blocked form post or redirect) or
// a script exception.
func (b *chromium) noPageErrors(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.messages {
		if m.Source == "security" || m.IsException() {
			t.Errorf("browser reported: %s (%s)", m, m.URL)
		}
	}
}

// checkRendered rejects a PNG that is not one, or is a single flat colour:
// the mark of a page that never painted.
func checkRendered(data []byte) error {
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a PNG: %w", err)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 200 || bounds.Dy() < 200 {
		return fmt.Errorf("only %dx%d pixels", bounds.Dx(), bounds.Dy())
	}
	first := img.At(bounds.Min.X, bounds.Min.Y)
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			if !sameColor(img.At(x, y), first) {
				return nil
			}
		}
	}
	return errors.New("the page is blank")
}

func sameColor(a, b color.Color) bool {
	ar, ag, ab, aa := a.RGBA()
	br, bg, bb, ba := b.RGBA()
	return ar == br && ag == bg && ab == bb && aa == ba
}

// artifactsDir is $AUTHCLI_E2E_ARTIFACTS, or a fresh directory under the
// system temp dir that outlives the test so the screenshots can be looked at.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("AUTHCLI_E2E_ARTIFACTS")
	if dir == "" {
		d, err := os.MkdirTemp("", "authcli-e2e-screenshots-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	dir = filepath.Join(dir, t.Name())
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Logf("artefacts: %s", dir)
	return dir
}

// writeArtifact replaces path atomically: a half-written PNG is worse than
// none when someone opens it to judge a page.
func writeArtifact(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".shot-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}
