package e2e

import (
	"strings"
	"testing"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"

	"github.com/authcli/authcli/internal/devidp"
)

func testDockerClient(t *testing.T) {
	idp, r, v := signedIn(t, devidp.Options{})
	_, link := dockerLinkDir(t)
	const registry = "registry.example:5000"
	if res := r.exec("setup-docker", "local", "--registry", registry); res.code != 0 {
		t.Fatalf("setup-docker: %d %s", res.code, res.stderr)
	}
	env := map[string]string{}
	for _, kv := range r.env {
		k, val, _ := strings.Cut(kv, "=")
		env[k] = val
	}
	helper := client.NewShellProgramFuncWithEnv(link, &env)

	creds, err := client.Get(helper, registry)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	if creds.Username != "oauth2" || creds.Secret != storedToken(t, v).AccessToken || creds.ServerURL != registry {
		t.Errorf("get: username %q, secret is the stored token: %t, server %q", creds.Username, creds.Secret == storedToken(t, v).AccessToken, creds.ServerURL)
	}
	if creds, err := client.Get(helper, "https://"+registry+"/v2/"); err != nil || creds.Secret == "" {
		t.Errorf("get by URL: %v", err)
	}
	if _, err := client.Get(helper, "index.docker.io"); !credentials.IsErrCredentialsNotFound(err) {
		t.Errorf("an unknown registry: %v, want the protocol's not-found", err)
	}
	all, err := client.List(helper)
	if err != nil || len(all) != 1 || all[registry] != "oauth2" {
		t.Errorf("list: %v %v", all, err)
	}
	err = client.Store(helper, &credentials.Credentials{ServerURL: registry, Username: "ada", Secret: "typed"})
	if err == nil || !strings.Contains(err.Error(), "authcli does not keep registry passwords") {
		t.Errorf("store: %v", err)
	}
	if err := client.Erase(helper, registry); err != nil {
		t.Errorf("erase: %v", err)
	}
	if storedToken(t, v).AccessToken != creds.Secret {
		t.Error("store or erase changed authcli's token")
	}

	// An expired token is refreshed first (in authcli's detached refresh
	// process, started from the helper).
	expire(t, v, "local/ada")
	fresh, err := client.Get(helper, registry)
	if err != nil || fresh.Secret == creds.Secret || fresh.Secret != storedToken(t, v).AccessToken {
		t.Errorf("get after expiry: %v, a new token: %t", err, err == nil && fresh.Secret != creds.Secret)
	}
	if st := idp.Stats(); st.RefreshGrants != 1 {
		t.Errorf("%d refreshes, want 1", st.RefreshGrants)
	}

	if res := r.exec("logout", "local"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	_, err = client.Get(helper, registry)
	if err == nil || credentials.IsErrCredentialsNotFound(err) || !strings.Contains(err.Error(), "authcli login local") {
		t.Errorf("signed out: %v", err)
	}
}
