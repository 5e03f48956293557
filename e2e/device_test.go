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
	mustContain(t, "stderr", res.stderr, "authcli plays your part on the other device")
}
