package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/flow"
	"github.com/authcli/authcli/internal/oidctest"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// forever as MinTTL makes every stored token too old: a forced refresh.
const forever = 100 * 365 * 24 * time.Hour

type fixture struct {
	t   *testing.T
	op  *oidctest.OP
	svc *Service
	dir string
}

// newFixture is a Service over a real file vault and accounts store in a
// temp dir, with provider corp at an oidctest provider, signed in once.
func newFixture(t *testing.T, extra string) *fixture {
	t.Helper()
	op := oidctest.New(t)
	op.Rotate = true
	dir := t.TempDir()
	toml := fmt.Sprintf("[providers.corp]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\nscopes = [\"openid\", \"email\"]\n%s", op.Issuer(), oidctest.ClientID, extra)
	f, err := config.Parse(filepath.Join(dir, "config.toml"), []byte(toml), func(string) string { return "" }, provider.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := vault.KeyFromBytes(make([]byte, 32))
	v, err := vault.OpenFile(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{
		Config: func() (*config.File, error) { return f, nil },
		Store:  accounts.OpenStore(dir), Vault: v, StateDir: dir,
		HTTP: flow.NewHTTPClient(10 * time.Second),
	}
	fx := &fixture{t: t, op: op, svc: svc, dir: dir}
	if _, err := svc.SignIn(context.Background(), SignIn{Provider: "corp", Open: followRedirects, Timeout: 20 * time.Second}); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	return fx
}

// followRedirects plays the browser: oidctest's authorize redirects
// straight back to the listener.
func followRedirects(ctx context.Context, u string) error {
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	return nil
}

func (fx *fixture) stored() tokens.Record {
	fx.t.Helper()
	rec, err := fx.svc.source(false).Read("corp/" + oidctest.Subject)
	if err != nil {
		fx.t.Fatal(err)
	}
	return rec
}

func (fx *fixture) identity() accounts.Identity {
	fx.t.Helper()
	st, err := fx.svc.Store.Load()
	if err != nil {
		fx.t.Fatal(err)
	}
	_, id, err := st.Find("corp", "")
	if err != nil {
		fx.t.Fatal(err)
	}
	return id
}

func TestFreshCachedAndRefreshed(t *testing.T) {
	fx := newFixture(t, "")
	first := fx.stored()
	if first.Issuer != fx.op.Issuer() || first.JWKSURL == "" || first.TokenURL == "" {
		t.Fatalf("the sign-in did not record the endpoints a refresh needs: %+v", first.Endpoints)
	}
	ctx := context.Background()

	rec, err := fx.svc.Fresh(ctx, Want{Provider: "corp", MinTTL: time.Minute})
	if err != nil || rec.AccessToken != first.AccessToken || fx.op.Refreshes() != 0 {
		t.Fatalf("cached: %v, %d refreshes", err, fx.op.Refreshes())
	}

	rec, err = fx.svc.Fresh(ctx, Want{Provider: "corp", MinTTL: forever, IDToken: true})
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fx.op.Refreshes() != 1 || rec.RefreshToken != fx.op.RefreshToken || rec.RefreshToken == first.RefreshToken {
		t.Fatalf("rotation not kept: %d refreshes", fx.op.Refreshes())
	}
	if rec.IDToken == "" || rec.IDToken == first.IDToken {
		t.Error("the refreshed ID token was not kept (OIDC Core 12.2 re-verification skipped)")
	}
	if got := fx.stored(); got.RefreshToken != rec.RefreshToken {
		t.Error("the rotated refresh token was handed out before it was stored")
	}
	if id := fx.identity(); !id.Refreshable || id.TokenExpiry.IsZero() {
		t.Errorf("accounts store not updated after the refresh: %+v", id)
	}
}

func TestFreshNotRotated(t *testing.T) {
	fx := newFixture(t, "")
	fx.op.Rotate = false
	before := fx.stored().RefreshToken
	if _, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever}); err != nil {
		t.Fatal(err)
	}
	if got := fx.stored().RefreshToken; got != before {
		t.Error("a refresh token that did not rotate was replaced")
	}
}

func TestFreshRejected(t *testing.T) {
	for _, code := range []string{"invalid_grant", "invalid_request"} {
		t.Run(code, func(t *testing.T) {
			fx := newFixture(t, "")
			fx.op.RefuseRefresh = code
			_, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever})
			if !errors.Is(err, ErrSignInRequired) {
				t.Fatalf("err = %v, want ErrSignInRequired", err)
			}
			if id := fx.identity(); !id.NeedsSignIn || id.Refreshable || !id.TokenExpiry.IsZero() {
				t.Errorf("identity not marked as needing sign-in: %+v", id)
			}
		})
	}
}

func TestFreshServerErrorIsNotARejection(t *testing.T) {
	fx := newFixture(t, "")
	fx.op.RefuseRefresh = "server_error"
	_, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever})
	if err == nil || errors.Is(err, ErrSignInRequired) {
		t.Fatalf("err = %v: a passing provider failure must not demand a new sign-in", err)
	}
	if fx.identity().NeedsSignIn {
		t.Error("identity marked as needing sign-in after a server_error")
	}
}

// TestFailedCheckAfterRotation: the provider rotated, then its answer
// fails a check. The new refresh token is kept, nothing of the answer is
// handed out, and the next refresh presents the new token.
func TestFailedCheckAfterRotation(t *testing.T) {
	tests := []struct {
		name string
		edit func(op *oidctest.OP)
	}{
		{"another subject", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["sub"] = "mallory" } }},
		{"another audience", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["aud"] = "someone-else" } }},
		{"another issuer", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["iss"] = "https://evil.example" } }},
		{"expired", func(op *oidctest.OP) {
			op.Claims = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }
		}},
		{"tampered signature", func(op *oidctest.OP) { op.IDToken = oidctest.TamperSignature }},
		{"alg none", func(op *oidctest.OP) { op.IDToken = oidctest.AlgNone }},
		{"unknown token type", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { b["token_type"] = "DPoP" } }},
		{"no access token", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { delete(b, "access_token") } }},
		{"hidden key", func(op *oidctest.OP) { op.HideNewestKey = true; op.RotateKey() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, "")
			tt.edit(fx.op)
			_, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever})
			if !errors.Is(err, flow.ErrRefreshCheck) {
				t.Fatalf("err = %v, want ErrRefreshCheck", err)
			}
			got := fx.stored()
			if got.RefreshToken != fx.op.RefreshToken {
				t.Fatal("the rotated refresh token was lost")
			}
			if got.AccessToken != "" || got.IDToken != "" {
				t.Error("tokens of an answer that failed a check were kept for use")
			}
			fx.op.Claims, fx.op.IDToken, fx.op.TokenBody, fx.op.HideNewestKey = nil, nil, nil, false
			fx.op.RotateKey()
			if _, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: time.Minute}); err != nil {
				t.Fatalf("the refresh after the failed check did not present the kept token: %v", err)
			}
		})
	}
}

// TestRotatedKeysAreFetchedAgain: the keys are cached before the grant; an
// ID token under a new key makes one fetch, after the rotated refresh
// token was kept.
func TestRotatedKeysAreFetchedAgain(t *testing.T) {
	fx := newFixture(t, "")
	ctx := context.Background()
	if _, err := fx.svc.Fresh(ctx, Want{Provider: "corp", MinTTL: forever}); err != nil {
		t.Fatal(err)
	}
	fx.op.RotateKey()
	rec, err := fx.svc.Fresh(ctx, Want{Provider: "corp", MinTTL: forever, IDToken: true})
	if err != nil || rec.IDToken == "" {
		t.Fatalf("after a key rotation: %v", err)
	}
}

// TestRefreshOutlivesTheCaller: a caller whose context ends (a signal)
// once the grant has begun still gets it finished and stored.
func TestRefreshOutlivesTheCaller(t *testing.T) {
	fx := newFixture(t, "")
	job := Job{Provider: "corp", Subject: oidctest.Subject, Want: tokens.Want{MinTTL: forever}}
	lock, err := fx.svc.source(false).Lock(context.Background(), job.key())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fx.svc.Refresh(ctx, job, lock); err != nil {
		t.Fatalf("a cancelled caller cut the refresh: %v", err)
	}
	if fx.stored().RefreshToken != fx.op.RefreshToken || fx.op.Refreshes() != 1 {
		t.Fatal("the grant did not complete and store")
	}
}

// TestWaiterUsesTheOtherRefresh: a caller that waited on the lock while
// another process refreshed uses that result and spends nothing.
func TestWaiterUsesTheOtherRefresh(t *testing.T) {
	fx := newFixture(t, "")
	src := fx.svc.source(false)
	key := "corp/" + oidctest.Subject
	lock, err := src.Lock(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		_, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: 2 * time.Hour})
		got <- err
	}()
	// The "other process": store a newer record while holding the lock.
	time.Sleep(50 * time.Millisecond)
	rec := fx.stored()
	rec.AccessToken, rec.Expiry, rec.UpdatedAt = "from-the-other-process", time.Now().Add(3*time.Hour), time.Now()
	b, _ := rec.Encode()
	if err := fx.svc.Vault.Set(key, b); err != nil {
		t.Fatal(err)
	}
	lock.Unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if fx.op.Refreshes() != 0 {
		t.Errorf("the waiter refreshed again (%d grants)", fx.op.Refreshes())
	}
}

func TestFreshWhoIsAskedFor(t *testing.T) {
	fx := newFixture(t, "[providers.other]\nkind = \"oidc\"\nissuer = \"https://other.example\"\nclient_id = \"x\"\n"+
		"[providers.broken]\nkind = \"oidc\"\nclient_id = \"x\"\n"+
		"[providers.robot]\nkind = \"oidc\"\nissuer = \"https://robot.example\"\nclient_id = \"r\"\nclient_secret = \"s\"\ngrant = \"client_credentials\"\ntoken_url = \"http://127.0.0.1:1/token\"\n")
	ctx := context.Background()
	tests := []struct {
		name string
		want Want
		is   error
	}{
		{"configured, never signed in", Want{Provider: "other"}, ErrNoIdentity},
		{"not configured", Want{Provider: "nosuch"}, config.ErrUnknownProvider},
		{"a table with a problem", Want{Provider: "broken"}, errConfig},
		{"unknown account", Want{Provider: "corp", Account: "nobody"}, accounts.ErrNoAccount},
		{"unknown subject", Want{Provider: "corp", Subject: "nobody"}, ErrNoIdentity},
		{"machine identity, provider down", Want{Provider: "robot"}, flow.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := fx.svc.Fresh(ctx, tt.want)
			if tt.is == errConfig {
				if !isConfigError(err) || !strings.Contains(err.Error(), "issuer") {
					t.Fatalf("err = %v, want the table's config problem", err)
				}
				return
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
		})
	}
	if _, err := fx.svc.Fresh(ctx, Want{Provider: "corp", Subject: oidctest.Subject}); err != nil {
		t.Errorf("--subject of the signed-in identity: %v", err)
	}
}

func TestLogoutForgetsTokens(t *testing.T) {
	fx := newFixture(t, "")
	ids, err := fx.svc.Logout(context.Background(), Logout{Provider: "corp"})
	if len(ids) != 1 || (err != nil && !errors.Is(err, tokens.ErrRevocation)) {
		t.Fatalf("logout: %v %v", ids, err)
	}
	if _, err := fx.svc.Vault.Get("corp/" + oidctest.Subject); !errors.Is(err, vault.ErrNotFound) {
		t.Error("tokens kept after logout")
	}
	id := fx.identity()
	if !id.NeedsSignIn || id.Refreshable || !id.TokenExpiry.IsZero() {
		t.Errorf("status after logout: %+v", id)
	}
	_, err = fx.svc.Fresh(context.Background(), Want{Provider: "corp"})
	if !errors.Is(err, ErrSignInRequired) || !strings.Contains(err.Error(), "no tokens are stored") {
		t.Errorf("token after logout: %v", err)
	}
}

// errConfig matches any *config.Error: the table's own problem, reported
// as a configuration error rather than "no identity".
var errConfig = errors.New("a config error")

func isConfigError(err error) bool {
	var ce *config.Error
	return errors.As(err, &ce)
}

// TestMachineIdentity: a client-credentials table mints its first token,
// serves it from the vault while valid, and mints again when asked.
func TestMachineIdentity(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{Clients: []devidp.Client{{ID: "robot", Secret: "s3cret"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	fx := newFixture(t, fmt.Sprintf("[providers.robot]\nkind = \"oidc\"\nissuer = %q\nclient_id = \"robot\"\nclient_secret = \"s3cret\"\ngrant = \"client_credentials\"\nscopes = [\"api\"]\n", idp.Issuer()))
	ctx := context.Background()
	first, err := fx.svc.Fresh(ctx, Want{Provider: "robot", MinTTL: time.Minute})
	if err != nil || first.AccessToken == "" {
		t.Fatalf("first machine token: %v", err)
	}
	again, err := fx.svc.Fresh(ctx, Want{Provider: "robot", MinTTL: time.Minute})
	if err != nil || again.AccessToken != first.AccessToken || idp.Stats().ClientCredentialsGrants != 1 {
		t.Fatalf("cached machine token: %v, %d grants", err, idp.Stats().ClientCredentialsGrants)
	}
	if _, err := fx.svc.Fresh(ctx, Want{Provider: "robot", MinTTL: forever}); err != nil || idp.Stats().ClientCredentialsGrants != 2 {
		t.Fatalf("forced: %v, %d grants", err, idp.Stats().ClientCredentialsGrants)
	}
	if _, err := fx.svc.SignIn(ctx, SignIn{Provider: "robot"}); !errors.Is(err, ErrNoBrowserSignIn) {
		t.Errorf("sign-in of a machine identity: %v", err)
	}
}

func TestUnlinkRefusesTheLastIdentity(t *testing.T) {
	fx := newFixture(t, "")
	_, err := fx.svc.Unlink(context.Background(), "", "corp", "")
	if !errors.Is(err, accounts.ErrLastIdentity) {
		t.Fatalf("err = %v, want ErrLastIdentity", err)
	}
	if fx.stored().AccessToken == "" {
		t.Error("a refused unlink deleted the tokens")
	}
}

// TestStoredIsWhatAnotherProcessWrote: what a detached refresher reads back.
func TestStoredIsWhatAnotherProcessWrote(t *testing.T) {
	fx := newFixture(t, "")
	job := Job{Provider: "corp", Subject: oidctest.Subject, Want: tokens.Want{IDToken: true}}
	rec, err := fx.svc.Stored(job)
	if err != nil || rec.IDToken == "" {
		t.Fatalf("Stored: %v", err)
	}
	rec.IDToken = ""
	b, _ := rec.Encode()
	_ = fx.svc.Vault.Set(job.key(), b)
	if _, err := fx.svc.Stored(job); !errors.Is(err, ErrSignInRequired) {
		t.Errorf("a refresh that brought no ID token: %v", err)
	}
}

func TestSignInWarnsWithoutOfflineToken(t *testing.T) {
	op := oidctest.New(t)
	op.TokenBody = func(b map[string]any) { delete(b, "refresh_token") }
	dir := t.TempDir()
	toml := fmt.Sprintf("[providers.corp]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", op.Issuer(), oidctest.ClientID)
	f, err := config.Parse(filepath.Join(dir, "config.toml"), []byte(toml), func(string) string { return "" }, provider.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := vault.KeyFromBytes(make([]byte, 32))
	v, _ := vault.OpenFile(dir, key)
	svc := &Service{Config: func() (*config.File, error) { return f, nil }, Store: accounts.OpenStore(dir), Vault: v, StateDir: dir}
	done, err := svc.SignIn(context.Background(), SignIn{Open: followRedirects, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !done.NoOfflineToken || done.Resolution.Outcome != accounts.Created {
		t.Errorf("NoOfflineToken %t, outcome %v", done.NoOfflineToken, done.Resolution.Outcome)
	}
	if got := op.AuthRequests()[0].Get("prompt"); got != "consent" {
		t.Errorf("prompt = %q, want consent with offline_access", got)
	}
}

// TestVerboseLogSaysWhatARefreshDoesWithoutTokens: -v diagnostics name the
// steps of a refresh and never a token.
func TestVerboseLogSaysWhatARefreshDoesWithoutTokens(t *testing.T) {
	fx := newFixture(t, "")
	var log strings.Builder
	fx.svc.Logf = func(format string, args ...any) { fmt.Fprintf(&log, format+"\n", args...) }
	before := fx.stored()
	rec, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever})
	if err != nil {
		t.Fatal(err)
	}
	got := log.String()
	for _, want := range []string{"refreshing the corp tokens at " + before.TokenURL, "refresh token rotated: true"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	for _, secret := range []string{before.RefreshToken, rec.RefreshToken, rec.AccessToken, rec.IDToken} {
		if strings.Contains(got, secret) {
			t.Fatal("a token reached the -v log")
		}
	}
}

func TestLogoutChoices(t *testing.T) {
	fx := newFixture(t, "")
	ctx := context.Background()
	if _, err := fx.svc.Logout(ctx, Logout{Account: "nobody"}); !errors.Is(err, accounts.ErrNoAccount) {
		t.Errorf("unknown account: %v", err)
	}
	account := fx.svc.mustState(t).Accounts[0].Name
	if ids, _ := fx.svc.Logout(ctx, Logout{Account: account}); len(ids) != 1 {
		t.Errorf("--account: %v", ids)
	}
	if ids, _ := fx.svc.Logout(ctx, Logout{All: true}); len(ids) != 1 {
		t.Errorf("--all: %v", ids)
	}
}

func (s *Service) mustState(t *testing.T) *accounts.State {
	t.Helper()
	st, err := s.Store.Load()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestProviderRemovedFromConfig: tokens of a provider whose table is gone
// cannot be refreshed, and the error says why.
func TestProviderRemovedFromConfig(t *testing.T) {
	fx := newFixture(t, "")
	empty, err := config.Parse(filepath.Join(fx.dir, "config.toml"), []byte("[providers.other]\nkind = \"oidc\"\nissuer = \"https://o.example\"\nclient_id = \"x\"\n"), func(string) string { return "" }, provider.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	fx.svc.Config = func() (*config.File, error) { return empty, nil }
	if _, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever}); !errors.Is(err, ErrProviderGone) {
		t.Errorf("err = %v, want ErrProviderGone", err)
	}
}

// newDevService is a Service with a file vault in a fresh state directory
// and one provider, "local", the embedded demo provider (client
// devidp.DemoClientID); client nil means the Service's default.
func newDevService(t *testing.T, client *http.Client) (*Service, *devidp.Server) {
	t.Helper()
	idp, err := devidp.Start(devidp.Options{DevicePollInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	dir := t.TempDir()
	toml := fmt.Sprintf("[providers.local]\nkind = \"oidc\"\nissuer = %q\nclient_id = %q\n", idp.Issuer(), devidp.DemoClientID)
	f, err := config.Parse(filepath.Join(dir, "config.toml"), []byte(toml), func(string) string { return "" }, provider.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := vault.KeyFromBytes(make([]byte, 32))
	v, _ := vault.OpenFile(dir, key)
	return &Service{Config: func() (*config.File, error) { return f, nil }, Store: accounts.OpenStore(dir), Vault: v, StateDir: dir, HTTP: client}, idp
}

// deviceSignIn signs in to newDevService's provider with the device grant,
// no browser being available, approved at once as the first demo user.
func deviceSignIn(t *testing.T, svc *Service, idp *devidp.Server, said io.Writer) (*SignedIn, error) {
	t.Helper()
	return svc.SignIn(context.Background(), SignIn{
		Open:       func(context.Context, string) error { t.Error("a browser was opened"); return nil },
		AutoDevice: true, BrowserAvailable: func() bool { return false },
		Stderr: said, Timeout: 30 * time.Second,
		OnCode: func(code, _ string) { go func() { _ = idp.ApproveDevice(code, devidp.DemoUsers()[0].Email) }() },
	})
}

// TestSignInSwitchesToTheDeviceGrant: no browser can open here and the
// provider offers the device grant, so the sign-in uses it.
func TestSignInSwitchesToTheDeviceGrant(t *testing.T) {
	svc, idp := newDevService(t, nil)
	var said strings.Builder
	done, err := deviceSignIn(t, svc, idp, &said)
	if err != nil {
		t.Fatalf("device sign-in: %v\n%s", err, said.String())
	}
	if done.Result.Token.RefreshToken == "" || !strings.Contains(said.String(), "code you enter on a page of the provider") {
		t.Errorf("refresh token %t; said %q", done.Result.Token.RefreshToken != "", said.String())
	}
}

// pathCounter counts the requests a client makes, by path.
type pathCounter struct {
	mu   sync.Mutex
	seen map[string]int
	next http.RoundTripper
}

func (c *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.seen[r.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *pathCounter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[path]
}

// TestLogoutUsesTheStoredRevocationEndpoint: the revocation endpoint the
// sign-in learnt from discovery is stored with the tokens, and logout uses
// it as is: one revocation request, no discovery.
func TestLogoutUsesTheStoredRevocationEndpoint(t *testing.T) {
	counter := &pathCounter{seen: map[string]int{}, next: http.DefaultTransport}
	svc, idp := newDevService(t, &http.Client{Transport: counter, Timeout: 10 * time.Second})
	_, err := deviceSignIn(t, svc, idp, io.Discard)
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	discoveries := counter.count("/.well-known/openid-configuration")
	ids, err := svc.Logout(context.Background(), Logout{Provider: "local"})
	if err != nil || len(ids) != 1 {
		t.Fatalf("logout: %v %v", ids, err)
	}
	if got := counter.count("/.well-known/openid-configuration") - discoveries; got != 0 {
		t.Errorf("logout fetched the discovery document %d times; the record knows the revocation endpoint", got)
	}
	if idp.Stats().Revocations != 1 {
		t.Errorf("%d revocations at the provider, want 1", idp.Stats().Revocations)
	}
}

// TestRefreshLeavesAccountsJSON: a refresh stores the new tokens in the
// vault and notes the new expiry for status beside accounts.json; it does
// not rewrite accounts.json, whose size grows with every identity.
func TestRefreshLeavesAccountsJSON(t *testing.T) {
	fx := newFixture(t, "")
	path := filepath.Join(fx.dir, accounts.FileName)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old, digest := fx.identity(), fx.stored().Profile
	rec, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever})
	if err != nil {
		t.Fatal(err)
	}
	if digest == "" || fx.stored().Profile != digest {
		t.Errorf("the record's profile digest went from %q to %q: a refresh does not change the profile", digest, fx.stored().Profile)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the refresh rewrote accounts.json")
	}
	id := fx.identity()
	if !id.TokenExpiry.Equal(rec.Expiry.UTC()) || !id.LastUsedAt.After(old.LastUsedAt) || !id.Refreshable {
		t.Errorf("status after the refresh: %+v (the refreshed token expires %s)", id, rec.Expiry)
	}
}

// TestRefreshedOnceStored: Refreshed (a detached refresh's report to its
// caller) comes once the rotated tokens are in the vault, exactly once,
// and not for a refresh that failed.
func TestRefreshedOnceStored(t *testing.T) {
	fx := newFixture(t, "")
	first := fx.stored()
	calls := 0
	fx.svc.Refreshed = func() {
		calls++
		if got := fx.stored(); got.RefreshToken == first.RefreshToken || got.RefreshToken != fx.op.RefreshToken {
			t.Error("Refreshed came before the rotated refresh token was stored")
		}
	}
	if _, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever}); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("Refreshed called %d times for one refresh, want 1", calls)
	}
	fx.op.RefuseRefresh = "invalid_grant"
	if _, err := fx.svc.Fresh(context.Background(), Want{Provider: "corp", MinTTL: forever}); err == nil {
		t.Fatal("a refused refresh succeeded")
	}
	if calls != 1 {
		t.Errorf("Refreshed called for a refused refresh")
	}
}

// lookupSignal closes looked when the accounts index is first asked for
// an identity.
type lookupSignal struct {
	*accounts.Store
	once   sync.Once
	looked chan struct{}
}

func (s *lookupSignal) Lookup(provider, account, subject string) (accounts.Ref, error) {
	s.once.Do(func() { close(s.looked) })
	return s.Store.Lookup(provider, account, subject)
}

// TestSignInLooksUpWhileUserinfoAnswers: a sign-in looks its identity up
// once the ID token is verified, while userinfo is still on its way
// (userinfo here holds its answer for the lookup, at most 5 s).
func TestSignInLooksUpWhileUserinfoAnswers(t *testing.T) {
	fx := newFixture(t, "")
	store := &lookupSignal{Store: fx.svc.Store.(*accounts.Store), looked: make(chan struct{})}
	fx.svc.Store = store
	var early atomic.Bool
	fx.op.Userinfo = func(map[string]any) {
		select {
		case <-store.looked:
			early.Store(true)
		case <-time.After(5 * time.Second):
		}
	}
	got, err := fx.svc.SignIn(context.Background(), SignIn{Provider: "corp", Open: followRedirects, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if got.Resolution.Outcome != accounts.Known || !early.Load() {
		t.Errorf("outcome %v; looked up before userinfo answered: %t", got.Resolution.Outcome, early.Load())
	}
}
