//go:build unix

package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/tokens"
)

// killRuns is how many callers each signal kills mid-refresh.
const killRuns = 100

// TestKillingTheCallerNeverLosesARotatedToken kills `authcli token` at
// random moments of a forced refresh — SIGKILL of its whole process group
// (a cancelled CI job, a closed terminal), SIGTERM, SIGINT — against a
// provider that rotates refresh tokens and revokes the whole family when a
// used one comes back. A lost rotated token would show as a reuse (and
// every later refresh failing); a damaged store as an undecodable record.
func TestKillingTheCallerNeverLosesARotatedToken(t *testing.T) {
	idp, r, v := signedIn(t, devidp.Options{})
	modes := []struct {
		name string
		kill func(p *os.Process) error
		sig  syscall.Signal
	}{
		{"SIGKILL of the process group", func(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }, syscall.SIGKILL},
		{"SIGTERM", func(p *os.Process) error { return p.Signal(syscall.SIGTERM) }, syscall.SIGTERM},
		{"SIGINT", func(p *os.Process) error { return p.Signal(syscall.SIGINT) }, syscall.SIGINT},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			before := idp.Stats().RefreshGrants
			for i := range killRuns {
				cmd := exec.Command(authcliBin, "token", "local", "--min-ttl", "8760h")
				cmd.Env = r.env
				cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
				var errb bytes.Buffer
				cmd.Stderr = &errb
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				// A refresh here takes a few milliseconds: spread the
				// kills over all of it, and a little before and after.
				time.Sleep(time.Duration(rand.IntN(12000)) * time.Microsecond)
				_ = m.kill(cmd.Process)
				err := cmd.Wait()
				var ee *exec.ExitError
				switch {
				case err == nil:
				case errors.As(err, &ee):
					st, _ := ee.Sys().(syscall.WaitStatus)
					code := ee.ExitCode()
					if !(st.Signaled() && st.Signal() == m.sig) && code != 128+int(m.sig) {
						t.Fatalf("run %d: exit %d (%v), want 0, %d or killed by %v\n%s", i, code, err, 128+int(m.sig), m.sig, errb.String())
					}
				default:
					t.Fatal(err)
				}
			}
			// A normal call waits for any refresh still running, then
			// must refresh again with whatever token was kept.
			if res := r.exec("token", "local", "--min-ttl", "8760h"); res.code != 0 {
				t.Fatalf("refresh after the kills: exit %d: %s", res.code, res.stderr)
			}
			st := idp.Stats()
			if st.RefreshReuseDetected != 0 {
				t.Fatalf("%d refresh tokens were presented again after rotation (a rotated token was lost)", st.RefreshReuseDetected)
			}
			b, err := v.Get("local/ada")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tokens.Decode(b); err != nil {
				t.Fatalf("damaged store: %v", err)
			}
			t.Logf("%d kills, %d refresh grants, 0 reuses", killRuns, st.RefreshGrants-before)
		})
	}
}

// tokenProxy stands in front of the provider's token endpoint and, while
// spoil is set, spoils the answers to refresh grants after the provider
// has rotated (the provider has spent the old refresh token by then).
type tokenProxy struct {
	target string
	spoil  atomic.Pointer[func(map[string]any)]
	hits   atomic.Int32
}

func (p *tokenProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	req, _ := http.NewRequest(r.Method, p.target, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if f := p.spoil.Load(); f != nil && form.Get("grant_type") == "refresh_token" && resp.StatusCode == 200 {
		var m map[string]any
		if json.Unmarshal(out, &m) == nil {
			(*f)(m)
			out, _ = json.Marshal(m)
			p.hits.Add(1)
		}
	}
	w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

// TestRotatedAnswerThatFailsACheckKeepsItsRefreshToken: the provider
// rotates, then its answer fails a check. authcli must hand out nothing of
// that answer, say the refresh's answer failed verification, and keep the
// new refresh token, so the next refresh works with zero reuses.
func TestRotatedAnswerThatFailsACheckKeepsItsRefreshToken(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	doc, err := http.Get(idp.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc struct {
		Token string `json:"token_endpoint"`
	}
	_ = json.NewDecoder(doc.Body).Decode(&disc)
	doc.Body.Close()
	proxy := &tokenProxy{target: disc.Token}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)

	r := newRun(t).withBot("user=ada")
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\ntoken_url = %q\n", idp.Issuer(), devidp.DemoClientID, srv.URL))
	if res := r.exec("login", "local", "--timeout", "30s"); res.code != 0 {
		t.Fatalf("login: exit %d\n%s", res.code, res.stderr)
	}
	modes := []struct {
		name  string
		spoil func(m map[string]any)
	}{
		{"ID token signature", func(m map[string]any) {
			raw, _ := m["id_token"].(string)
			m["id_token"] = raw[:len(raw)-4] + "AAAA"
		}},
		{"unknown token type", func(m map[string]any) { m["token_type"] = "DPoP" }},
		{"no access token", func(m map[string]any) { delete(m, "access_token") }},
		{"ID token from elsewhere", func(m map[string]any) { m["id_token"] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2ln" }},
	}
	for _, m := range modes {
		spoil := m.spoil
		proxy.spoil.Store(&spoil)
		res := r.exec("token", "local", "--min-ttl", "8760h")
		proxy.spoil.Store(nil)
		if res.code != 1 || res.stdout != "" || !strings.Contains(res.stderr, "refresh failed verification") ||
			!strings.Contains(res.stderr, "new refresh token was kept") || strings.Contains(res.stderr, "nothing was stored") {
			t.Fatalf("%s: exit %d, stdout %q, stderr %q", m.name, res.code, res.stdout, res.stderr)
		}
		// The next refresh uses the kept token: no reuse, a good answer.
		if res := r.exec("token", "local", "--id-token"); res.code != 0 || res.stdout == "" {
			t.Fatalf("%s: refresh after the failed check: exit %d: %s", m.name, res.code, res.stderr)
		}
	}
	st := idp.Stats()
	if st.RefreshReuseDetected != 0 || proxy.hits.Load() != int32(len(modes)) {
		t.Fatalf("%d reuses, %d spoiled answers; want 0 and %d", st.RefreshReuseDetected, proxy.hits.Load(), len(modes))
	}
}
