package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/vault"
)

// vaultModes are the backends the accounts flow runs against: the file
// vault always, the real Secret Service when the test runs inside one
// (scripts/with-secret-service.sh; CI always does).
func vaultModes(t *testing.T) map[string]func(r *run) vault.Vault {
	modes := map[string]func(r *run) vault.Vault{
		"file": func(r *run) vault.Vault {
			return nil // newRun's file vault, opened later with the same key
		},
	}
	if os.Getenv("AUTHCLI_TEST_SECRET_SERVICE") == "1" {
		modes["keyring"] = func(r *run) vault.Vault {
			r.setenv("AUTHCLI_VAULT=keyring", "DBUS_SESSION_BUS_ADDRESS="+os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
			return vault.NewKeyring(vault.Service, vault.WithLockDir(r.stateDir()))
		}
	} else if os.Getenv("CI") == "true" {
		t.Error("CI must run the e2e tests inside a Secret Service session (scripts/with-secret-service.sh)")
	} else {
		t.Log("no Secret Service session: the keyring variant is skipped (run under scripts/with-secret-service.sh)")
	}
	return modes
}

func (r *run) stateDir() string { return filepath.Join(r.dir, "state", "authcli") }

func (r *run) envValue(name string) string {
	for i := len(r.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(r.env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

// openVault opens the run's vault from the test process, to look inside.
func (r *run) openVault(t *testing.T, kr vault.Vault) vault.Vault {
	t.Helper()
	if kr != nil {
		return kr
	}
	v, err := vault.Open(r.envValue, r.stateDir())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type statusJSON struct {
	Default  string `json:"default_account"`
	Accounts []struct {
		Name       string `json:"name"`
		Identities []struct {
			Provider string `json:"provider"`
			Subject  string `json:"subject"`
			Token    struct {
				Health string `json:"health"`
			} `json:"token"`
		} `json:"identities"`
	} `json:"accounts"`
}

func (r *run) status(t *testing.T) statusJSON {
	t.Helper()
	res := r.exec("status", "--json")
	if res.code != 0 {
		t.Fatalf("status --json: exit %d\n%s", res.code, res.stderr)
	}
	var s statusJSON
	if err := json.Unmarshal([]byte(res.stdout), &s); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, res.stdout)
	}
	return s
}

// TestAccountsFlow is CLI.md's three sign-in outcomes, link, unlink and
// logout with the embedded provider configured under two names and the same
// person (same verified email) at both.
func TestAccountsFlow(t *testing.T) {
	for mode, setup := range vaultModes(t) {
		t.Run(mode, func(t *testing.T) {
			idp := startDevIDP(t)
			r := newRun(t).withBot("user=ada")
			kr := setup(r)
			r.config(twoNames(idp.Issuer(), true))

			res := r.exec("login", "first", "--timeout", "30s")
			if res.code != 0 {
				t.Fatalf("login first: exit %d\n%s", res.code, res.stderr)
			}
			mustContain(t, "stderr", res.stderr, "Created account ada with this first identity; it is the default account.")

			// Outcome 3: same verified email, trusted provider, no terminal → exit 4, nothing stored.
			res = r.exec("login", "second", "--timeout", "30s")
			if res.code != 4 {
				t.Fatalf("login second: exit %d, want 4\n%s", res.code, res.stderr)
			}
			mustContain(t, "stderr", res.stderr, "authcli link second --account ada")
			v := r.openVault(t, kr)
			if keys, err := v.List("second/"); err != nil || len(keys) != 0 {
				t.Fatalf("vault after a refused link: %v %v", keys, err)
			}
			if s := r.status(t); len(s.Accounts) != 1 || len(s.Accounts[0].Identities) != 1 {
				t.Fatalf("accounts after a refused link: %+v", s)
			}

			res = r.exec("link", "second", "--account", "ada", "--timeout", "30s")
			if res.code != 0 {
				t.Fatalf("link: exit %d\n%s", res.code, res.stderr)
			}
			s := r.status(t)
			if len(s.Accounts) != 1 || len(s.Accounts[0].Identities) != 2 || s.Default != "ada" {
				t.Fatalf("after link: %+v", s)
			}
			for _, id := range s.Accounts[0].Identities {
				if id.Token.Health != "valid" {
					t.Errorf("%s health %q", id.Provider, id.Token.Health)
				}
			}
			// Another process (this test) reads what the CLI wrote.
			if b, err := v.Get("second/ada"); err != nil || !strings.Contains(string(b), "access_token") {
				t.Fatalf("vault has no tokens for second/ada: %v", err)
			}

			res = r.exec("unlink", "second", "--account", "ada")
			if res.code != 0 {
				t.Fatalf("unlink second: exit %d\n%s", res.code, res.stderr)
			}
			if got := idp.Stats().Revocations; got != 1 {
				t.Errorf("provider saw %d revocations after unlink, want 1", got)
			}
			res = r.exec("unlink", "first", "--account", "ada")
			if res.code != 2 {
				t.Fatalf("unlink last identity: exit %d, want 2\n%s", res.code, res.stderr)
			}
			mustContain(t, "stderr", res.stderr, "is the only way to sign in to account ada; link another provider first or use logout")

			res = r.exec("logout", "first")
			if res.code != 0 {
				t.Fatalf("logout: exit %d\n%s", res.code, res.stderr)
			}
			if got := idp.Stats().Revocations; got != 2 {
				t.Errorf("provider saw %d revocations after logout, want 2", got)
			}
			if keys, err := v.List(""); err != nil || len(keys) != 0 {
				t.Errorf("vault after logout holds %v (err %v), want nothing", keys, err)
			}
			s = r.status(t)
			if len(s.Accounts) != 1 || s.Accounts[0].Identities[0].Token.Health != "needs_sign_in" {
				t.Errorf("after logout: %+v", s)
			}
			// Nothing secret in the accounts file.
			b, _ := os.ReadFile(filepath.Join(r.stateDir(), "accounts.json"))
			if strings.Contains(string(b), "access_token") || strings.Contains(string(b), "refresh_token") {
				t.Error("accounts.json holds token fields")
			}
		})
	}
}

// TestKeyringUnavailable: no Secret Service → exit 5 and the way out,
// before anyone is sent to the browser for nothing; status, which reads no
// secrets, still works.
func TestKeyringUnavailable(t *testing.T) {
	idp := startDevIDP(t)
	r := newRun(t).withBot("user=ada").setenv("DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(t.TempDir(), "no-bus"))
	r.setenv("AUTHCLI_VAULT=keyring")
	r.config(fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID))
	res := r.exec("login", "local")
	if res.code != 5 {
		t.Fatalf("exit %d, want 5\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "the OS keyring is unavailable or locked", "AUTHCLI_VAULT=file")
	if strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 {
		t.Errorf("not one line: %q", res.stderr)
	}
	if st := idp.Stats(); st.AuthCodeGrants != 0 {
		t.Error("the sign-in ran although its tokens could not be stored")
	}
	if res := r.exec("status"); res.code != 0 {
		t.Errorf("status with a locked keyring: exit %d: %s", res.code, res.stderr)
	}
}
