package flow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/pkg/browser"

	"github.com/authcli/authcli/internal/vault"
)

// ErrNoBrowser means no browser can be opened here: an SSH session or a
// Linux machine without a display, and no $BROWSER.
var ErrNoBrowser = errors.New("no browser is available on this machine")

// SystemOpener opens URLs the way the user expects: the $BROWSER command
// when set (the URL replaces %s, or is appended), else the platform opener
// through pkg/browser. Its chatter goes to w, never to stdout, which belongs
// to the command's output.
func SystemOpener(getenv func(string) string, w io.Writer) Opener {
	if w == nil {
		w = io.Discard
	}
	return func(ctx context.Context, url string) error {
		if cmd := strings.TrimSpace(getenv("BROWSER")); cmd != "" {
			return runBrowserCommand(cmd, url, w)
		}
		if !hasDisplay(getenv) {
			return ErrNoBrowser
		}
		// pkg/browser writes the opener's output to its package-level
		// writers; point them away from stdout.
		browser.Stdout, browser.Stderr = w, w
		// Nor can it be given an environment: hide the vault's secrets from
		// the opener (and a browser it may start) while it runs.
		restore := hideSecrets()
		err := browser.OpenURL(url)
		restore()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrNoBrowser, err)
		}
		return nil
	}
}

// BrowserAvailable reports whether SystemOpener can be expected to show a
// page: $BROWSER is set, or a graphical session is (not SSH without
// forwarding, not a Linux console).
func BrowserAvailable(getenv func(string) string) bool {
	return strings.TrimSpace(getenv("BROWSER")) != "" || hasDisplay(getenv)
}

// hasDisplay reports whether a graphical browser could show up. On Linux
// and the BSDs xdg-open would otherwise start a text browser inside this
// terminal, or fail after a while.
func hasDisplay(getenv func(string) string) bool {
	switch runtime.GOOS {
	case "darwin", "windows":
		return getenv("SSH_CONNECTION") == "" || getenv("DISPLAY") != ""
	default:
		return getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
	}
}

// runBrowserCommand starts $BROWSER and does not wait for it: a browser
// may live longer than the sign-in. The process is reaped in the background.
func runBrowserCommand(command, url string, w io.Writer) error {
	fields := strings.Fields(command)
	substituted := false
	for i, f := range fields {
		if strings.Contains(f, "%s") {
			fields[i] = strings.ReplaceAll(f, "%s", url)
			substituted = true
		}
	}
	if !substituted {
		fields = append(fields, url)
	}
	cmd := exec.Command(fields[0], fields[1:]...)
	cmd.Env = vault.WithoutSecrets(os.Environ())
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: $BROWSER (%s) could not start: %v", ErrNoBrowser, fields[0], err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// hideSecrets unsets the vault's variables in this process until restore
// is called. The vault was opened before the sign-in began, so nothing in
// authcli reads them meanwhile.
func hideSecrets() (restore func()) {
	saved := map[string]string{}
	for _, name := range []string{vault.EnvVaultKey, vault.EnvVaultPassphrase} {
		if v, ok := os.LookupEnv(name); ok {
			saved[name] = v
			_ = os.Unsetenv(name)
		}
	}
	return func() {
		for name, v := range saved {
			_ = os.Setenv(name, v)
		}
	}
}
