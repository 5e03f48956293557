package devidp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// harness is one provider plus one loopback "client" listener.
type harness struct {
	t        *testing.T
	srv      *Server
	provider *oidc.Provider
	http     *http.Client
	ctx      context.Context
	callback *httptest.Server
	got      chan url.Values
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	srv, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	hc := &http.Client{Timeout: 10 * time.Second}
	ctx = oidc.ClientContext(ctx, hc)
	provider, err := oidc.NewProvider(ctx, srv.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	h := &harness{t: t, srv: srv, provider: provider, http: hc, ctx: ctx, got: make(chan url.Values, 4)}
	h.callback = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback/demo" {
			http.NotFound(w, r)
			return
		}
		h.got <- r.URL.Query()
		_, _ = io.WriteString(w, "done")
	}))
	t.Cleanup(h.callback.Close)
	return h
}

func (h *harness) config(clientID, secret string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     clientID,
		ClientSecret: secret,
		Endpoint:     h.provider.Endpoint(),
		RedirectURL:  h.callback.URL + "/callback/demo",
		Scopes:       scopes,
	}
}

// callbackQuery returns what the loopback listener received.
func (h *harness) callbackQuery() url.Values {
	h.t.Helper()
	select {
	case q := <-h.got:
		return q
	case <-h.ctx.Done():
		h.t.Fatal("the client's redirect URI was never requested")
		return nil
	}
}

type signIn struct {
	token    *oauth2.Token
	rawID    string
	idToken  *oidc.IDToken
	nonce    string
	verifier string
}

// signIn runs a full code + PKCE sign-in as a public or confidential client.
func (h *harness) signIn(cfg *oauth2.Config, c Choice) signIn {
	h.t.Helper()
	verifier, state, nonce := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	if err := PlayBrowser(h.ctx, h.http, authURL, c); err != nil {
		h.t.Fatalf("PlayBrowser: %v", err)
	}
	q := h.callbackQuery()
	if q.Get("state") != state || q.Get("code") == "" {
		h.t.Fatalf("callback: want code and our state, got %v", q)
	}
	tok, err := cfg.Exchange(h.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		h.t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := h.provider.Verifier(&oidc.Config{ClientID: cfg.ClientID}).Verify(h.ctx, raw)
	if err != nil {
		h.t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != nonce {
		h.t.Fatalf("nonce: got %q want %q", idt.Nonce, nonce)
	}
	return signIn{token: tok, rawID: raw, idToken: idt, nonce: nonce, verifier: verifier}
}

// tokenCall posts a form to an endpoint and decodes the JSON answer.
func (h *harness) tokenCall(endpoint string, form url.Values) (int, map[string]any) {
	h.t.Helper()
	status, m, err := h.post(endpoint, form)
	if err != nil {
		h.t.Fatal(err)
	}
	return status, m
}

// post is tokenCall without t.Fatal, for use from other goroutines.
func (h *harness) post(endpoint string, form url.Values) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := h.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var m map[string]any
	if len(strings.TrimSpace(string(body))) > 0 && string(body) != "null" {
		if err := json.Unmarshal(body, &m); err != nil {
			return 0, nil, fmt.Errorf("POST %s: decode %q: %w", endpoint, body, err)
		}
	}
	return resp.StatusCode, m, nil
}

func (h *harness) refresh(rt string) (int, map[string]any) {
	h.t.Helper()
	return h.tokenCall(h.provider.Endpoint().TokenURL, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {DemoClientID},
	})
}

func (h *harness) discovery() map[string]any {
	h.t.Helper()
	var m map[string]any
	if err := h.provider.Claims(&m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) userinfo(accessToken string) (*oidc.UserInfo, error) {
	return h.provider.UserInfo(h.ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: accessToken, TokenType: "Bearer"}))
}

// noRedirects fetches one URL without following redirects.
func (h *harness) noRedirects(rawURL string) *http.Response {
	h.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		h.t.Fatalf("GET: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestCodeFlowWithPKCE(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid", "profile", "email")
	tests := []struct {
		choice       Choice
		wantSub      string
		wantEmail    string
		wantVerified bool
		wantName     string
	}{
		{Choice{}, "ada", "ada@example.com", true, "Ada Lovelace"},
		{Choice{User: "Grace@Example.com"}, "grace", "grace@example.com", true, "Grace Hopper"},
		{Choice{User: "alan"}, "alan", "alan@example.com", false, "Alan Turing"},
	}
	for _, tt := range tests {
		t.Run(tt.wantSub, func(t *testing.T) {
			si := h.signIn(cfg, tt.choice)
			var claims struct {
				Email         string `json:"email"`
				EmailVerified *bool  `json:"email_verified"`
				Name          string `json:"name"`
				Picture       string `json:"picture"`
			}
			if err := si.idToken.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if si.idToken.Subject != tt.wantSub || claims.Email != tt.wantEmail || claims.Name != tt.wantName || claims.Picture == "" {
				t.Errorf("ID token: sub %q claims %+v", si.idToken.Subject, claims)
			}
			if claims.EmailVerified == nil || *claims.EmailVerified != tt.wantVerified {
				t.Errorf("ID token email_verified = %v, want present and %v", claims.EmailVerified, tt.wantVerified)
			}
			if si.token.RefreshToken != "" {
				t.Error("refresh token issued without offline_access")
			}

			ui, err := h.userinfo(si.token.AccessToken)
			if err != nil {
				t.Fatalf("userinfo: %v", err)
			}
			var uiClaims map[string]any
			if err := ui.Claims(&uiClaims); err != nil {
				t.Fatal(err)
			}
			if ui.Subject != tt.wantSub || ui.Email != tt.wantEmail || ui.EmailVerified != tt.wantVerified ||
				uiClaims["name"] != tt.wantName || uiClaims["picture"] == nil {
				t.Errorf("userinfo = %+v claims %v", ui, uiClaims)
			}
			if _, ok := uiClaims["email_verified"]; !ok {
				t.Error("userinfo omits email_verified")
			}
		})
	}
	st := h.srv.Stats()
	if st.AuthCodeGrants != len(tests) || st.UserinfoRequests != len(tests) {
		t.Errorf("stats = %+v", st)
	}
}

func TestCodeIsSingleUse(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid")
	verifier := oauth2.GenerateVerifier()
	if err := PlayBrowser(h.ctx, h.http, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), Choice{}); err != nil {
		t.Fatal(err)
	}
	code := h.callbackQuery().Get("code")
	if _, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	_, err := cfg.Exchange(h.ctx, code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("second exchange: got %v, want invalid_grant", err)
	}
}

func TestDeny(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid")
	authURL := cfg.AuthCodeURL("the-state", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	login, err := h.noRedirects(authURL).Location()
	if err != nil {
		t.Fatal(err)
	}
	if err := PlayBrowser(h.ctx, h.http, login.String(), Choice{Deny: true}); err != nil {
		t.Fatalf("PlayBrowser: %v", err)
	}
	q := h.callbackQuery()
	if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("state") != "the-state" || q.Has("code") {
		t.Fatalf("callback = %v", q)
	}
	// The denied request is gone: its login page cannot be used again.
	if resp := h.noRedirects(login.String()); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("login page after deny: %d", resp.StatusCode)
	}
	if st := h.srv.Stats(); st.AuthCodeGrants != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPKCEPolicy(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid")
	tests := []struct {
		name string
		opts []oauth2.AuthCodeOption
	}{
		{"missing", nil},
		{"plain", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
			oauth2.SetAuthURLParam("code_challenge_method", "plain"),
		}},
		{"method omitted means plain", []oauth2.AuthCodeOption{
			oauth2.SetAuthURLParam("code_challenge", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.noRedirects(cfg.AuthCodeURL("st-"+tt.name, tt.opts...))
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d, want a redirect to the client", resp.StatusCode)
			}
			loc, err := resp.Location()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(loc.String(), cfg.RedirectURL) || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "st-"+tt.name {
				t.Fatalf("redirect to %s", loc.Redacted())
			}
		})
	}

	t.Run("wrong verifier", func(t *testing.T) {
		authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
		if err := PlayBrowser(h.ctx, h.http, authURL, Choice{}); err != nil {
			t.Fatal(err)
		}
		_, err := cfg.Exchange(h.ctx, h.callbackQuery().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("exchange with the wrong verifier: %v", err)
		}
	})

	disc := h.discovery()
	if got := disc["code_challenge_methods_supported"]; !slices.Equal(toStrings(got), []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v", got)
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, s := range list {
		str, _ := s.(string)
		out = append(out, str)
	}
	return out
}

func TestRefreshRotationAndReuseDetection(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid", "email", "offline_access")
	si := h.signIn(cfg, Choice{User: "grace"})
	rt1 := si.token.RefreshToken
	if rt1 == "" {
		t.Fatal("no refresh token with offline_access")
	}

	// x/oauth2's own refresh path works and rotates.
	tok, err := cfg.TokenSource(h.ctx, &oauth2.Token{RefreshToken: rt1}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	rt2 := tok.RefreshToken
	if rt2 == "" || rt2 == rt1 {
		t.Fatal("refresh did not return a new refresh token")
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := h.provider.Verifier(&oidc.Config{ClientID: DemoClientID}).Verify(h.ctx, raw)
	if err != nil || idt.Subject != "grace" {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if _, err := h.userinfo(tok.AccessToken); err != nil {
		t.Fatalf("userinfo with refreshed access token: %v", err)
	}

	// Reuse of the rotated-away token revokes the family.
	if status, body := h.refresh(rt1); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("reuse of old refresh token: %d %v", status, body)
	}
	if status, body := h.refresh(rt2); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("newest refresh token after reuse: %d %v, want invalid_grant", status, body)
	}
	if _, err := h.userinfo(tok.AccessToken); err == nil {
		t.Error("access token of a revoked sign-in still works at userinfo")
	}
	st := h.srv.Stats()
	if st.RefreshGrants != 1 || st.RefreshReuseDetected != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestConcurrentRefreshWithOneTokenIsReuse(t *testing.T) {
	h := newHarness(t, Options{})
	rt := h.signIn(h.config(DemoClientID, "", "openid", "offline_access"), Choice{}).token.RefreshToken
	statuses := make(chan int, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, err := h.post(h.provider.Endpoint().TokenURL, url.Values{
				"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {DemoClientID},
			})
			if err != nil {
				t.Error(err)
			}
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for st := range statuses {
		if st == http.StatusOK {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d of 2 concurrent refreshes with one token succeeded, want exactly 1", ok)
	}
	if st := h.srv.Stats(); st.RefreshReuseDetected != 1 || st.RefreshGrants != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// offsetClock is a clock that runs with real time plus an adjustable offset.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

func TestAccessTokenExpiryFollowsClock(t *testing.T) {
	clock := &offsetClock{}
	h := newHarness(t, Options{Now: clock.Now, AccessTokenTTL: time.Minute})
	cfg := h.config(DemoClientID, "", "openid", "offline_access")
	si := h.signIn(cfg, Choice{})
	if si.token.Expiry.After(time.Now().Add(2 * time.Minute)) {
		t.Errorf("expiry %v ignores AccessTokenTTL", si.token.Expiry)
	}
	if _, err := h.userinfo(si.token.AccessToken); err != nil {
		t.Fatalf("fresh access token: %v", err)
	}
	clock.Advance(2 * time.Minute)
	if _, err := h.userinfo(si.token.AccessToken); err == nil {
		t.Fatal("expired access token accepted at userinfo")
	}
	status, body := h.refresh(si.token.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh after access token expiry: %d %v", status, body)
	}
	if at, _ := body["access_token"].(string); at == "" {
		t.Fatal("no access token")
	} else if _, err := h.userinfo(at); err != nil {
		t.Fatalf("refreshed access token: %v", err)
	}
}

func TestNoRotationKeepsRefreshToken(t *testing.T) {
	h := newHarness(t, Options{NoRotation: true})
	cfg := h.config(DemoClientID, "", "openid", "offline_access")
	rt := h.signIn(cfg, Choice{}).token.RefreshToken
	for i := range 3 {
		status, body := h.refresh(rt)
		if status != http.StatusOK || body["refresh_token"] != rt || body["access_token"] == "" {
			t.Fatalf("refresh %d: %d refresh_token same=%v", i, status, body["refresh_token"] == rt)
		}
	}
	if st := h.srv.Stats(); st.RefreshGrants != 3 || st.RefreshReuseDetected != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRevocation(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid", "offline_access")
	revocationURL, _ := h.discovery()["revocation_endpoint"].(string)
	if !strings.HasPrefix(revocationURL, h.srv.Issuer()+"/") {
		t.Fatalf("revocation_endpoint = %q", revocationURL)
	}

	t.Run("refresh token", func(t *testing.T) {
		si := h.signIn(cfg, Choice{})
		status, _ := h.tokenCall(revocationURL, url.Values{"token": {si.token.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {DemoClientID}})
		if status != http.StatusOK {
			t.Fatalf("revoke: %d", status)
		}
		if status, body := h.refresh(si.token.RefreshToken); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Fatalf("refresh after revocation: %d %v", status, body)
		}
		if _, err := h.userinfo(si.token.AccessToken); err == nil {
			t.Error("access token survived revocation of its refresh token")
		}
	})
	t.Run("access token", func(t *testing.T) {
		si := h.signIn(cfg, Choice{})
		status, _ := h.tokenCall(revocationURL, url.Values{"token": {si.token.AccessToken}, "client_id": {DemoClientID}})
		if status != http.StatusOK {
			t.Fatalf("revoke: %d", status)
		}
		if _, err := h.userinfo(si.token.AccessToken); err == nil {
			t.Error("revoked access token works at userinfo")
		}
		if status, _ := h.refresh(si.token.RefreshToken); status != http.StatusOK {
			t.Errorf("refresh token died with its access token: %d", status)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		status, _ := h.tokenCall(revocationURL, url.Values{"token": {"not-a-token"}, "client_id": {DemoClientID}})
		if status != http.StatusOK {
			t.Fatalf("revoke unknown token: %d, RFC 7009 wants 200", status)
		}
	})
	if st := h.srv.Stats(); st.Revocations != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestDeviceGrant(t *testing.T) {
	h := newHarness(t, Options{DevicePollInterval: time.Second})
	cfg := h.config(DemoClientID, "", "openid", "email", "offline_access")
	tests := []struct {
		name    string
		decide  func(t *testing.T, userCode string)
		wantSub string
	}{
		{"approve", func(t *testing.T, code string) {
			if err := h.srv.ApproveDevice(code, "grace"); err != nil {
				t.Fatal(err)
			}
		}, "grace"},
		{"approve on the device page", func(t *testing.T, code string) {
			page := h.noRedirects(h.srv.Issuer() + "/device?user_code=" + url.QueryEscape(code))
			if page.StatusCode != http.StatusOK {
				t.Fatalf("device page: %d", page.StatusCode)
			}
			lower := strings.ToLower(strings.ReplaceAll(code, "-", " "))
			form := url.Values{"user_code": {lower}, "user": {"ada"}, "action": {"allow"}}
			resp, err := h.http.PostForm(h.srv.Issuer()+"/device", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("device form: %d", resp.StatusCode)
			}
		}, "ada"},
		{"deny", func(t *testing.T, code string) {
			if err := h.srv.DenyDevice(code); err != nil {
				t.Fatal(err)
			}
		}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			da, err := cfg.DeviceAuth(h.ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.VerificationURI != h.srv.Issuer()+"/device" || da.UserCode == "" || da.Interval != 1 {
				t.Fatalf("device authorization response: %+v", da)
			}
			tt.decide(t, da.UserCode)
			tok, err := cfg.DeviceAccessToken(h.ctx, da)
			if tt.wantSub == "" {
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
					t.Fatalf("denied device got %v, want access_denied", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			raw, _ := tok.Extra("id_token").(string)
			idt, err := h.provider.Verifier(&oidc.Config{ClientID: DemoClientID}).Verify(h.ctx, raw)
			if err != nil || idt.Subject != tt.wantSub || tok.RefreshToken == "" {
				t.Fatalf("device tokens: err %v", err)
			}
			if err := h.srv.ApproveDevice(da.UserCode, "ada"); !errors.Is(err, ErrUnknownUserCode) {
				t.Errorf("approving a used code: %v", err)
			}
			if h.srv.Stats().DeviceAuthorizations != i+1 {
				t.Errorf("stats = %+v", h.srv.Stats())
			}
		})
	}
	if err := h.srv.ApproveDevice("BCDF-GHJK", "ada"); !errors.Is(err, ErrUnknownUserCode) {
		t.Errorf("unknown user code: %v", err)
	}
}

// TestApproveDevicesAs checks the headless demo server: every device code
// is approved as the named user without anyone at the page, and an unknown
// user is refused at Start.
func TestApproveDevicesAs(t *testing.T) {
	h := newHarness(t, Options{DevicePollInterval: time.Second, ApproveDevicesAs: "grace@example.com"})
	cfg := h.config(DemoClientID, "", "openid", "email")
	da, err := cfg.DeviceAuth(h.ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	tok, err := cfg.DeviceAccessToken(h.ctx, da)
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := h.provider.Verifier(&oidc.Config{ClientID: DemoClientID}).Verify(h.ctx, raw)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if idt.Subject != "grace" {
		t.Fatalf("subject %q, want grace", idt.Subject)
	}
	if _, err := Start(Options{ApproveDevicesAs: "nobody@example.com"}); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("Start with an unknown user: %v, want ErrUnknownUser", err)
	}
}

func TestDevicePollingTooFastGetsSlowDown(t *testing.T) {
	h := newHarness(t, Options{DevicePollInterval: time.Second})
	cfg := h.config(DemoClientID, "", "openid")
	da, err := cfg.DeviceAuth(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {DemoClientID}}
	if _, body := h.tokenCall(cfg.Endpoint.TokenURL, poll); body["error"] != "authorization_pending" {
		t.Fatalf("first poll: %v", body)
	}
	if _, body := h.tokenCall(cfg.Endpoint.TokenURL, poll); body["error"] != "slow_down" {
		t.Fatalf("immediate second poll: %v, want slow_down", body)
	}
}

// jwtHeader returns the kid and alg of a compact JWS.
func jwtHeader(t *testing.T, raw string) (kid, alg string) {
	t.Helper()
	head, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid, h.Alg
}

func TestSigningKeyRotation(t *testing.T) {
	for _, alg := range []string{"", "ES256", "RS256"} {
		t.Run("alg="+alg, func(t *testing.T) {
			h := newHarness(t, Options{SigningAlg: alg})
			wantAlg := alg
			if wantAlg == "" {
				wantAlg = "ES256"
			}
			if got := toStrings(h.discovery()["id_token_signing_alg_values_supported"]); !slices.Equal(got, []string{wantAlg}) {
				t.Errorf("id_token_signing_alg_values_supported = %v", got)
			}
			cfg := h.config(DemoClientID, "", "openid")
			// One verifier for the whole test: it caches the JWKS it fetched first.
			verifier := h.provider.Verifier(&oidc.Config{ClientID: DemoClientID})
			first := h.signIn(cfg, Choice{})
			if _, err := verifier.Verify(h.ctx, first.rawID); err != nil {
				t.Fatal(err)
			}
			if err := h.srv.RotateSigningKey(); err != nil {
				t.Fatal(err)
			}
			second := h.signIn(cfg, Choice{})
			kid1, alg1 := jwtHeader(t, first.rawID)
			kid2, alg2 := jwtHeader(t, second.rawID)
			if kid1 == "" || kid1 == kid2 || alg1 != wantAlg || alg2 != wantAlg {
				t.Fatalf("headers kid %q/%q alg %q/%q", kid1, kid2, alg1, alg2)
			}
			if _, err := verifier.Verify(h.ctx, second.rawID); err != nil {
				t.Fatalf("token signed with the new key: %v", err)
			}
			if _, err := verifier.Verify(h.ctx, first.rawID); err != nil {
				t.Fatalf("token signed with the old key after rotation: %v", err)
			}
		})
	}
	if _, err := Start(Options{SigningAlg: "HS256"}); err == nil {
		t.Error("Start accepted HS256")
	}
}

func TestConfidentialClientLoopbackPorts(t *testing.T) {
	h := newHarness(t, Options{Clients: []Client{{ID: "web", Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1/callback/demo"}}}})
	cfg := h.config("web", "s3cret", "openid")
	si := h.signIn(cfg, Choice{})
	if si.idToken.Subject != "ada" {
		t.Fatalf("sub = %q", si.idToken.Subject)
	}

	wrong := *cfg
	wrong.ClientSecret = "nope"
	authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(si.verifier))
	if err := PlayBrowser(h.ctx, h.http, authURL, Choice{}); err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Exchange(h.ctx, h.callbackQuery().Get("code"), oauth2.VerifierOption(si.verifier)); err == nil {
		t.Fatal("exchange with a wrong client secret succeeded")
	}

	for _, evil := range []string{
		"http://127.0.0.1:1@evil.example/callback",
		"http://127.0.0.1:8080/other",
		"http://evil.example/callback",
	} {
		c := *cfg
		c.RedirectURL = evil
		resp := h.noRedirects(c.AuthCodeURL("st", oauth2.S256ChallengeOption(si.verifier)))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("redirect_uri %q: status %d, want 400 without redirect", evil, resp.StatusCode)
		}
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "example.com:0", "[::]:0"} {
		if s, err := Start(Options{Addr: addr}); !errors.Is(err, ErrNotLoopback) {
			if s != nil {
				_ = s.Close()
			}
			t.Errorf("Start(%q) = %v, want ErrNotLoopback", addr, err)
		}
	}
	s, err := Start(Options{Addr: "localhost:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.Issuer(), "http://127.0.0.1:") {
		t.Errorf("issuer %q", s.Issuer())
	}
}

func TestDiscoveryAndHostCheck(t *testing.T) {
	h := newHarness(t, Options{})
	d := h.discovery()
	if d["issuer"] != h.srv.Issuer() {
		t.Errorf("issuer %v", d["issuer"])
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "revocation_endpoint", "introspection_endpoint", "device_authorization_endpoint"} {
		if v, _ := d[k].(string); !strings.HasPrefix(v, h.srv.Issuer()+"/") {
			t.Errorf("%s = %v", k, d[k])
		}
	}
	if _, ok := d["authorization_response_iss_parameter_supported"]; ok {
		t.Error("advertises RFC 9207 though no iss is sent")
	}

	req, _ := http.NewRequestWithContext(h.ctx, http.MethodGet, h.srv.Issuer()+"/.well-known/openid-configuration", nil)
	req.Host = "rebound.example:80"
	resp, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host header: %d", resp.StatusCode)
	}
}

func TestLoginPage(t *testing.T) {
	h := newHarness(t, Options{
		Users:   []User{{Subject: `x"><script>alert(1)</script>`, Email: "x@example.com", Name: "<b>bold</b>"}},
		Clients: []Client{{ID: "c", Name: "<i>Evil & Co</i>", RedirectURIs: []string{"http://127.0.0.1/callback/demo"}}},
	})
	cfg := h.config("c", "", "openid")
	resp := h.noRedirects(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	loc, err := resp.Location()
	if err != nil || loc.Path != "/login" {
		t.Fatalf("authorize redirected to %v (%v)", loc, err)
	}
	page, err := h.http.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	html := string(body)
	for _, want := range []string{
		"<title>authcli demo provider</title>",
		`<form method="post" action="/login">`,
		`name="action" value="allow"`,
		`name="action" value="deny"`,
		`type="radio" name="user"`,
		"&lt;i&gt;Evil &amp; Co&lt;/i&gt;",
		"&lt;b&gt;bold&lt;/b&gt;",
		"<li>openid</li>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("login page lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<i>Evil") {
		t.Error("login page reflects unescaped HTML")
	}
	// PlayBrowser finds the odd subject through the escaping.
	if err := PlayBrowser(h.ctx, h.http, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())), Choice{User: `x"><script>alert(1)</script>`}); err != nil {
		t.Fatalf("PlayBrowser: %v", err)
	}
	if q := h.callbackQuery(); q.Get("code") == "" {
		t.Fatalf("callback %v", q)
	}

	// A cross-site form post is refused.
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, h.srv.Issuer()+"/login", strings.NewReader("id=x&action=allow"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	r, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", r.StatusCode)
	}
}

func TestPlayBrowserErrors(t *testing.T) {
	h := newHarness(t, Options{})
	cfg := h.config(DemoClientID, "", "openid")
	good := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	tests := []struct {
		name    string
		authURL string
		choice  Choice
		want    error
	}{
		{"unknown client", strings.Replace(good, "client_id="+DemoClientID, "client_id=nobody", 1), Choice{}, ErrProviderPage},
		{"unknown user", good, Choice{User: "nobody@example.com"}, ErrUnknownUser},
		{"stale login page", h.srv.Issuer() + "/login?id=gone", Choice{}, ErrProviderPage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := PlayBrowser(h.ctx, h.http, tt.authURL, tt.choice); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(h.ctx)
	cancel()
	if err := PlayBrowser(ctx, h.http, good, Choice{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestIntrospection(t *testing.T) {
	h := newHarness(t, Options{Clients: []Client{
		{ID: "web", Secret: "s3cret", RedirectURIs: []string{"http://127.0.0.1/callback/demo"}},
		{ID: "other", Secret: "other", RedirectURIs: []string{"http://127.0.0.1/callback/demo"}},
	}})
	si := h.signIn(h.config("web", "s3cret", "openid", "email"), Choice{User: "grace"})
	endpoint, _ := h.discovery()["introspection_endpoint"].(string)
	introspect := func(id, secret string) map[string]any {
		req, _ := http.NewRequestWithContext(h.ctx, http.MethodPost, endpoint, strings.NewReader(url.Values{"token": {si.token.AccessToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := introspect("web", "s3cret"); m["active"] != true || m["sub"] != "grace" || m["client_id"] != "web" || m["email"] != "grace@example.com" {
		t.Errorf("own token: %v", m)
	}
	if m := introspect("other", "other"); m["active"] != false {
		t.Errorf("another client's token: %v", m)
	}
}

func TestCloseIsBoundedAndIdempotent(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	issuer := s.Issuer()
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > shutdownGrace+time.Second {
		t.Errorf("Close took %v", d)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Get(issuer + "/.well-known/openid-configuration"); err == nil {
		resp.Body.Close()
		t.Error("server still answers after Close")
	}
}

func TestClientCredentials(t *testing.T) {
	s, err := Start(Options{Clients: []Client{DemoClient(), {ID: "robot", Secret: "robot-secret"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	good := clientcredentials.Config{ClientID: "robot", ClientSecret: "robot-secret", TokenURL: s.Issuer() + "/oauth/token", Scopes: []string{"api"}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := good.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken != "" || tok.Expiry.IsZero() {
		t.Errorf("token: access %t refresh %t expiry %v", tok.AccessToken != "", tok.RefreshToken != "", tok.Expiry)
	}
	if s.Stats().ClientCredentialsGrants != 1 {
		t.Errorf("stats: %+v", s.Stats())
	}
	for _, bad := range []clientcredentials.Config{
		{ClientID: "robot", ClientSecret: "wrong", TokenURL: good.TokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		{ClientID: DemoClientID, ClientSecret: "", TokenURL: good.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
	} {
		if _, err := bad.Token(ctx); err == nil {
			t.Errorf("client %q with secret %q got a token", bad.ClientID, bad.ClientSecret)
		}
	}
}

// TestDemoClientSubPaths: the demo client takes /callback/NAME for any one
// provider name on any loopback port, like GitHub's sub-paths of a
// registered callback, and nothing wider.
func TestDemoClientSubPaths(t *testing.T) {
	h := newHarness(t, Options{})
	port := strings.TrimPrefix(h.callback.URL, "http://127.0.0.1:")
	tests := []struct {
		redirect string
		ok       bool
	}{
		{"http://127.0.0.1:" + port + "/callback/corp", true},
		{"http://localhost:" + port + "/callback/my-idp_2", true},
		{"http://127.0.0.1:" + port + "/callback", false},
		{"http://127.0.0.1:" + port + "/callback/corp/deeper", false},
		{"http://127.0.0.1:" + port + "/callbackcorp", false},
		{"http://127.0.0.1:1@evil.example/callback/corp", false},
		{"http://evil.example/callback/corp", false},
	}
	for _, tt := range tests {
		c := h.config(DemoClientID, "", "openid")
		c.RedirectURL = tt.redirect
		resp := h.noRedirects(c.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if accepted := resp.StatusCode == http.StatusFound; accepted != tt.ok {
			t.Errorf("redirect_uri %q: status %d, accepted %t, want %t", tt.redirect, resp.StatusCode, accepted, tt.ok)
		}
	}
}

func TestOnRequestSeesAcceptedRequests(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	h := newHarness(t, Options{OnRequest: func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r.Method+" "+r.URL.Path)
	}})
	req, _ := http.NewRequestWithContext(h.ctx, http.MethodGet, h.srv.Issuer()+"/.well-known/openid-configuration", nil)
	req.Host = "rebound.example:80" // refused before OnRequest
	if resp, err := h.http.Do(req); err == nil {
		resp.Body.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	// newHarness's discovery, not the refused request.
	if want := []string{"GET /.well-known/openid-configuration"}; !slices.Equal(seen, want) {
		t.Errorf("OnRequest saw %q, want %q", seen, want)
	}
}
