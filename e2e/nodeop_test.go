package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startNodeOP runs node-oidc-provider (e2e/nodeop, installed by `npm ci`
// there) on 127.0.0.1 and returns its issuer. Locally it skips when node
// or the package is missing; in CI it never skips.
func startNodeOP(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join("nodeop", "node_modules", "oidc-provider")); err != nil || statErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node-oidc-provider is not installed (run npm ci in e2e/nodeop): %v %v", err, statErr)
		}
		t.Skip("node-oidc-provider is not installed: run npm ci in e2e/nodeop")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "server.mjs")
	cmd.Dir = "nodeop"
	cmd.Env = append(os.Environ(), "NODEOP_REDIRECT_URIS=http://127.0.0.1/callback http://127.0.0.1/callback/nodeop")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	issuer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ISSUER "); ok {
				issuer <- v
			}
		}
	}()
	select {
	case v := <-issuer:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("node-oidc-provider did not start within 30s")
	}
	return ""
}

// TestNodeOIDCProviderOfflineAccess: node-oidc-provider (OpenID Certified)
// grants offline_access only with prompt=consent. With the default config
// authcli gets a refresh token and refreshes with rotation; a table that
// overrides prompt gets none, and login says so.
func TestNodeOIDCProviderOfflineAccess(t *testing.T) {
	issuer := startNodeOP(t)
	table := fmt.Sprintf("[providers.nodeop]\nkind = \"oidc\"\nissuer = %q\nclient_id = \"authcli-e2e\"\n", issuer)

	r := newRun(t).withBot("login=ada&password=any")
	r.config(table)
	res := r.exec("login", "nodeop", "--timeout", "60s")
	if res.code != 0 || !strings.Contains(res.stdout, "refresh:  yes") || strings.Contains(res.stderr, "no refresh token") {
		t.Fatalf("login with the default config: exit %d\n%s\n%s\nbrowser: %s", res.code, res.stdout, res.stderr, r.botPage())
	}
	first := r.exec("token", "nodeop", "--min-ttl", "8760h")
	second := r.exec("token", "nodeop", "--min-ttl", "8760h", "--id-token")
	if first.code != 0 || second.code != 0 || second.stdout == "" {
		t.Fatalf("refreshes: exit %d (%s), exit %d (%s)", first.code, first.stderr, second.code, second.stderr)
	}

	r2 := newRun(t).withBot("login=ada&password=any")
	r2.config(table + "auth_params = { prompt = \"login\" }\n")
	res = r2.exec("login", "nodeop", "--timeout", "60s")
	if res.code != 0 || !strings.Contains(res.stdout, "refresh:  no") || !strings.Contains(res.stderr, "gave no refresh token although offline access was asked for") {
		t.Fatalf("login without consent: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}
