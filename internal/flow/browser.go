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

	"github.com/authcli/authcli/internal/vault"
)

// ErrNoBrowser means no browser can be opened here: an SSH session or a
// Linux machine without a display, and no $BROWSER.
var ErrNoBrowser = errors.New("no browser is available on this machine")

// SystemOpener opens URLs the way the user expects: the $BROWSER command
// when set (the URL replaces %s, or is appended), else the platform's
// opener (xdg-open, open, rundll32). Its chatter goes to w, never to
// stdout, which belongs to the command's output.
//
// The child is given its environment explicitly, without the vault's
// secrets; nothing in this process (its environment, a library's
// package variables) changes while it starts.
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
		name, args := platformOpener(url)
		if err := startOpener(name, args, w); err != nil {
			return fmt.Errorf("%w: %s could not start: %v", ErrNoBrowser, name, err)
		}
		return nil
	}
}

// platformOpener is the command that hands a URL to the desktop's default
// browser.
func platformOpener(url string) (string, []string) {
	switch runtime.GOOS {
	case "darwin":
		return "open", []string{url}
	case "windows":
		// Not "cmd /c start": cmd would parse & and ^ in the URL.
		return "rundll32", []string{"url.dll,FileProtocolHandler", url}
	default:
		return "xdg-open", []string{url}
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

// runBrowserCommand starts $BROWSER; the URL replaces %s in its words, or
// is appended.
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
	if err := startOpener(fields[0], fields[1:], w); err != nil {
		return fmt.Errorf("%w: $BROWSER (%s) could not start: %v", ErrNoBrowser, fields[0], err)
	}
	return nil
}

// startOpener starts an opener and does not wait for it: a browser may
// live longer than the sign-in. The process is reaped in the background.
// Its environment is this process's minus the vault's secrets.
func startOpener(name string, args []string, w io.Writer) error {
	cmd := exec.Command(name, args...)
	cmd.Env = vault.WithoutSecrets(os.Environ())
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
