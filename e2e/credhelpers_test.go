package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// realTool finds a real client program; locally its absence skips the
// test, in CI it fails it (.ci/run installs them).
func realTool(t *testing.T, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; CI must install it (%s)", name, install)
		}
		t.Skipf("%s is not installed: this end-to-end test runs the real one (%s)", name, install)
	}
	return p
}

// tlsServer serves h over HTTPS on 127.0.0.1 and writes its certificate,
// which the clients are told to trust, to dir/ca.crt.
func tlsServer(t *testing.T, h http.Handler) (srv *httptest.Server, host, caFile string) {
	t.Helper()
	srv = httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	caFile = filepath.Join(dir, "ca.crt")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, srv.Listener.Addr().String(), caFile
}

// voucher asks the provider about a token the way a resource server
// would: its userinfo endpoint answers only for a live access token.
type voucher struct {
	userinfo string
	// refused counts requests with credentials that a stand-in turned
	// away (git's first, anonymous request is not one of them).
	refused atomic.Int32
}

func newVoucher(t *testing.T, issuer string) *voucher {
	t.Helper()
	resp, err := http.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Userinfo string `json:"userinfo_endpoint"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || d.Userinfo == "" {
		t.Fatalf("discovery: %v", err)
	}
	return &voucher{userinfo: d.Userinfo}
}

// vouches reports whether the provider says token is ada's live token.
func (v *voucher) vouches(ctx context.Context, token string) bool {
	if token == "" {
		return false
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, v.userinfo, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var claims struct {
		Sub string `json:"sub"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&claims) == nil && claims.Sub == "ada"
}

// basicAuth lets through requests whose HTTP Basic password the provider
// vouches for, sent with the expected user name.
func (v *voucher) basicAuth(username, realm string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != username || !v.vouches(r.Context(), p) {
			if r.Header.Get("Authorization") != "" {
				v.refused.Add(1)
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// shifted is a provider clock that can be moved forward.
type shifted struct{ offset atomic.Int64 }

func (s *shifted) now() time.Time          { return time.Now().Add(time.Duration(s.offset.Load())) }
func (s *shifted) advance(d time.Duration) { s.offset.Add(int64(d)) }

// storedToken is ada's current record in the vault.
func storedToken(t *testing.T, v vault.Vault) tokens.Record {
	t.Helper()
	b, err := v.Get("local/ada")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tokens.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// tool runs a real client with the run's environment plus extra.
func (r *run) tool(dir string, extra []string, name string, args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, r.env...), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			r.t.Fatalf("%s %v: %v", name, args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

// execIn is exec with stdin.
func (r *run) execIn(stdin string, extra []string, args ...string) result {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, authcliBin, args...)
	cmd.Env = append(append([]string{}, r.env...), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		r.t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// TestGitCloneWithSetupGit: Debian's git clones over smart HTTP from a
// server that takes only a token the provider vouches for, configured by
// nothing but authcli setup-git; again after the token expired, when the
// helper refreshes; and not at all once the identity is signed out.
func TestGitCloneWithSetupGit(t *testing.T) {
	git := realTool(t, "git", "apt-get install git")
	execPath, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	clock := &shifted{}
	idp, r, v := signedIn(t, devidp.Options{Now: clock.now})
	vouch := newVoucher(t, idp.Issuer())

	// A bare repository with one commit, served by git http-backend.
	root := t.TempDir()
	src := t.TempDir()
	hermetic := []string{"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}
	for _, args := range [][]string{
		{"init", "-q", "-b", "main", src},
		{"-C", src, "-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-q", "--allow-empty", "-m", "the first program"},
		{"clone", "-q", "--bare", src, filepath.Join(root, "engine.git")},
	} {
		if res := r.tool("", hermetic, git, args...); res.code != 0 {
			t.Fatalf("git %v: %s", args, res.stderr)
		}
	}
	cgiEnv := []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}
	srv, host, ca := tlsServer(t, vouch.basicAuth("oauth2", "git", &cgi.Handler{Path: backend, Env: cgiEnv}))
	gitEnv := append(hermetic, "GIT_SSL_CAINFO="+ca)
	repoURL := srv.URL + "/engine.git"

	clone := func(dest string) result {
		return r.tool("", gitEnv, git, "clone", "-q", repoURL, filepath.Join(r.dir, dest))
	}
	if res := clone("before-setup"); res.code == 0 {
		t.Fatal("the server let git clone without credentials")
	}
	refusedBefore := vouch.refused.Load()

	res := r.exec("setup-git", "local", "--host", host)
	if res.code != 0 {
		t.Fatalf("setup-git: exit %d\n%s", res.code, res.stderr)
	}
	mustContain(t, "setup-git output", res.stdout, "added credential.https://"+host+".helper", `added [git."`+host+`"] provider = "local"`, "user name oauth2")
	gitconfig, _ := os.ReadFile(filepath.Join(r.dir, ".gitconfig"))

	if res := clone("first"); res.code != 0 {
		t.Fatalf("clone after setup-git: exit %d\n%s", res.code, res.stderr)
	}
	if log := r.tool(filepath.Join(r.dir, "first"), hermetic, git, "log", "--format=%s"); log.stdout != "the first program\n" {
		t.Errorf("cloned log %q %s", log.stdout, log.stderr)
	}
	if st := idp.Stats(); st.RefreshGrants != 0 {
		t.Errorf("a valid token caused %d refreshes", st.RefreshGrants)
	}

	// Idempotent: the second run writes nothing.
	res = r.exec("setup-git", "local", "--host", host)
	mustContain(t, "second setup-git", res.stdout, "unchanged credential.https://", `unchanged [git."`+host+`"]`)
	if again, _ := os.ReadFile(filepath.Join(r.dir, ".gitconfig")); !bytes.Equal(again, gitconfig) {
		t.Errorf("the second setup-git changed .gitconfig:\n%s\n---\n%s", gitconfig, again)
	}

	// An hour and more later: the provider no longer takes the old token,
	// and authcli's record says it expired.
	old := storedToken(t, v)
	clock.advance(2 * time.Hour)
	expire(t, v, "local/ada")
	if vouch.vouches(context.Background(), old.AccessToken) {
		t.Fatal("the provider still vouches for the expired token")
	}
	if res := clone("after-expiry"); res.code != 0 {
		t.Fatalf("clone after the token expired: exit %d\n%s", res.code, res.stderr)
	}
	if st := idp.Stats(); st.RefreshGrants != 1 {
		t.Errorf("the provider saw %d refreshes, want 1", st.RefreshGrants)
	}
	if now := storedToken(t, v); now.AccessToken == old.AccessToken {
		t.Error("the refreshed token was not stored")
	}
	if n := vouch.refused.Load(); n != refusedBefore {
		t.Errorf("the server refused %d requests after setup-git", n-refusedBefore)
	}

	// Signed out: git gets nothing, and the helper names the command.
	if res := r.exec("logout", "local"); res.code != 0 {
		t.Fatalf("logout: %s", res.stderr)
	}
	res = clone("signed-out")
	if res.code == 0 {
		t.Fatal("git cloned with a signed-out identity")
	}
	mustContain(t, "git's stderr", res.stderr, "authcli: the local tokens cannot be refreshed", "sign in again with: authcli login local")
}

// TestGitCredentialProtocol drives the helper the way git does.
func TestGitCredentialProtocol(t *testing.T) {
	_, r, v := signedIn(t, devidp.Options{})
	if res := r.exec("setup-git", "local", "--host", "git.example:8443", "--username", "ada"); res.code != 0 {
		t.Fatalf("setup-git: %d %s", res.code, res.stderr)
	}
	rec := storedToken(t, v)
	res := r.execIn("protocol=https\nhost=git.example:8443\npath=engine.git\n\n", nil, "git-credential", "get")
	want := fmt.Sprintf("username=ada\npassword=%s\npassword_expiry_utc=%d\n", rec.AccessToken, rec.Expiry.Unix())
	if res.code != 0 || res.stdout != want || res.stderr != "" {
		t.Errorf("get: exit %d, stdout as wanted: %t, stderr %q", res.code, res.stdout == want, res.stderr)
	}
	// Hosts it was not set up for, and plain http: no answer, exit 0.
	for _, in := range []string{"protocol=https\nhost=github.com\n", "protocol=http\nhost=git.example:8443\n"} {
		if res := r.execIn(in, nil, "git-credential", "get"); res.code != 0 || res.stdout != "" {
			t.Errorf("%q: exit %d stdout %q", in, res.code, res.stdout)
		}
	}
	// store and erase of someone else's password leave authcli's tokens.
	for _, action := range []string{"store", "erase"} {
		if res := r.execIn("protocol=https\nhost=git.example:8443\nusername=ada\npassword=typed\n", nil, "git-credential", action); res.code != 0 || res.stdout != "" {
			t.Errorf("%s: exit %d %q %q", action, res.code, res.stdout, res.stderr)
		}
	}
	if after := storedToken(t, v); after.AccessToken != rec.AccessToken {
		t.Error("store or erase changed the stored token")
	}
	// Malformed input: exit 1 and one sentence.
	res = r.execIn("protocol=https\nhost\n", nil, "git-credential", "get")
	if res.code != 1 || strings.Count(res.stderr, "\n") != 1 || !strings.Contains(res.stderr, "malformed git credential input") {
		t.Errorf("malformed: exit %d %q", res.code, res.stderr)
	}
}

// TestKubectlWithSetupKubectl: the real kubectl calls a TLS API stand-in
// that accepts only ID tokens the provider signed for the client (what
// kube-apiserver --oidc-issuer-url does), its user configured by authcli
// setup-kubectl alone.
func TestKubectlWithSetupKubectl(t *testing.T) {
	kubectl := realTool(t, "kubectl", "the machine image ships /usr/bin/kubectl")
	idp, r, v := signedIn(t, devidp.Options{})
	ctx := context.Background()
	op, err := oidc.NewProvider(ctx, idp.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := op.Verifier(&oidc.Config{ClientID: devidp.DemoClientID})
	var calls atomic.Int32
	srv, _, ca := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		raw, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		tok, err := verifier.Verify(req.Context(), raw)
		w.Header().Set("Content-Type", "application/json")
		if err != nil || tok.Subject != "ada" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		fmt.Fprint(w, `{"major":"1","minor":"32","gitVersion":"v1.32.0-authcli-standin","platform":"linux/amd64"}`)
	}))
	kubeconfig := filepath.Join(r.dir, "kube", "config")
	r.setenv("KUBECONFIG=" + kubeconfig)
	for _, args := range [][]string{
		{"config", "set-cluster", "standin", "--server", srv.URL, "--certificate-authority", ca, "--embed-certs"},
		{"config", "set-credentials", "admin", "--token", "not-a-real-token"},
		{"config", "set-context", "standin", "--cluster", "standin", "--user", "authcli-local"},
		{"config", "use-context", "standin"},
	} {
		if res := r.tool("", nil, kubectl, args...); res.code != 0 {
			t.Fatalf("kubectl %v: %s", args, res.stderr)
		}
	}
	before, _ := os.ReadFile(kubeconfig)
	if res := r.tool("", nil, kubectl, "get", "--raw", "/version"); res.code == 0 {
		t.Fatal("kubectl got through without credentials")
	}

	res := r.exec("setup-kubectl", "local", "--id-token")
	if res.code != 0 {
		t.Fatalf("setup-kubectl: exit %d\n%s", res.code, res.stderr)
	}
	mustContain(t, "setup-kubectl output", res.stdout, "added user authcli-local in "+kubeconfig, "--format exec-credential --id-token")
	after, _ := os.ReadFile(kubeconfig)
	if !bytes.HasPrefix(after, before) {
		t.Errorf("setup-kubectl changed what was there:\n%s\n---\n%s", before, after)
	}
	// authcli-ui did the edit (the lean authcli has no YAML), but kubectl
	// runs the lean authcli, as if that had done it.
	if !bytes.Contains(after, []byte("command: "+authcliBin+"\n")) {
		t.Errorf("the exec plugin does not run %s:\n%s", authcliBin, after)
	}

	res = r.tool("", nil, kubectl, "get", "--raw", "/version")
	if res.code != 0 || !strings.Contains(res.stdout, "v1.32.0-authcli-standin") {
		t.Fatalf("kubectl after setup-kubectl: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	// The stand-in is not fooled by the access token.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/version", nil)
	req.Header.Set("Authorization", "Bearer "+storedToken(t, v).AccessToken)
	if resp, err := srv.Client().Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the access token was accepted: %v", err)
	} else {
		resp.Body.Close()
	}

	res = r.exec("setup-kubectl", "local", "--id-token")
	if again, _ := os.ReadFile(kubeconfig); res.code != 0 || !bytes.Equal(again, after) || !strings.Contains(res.stdout, "unchanged user authcli-local") {
		t.Errorf("second setup-kubectl: exit %d %q, file changed: %t", res.code, res.stdout, !bytes.Equal(again, after))
	}

	// What kubectl reads, in the version it asks for.
	res = r.execIn("", []string{`KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`},
		"token", "local", "--id-token", "--format", "exec-credential")
	var cred struct {
		APIVersion string `json:"apiVersion"`
		Status     struct {
			Token               string `json:"token"`
			ExpirationTimestamp string `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &cred); err != nil || cred.APIVersion != "client.authentication.k8s.io/v1beta1" ||
		cred.Status.Token != storedToken(t, v).IDToken || cred.Status.ExpirationTimestamp == "" {
		t.Errorf("v1beta1 ExecCredential: exit %d %v %s", res.code, err, res.stderr)
	}

	// Signed out, not interactive: kubectl fails and shows the command.
	if res := r.exec("logout", "local"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	res = r.tool("", nil, kubectl, "get", "--raw", "/version")
	if res.code == 0 {
		t.Fatal("kubectl succeeded while signed out")
	}
	mustContain(t, "kubectl's stderr", res.stderr, "authcli login local")
}

// dockerLinkDir puts docker-credential-authcli, a link to the built
// binary, in a directory for PATH: one binary, two names.
func dockerLinkDir(t *testing.T) (dir, link string) {
	t.Helper()
	dir = t.TempDir()
	link = filepath.Join(dir, "docker-credential-authcli")
	if err := os.Symlink(authcliBin, link); err != nil {
		t.Fatal(err)
	}
	return dir, link
}

// TestSkopeoWithSetupDocker: Debian's skopeo lists tags at a registry
// stand-in that takes only a token the provider vouches for, reading
// credHelpers from ~/.docker/config.json as written by authcli setup-docker.
func TestSkopeoWithSetupDocker(t *testing.T) {
	skopeo := realTool(t, "skopeo", "apt-get install skopeo")
	idp, r, _ := signedIn(t, devidp.Options{})
	vouch := newVoucher(t, idp.Issuer())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		fmt.Fprint(w, "{}")
	})
	mux.HandleFunc("GET /v2/engine/analytical/tags/list", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"engine/analytical","tags":["1843","latest"]}`)
	})
	_, host, ca := tlsServer(t, vouch.basicAuth("oauth2", "registry", mux))
	linkDir, _ := dockerLinkDir(t)
	r.setenv("PATH="+linkDir+string(os.PathListSeparator)+os.Getenv("PATH"), "XDG_RUNTIME_DIR="+t.TempDir())
	certDir := filepath.Dir(ca)
	list := func() result {
		return r.tool("", nil, skopeo, "list-tags", "--cert-dir", certDir, "docker://"+host+"/engine/analytical")
	}
	if res := list(); res.code == 0 {
		t.Fatal("the registry listed tags without credentials")
	}

	res := r.exec("setup-docker", "local", "--registry", host)
	if res.code != 0 {
		t.Fatalf("setup-docker: exit %d\n%s", res.code, res.stderr)
	}
	if res.stderr != "" {
		t.Errorf("setup-docker warned although the helper is in PATH: %s", res.stderr)
	}
	cfgPath := filepath.Join(r.dir, ".docker", "config.json")
	mustContain(t, "setup-docker output", res.stdout, fmt.Sprintf("added credHelpers[%q] = \"authcli\" in %s", host, cfgPath))

	res = list()
	if res.code != 0 {
		t.Fatalf("skopeo after setup-docker: exit %d\n%s", res.code, res.stderr)
	}
	var tags struct{ Tags []string }
	if err := json.Unmarshal([]byte(res.stdout), &tags); err != nil || strings.Join(tags.Tags, ",") != "1843,latest" {
		t.Errorf("tags: %v %s", err, res.stdout)
	}
	if res := r.exec("providers"); !strings.Contains(res.stdout, "docker  "+host+"  local") {
		t.Errorf("providers does not list the route:\n%s", res.stdout)
	}
	var listed struct {
		Git, Docker []struct{ Host, Provider, Username string }
	}
	res = r.exec("providers", "--json")
	if err := json.Unmarshal([]byte(res.stdout), &listed); err != nil || len(listed.Git) != 0 || len(listed.Docker) != 1 ||
		listed.Docker[0].Host != host || listed.Docker[0].Provider != "local" || listed.Docker[0].Username != "oauth2" {
		t.Errorf("providers --json: %v %s", err, res.stdout)
	}
}

// TestDockerCredentialHelperClient speaks to docker-credential-authcli
// through docker-credential-helpers' own client package.
func TestDockerCredentialHelperClient(t *testing.T) {
	testDockerClient(t)
}

// TestExecCredentialInteractive: kubectl says the plugin may use the
// terminal, so a signed-out identity signs in first (the browser is the
// bot) and stdout still carries only the ExecCredential; without that
// permission it exits 3 with the command to run.
func TestExecCredentialInteractive(t *testing.T) {
	idp, r, _ := signedIn(t, devidp.Options{})
	if res := r.exec("logout", "local"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	info := func(interactive bool) []string {
		return []string{fmt.Sprintf(`KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":%t}}`, interactive)}
	}
	res := r.execIn("", info(false), "token", "local", "--format", "exec-credential")
	if res.code != 3 || res.stdout != "" {
		t.Fatalf("not interactive: exit %d stdout %q", res.code, res.stdout)
	}
	mustContain(t, "stderr", res.stderr, "authcli login local")
	if st := idp.Stats(); st.AuthCodeGrants != 1 {
		t.Fatalf("a non-interactive plugin signed in (%d sign-ins)", st.AuthCodeGrants)
	}

	res = r.execIn("", info(true), "token", "local", "--format", "exec-credential")
	if res.code != 0 {
		t.Fatalf("interactive: exit %d\n%s", res.code, res.stderr)
	}
	var cred struct {
		Kind   string                 `json:"kind"`
		Status struct{ Token string } `json:"status"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &cred); err != nil || cred.Kind != "ExecCredential" || cred.Status.Token == "" {
		t.Errorf("stdout is not one ExecCredential: %v %q", err, res.stdout)
	}
	mustContain(t, "stderr", res.stderr, "signing in now")
	if st := idp.Stats(); st.AuthCodeGrants != 2 {
		t.Errorf("%d sign-ins, want 2", st.AuthCodeGrants)
	}
}
