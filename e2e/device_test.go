package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
)

var userCode = regexp.MustCompile(`\b[A-Z0-9]{4}-[A-Z0-9]{4}\b`)

// execDevice runs authcli and, once it shows a user code, approves (or
// denies) it at the provider as the person would on their phone.
func (r *run) execDevice(t *testing.T, idp *devidp.Server, deny bool, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, authcliBin, args...)
	cmd.Env = r.env
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		acted := false
		for sc.Scan() {
			line := sc.Text()
			errb.WriteString(line + "\n")
			if code := userCode.FindString(line); code != "" && !acted {
				acted = true
				var err error
				if deny {
					err = idp.DenyDevice(code)
				} else {
					err = idp.ApproveDevice(code, "grace")
				}
				if err != nil {
					t.Errorf("acting on code %s: %v", code, err)
				}
			}
		}
	}()
	err := cmd.Wait()
	pw.Close()
	<-done
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func deviceRun(t *testing.T) (*devidp.Server, *run) {
	t.Helper()
	idp, err := devidp.Start(devidp.Options{DevicePollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t)
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	return idp, r
}

func TestLoginDevice(t *testing.T) {
	idp, r := deviceRun(t)
	res := r.execDevice(t, idp, false, "login", "local", "--device")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	mustContain(t, "stdout", res.stdout, "as Grace Hopper <grace@example.com>.")
	mustContain(t, "stderr", res.stderr, idp.Issuer()+"/device", "Created account grace")
	if st := idp.Stats(); st.DeviceAuthorizations != 1 {
		t.Errorf("stats %+v", st)
	}
	// Same accounts rules as the browser flow: a second device sign-in is the known identity.
	res = r.execDevice(t, idp, false, "login", "local", "--device")
	mustContain(t, "stderr", res.stderr, "Updated the tokens of this local identity on account grace.")
}

// TestLoginNoBrowserUsesDevice: no $BROWSER, no display: authcli says so
// and uses the device grant, which the provider supports.
func TestLoginNoBrowserUsesDevice(t *testing.T) {
	idp, r := deviceRun(t)
	res := r.execDevice(t, idp, false, "login", "local")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "No browser can be opened here (an SSH session, or no display), so authcli signs in with a code")
	// The provider is on loopback: no other device can reach its page, so
	// authcli must not send the person to one.
	mustContain(t, "stderr", res.stderr, "open this page in a browser on this machine", "ssh -L ")
	if strings.Contains(res.stderr, "any device") || strings.Contains(res.stderr, "another device") {
		t.Errorf("a loopback page offered to other devices:\n%s", res.stderr)
	}
}

// TestLoginDeviceTimeout: --timeout ends the wait before the code's own
// ten minutes; the prompt says so and the error speaks of the code, not a
// browser.
func TestLoginDeviceTimeout(t *testing.T) {
	_, r := deviceRun(t)
	res := r.exec("login", "local", "--device", "--timeout", "3s")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "Waiting for the sign-in to be approved, for 3s at most.")
	if strings.Contains(res.stderr, "expires in 10m") {
		t.Errorf("the prompt promises ten minutes that --timeout cuts short:\n%s", res.stderr)
	}
	last := lastLines(res.stderr, 1)
	if last != "authcli: the code was not approved within --timeout; run the command again and approve it sooner, or give more time with --timeout." {
		t.Errorf("last line %q", last)
	}
}

func TestLoginDeviceDenied(t *testing.T) {
	idp, r := deviceRun(t)
	res := r.execDevice(t, idp, true, "login", "local", "--device")
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stderr)
	}
	last := lastLines(res.stderr, 1)
	if !strings.HasPrefix(last, "authcli: ") || !strings.Contains(strings.ToLower(last), "denied") {
		t.Errorf("last line %q", last)
	}
	if s := r.status(t); len(s.Accounts) != 0 {
		t.Errorf("a denied sign-in stored %+v", s)
	}
}

func TestDemoDeviceWithoutBrowser(t *testing.T) {
	r := newRun(t)
	res := r.exec("demo", "--device", "--user", "alan@example.com")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	mustContain(t, "stdout", res.stdout, "as Alan Turing <alan@example.com>.")
	// What authcli does instead of the person is said before the page and
	// the code, not after telling them to go there.
	say := strings.Index(res.stderr, "No browser can be opened here, so once the code is shown authcli plays your part")
	page := strings.Index(res.stderr, "open this page in a browser on this machine")
	if say < 0 || page < 0 || say > page {
		t.Errorf("the no-browser note is missing or comes after the page (note at %d, page at %d):\n%s", say, page, res.stderr)
	}
	if strings.Count(res.stderr, "No browser can be opened here") != 1 {
		t.Errorf("said twice that no browser can be opened:\n%s", res.stderr)
	}
}
