package flow

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/oidctest"
)

// fakeProvider is the flow's view of an oidctest provider.
func fakeProvider(op *oidctest.OP) Provider {
	return Provider{Name: "fake", Issuer: op.Issuer(), ClientID: oidctest.ClientID, Scopes: []string{"openid", "email", "profile"}}
}

func writeJSON(w http.ResponseWriter, v any) { oidctest.WriteJSON(w, v) }

// signIn runs a Login against op, playing the browser: it follows the
// authorization URL's redirects to the loopback listener and returns the
// page the tab would show.
func signIn(t *testing.T, op *oidctest.OP, tweak func(*Login)) (*Result, error, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pageCh := make(chan string, 1)
	browsed := false
	l := &Login{Provider: fakeProvider(op), HTTPClient: NewHTTPClient(5 * time.Second)}
	l.Ready = func(authURL string) {
		browsed = true
		go func() {
			resp, err := http.Get(authURL)
			if err != nil {
				pageCh <- "GET failed: " + err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			pageCh <- string(b)
		}()
	}
	if tweak != nil {
		tweak(l)
	}
	res, err := l.Run(ctx)
	res.Wait() // as a caller must before it exits or signs in again
	var page string
	if browsed {
		select {
		case page = <-pageCh:
		case <-time.After(10 * time.Second):
		}
	}
	return res, err, page
}

func TestLoginHappyPath(t *testing.T) {
	op := oidctest.New(t)
	res, err, page := signIn(t, op, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := Profile{Subject: oidctest.Subject, Email: oidctest.Email, EmailVerified: true, Name: oidctest.Name, AvatarURL: oidctest.Picture}
	got := res.Profile
	got.Claims = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("profile = %+v, want %+v", got, want)
	}
	if res.Token.AccessToken != op.AccessToken || res.Token.RefreshToken != op.RefreshToken || res.IDToken == "" {
		t.Errorf("tokens not returned: access=%t refresh=%t id=%t", res.Token.AccessToken != "", res.Token.RefreshToken != "", res.IDToken != "")
	}
	if !strings.Contains(page, "You are signed in") || !strings.Contains(page, "ada@example.com") {
		t.Errorf("success page missing text:\n%s", page)
	}
	q := op.AuthRequests()[0]
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("PKCE not S256: method=%q challenge=%q", q.Get("code_challenge_method"), q.Get("code_challenge"))
	}
	for _, p := range []string{"state", "nonce"} {
		raw, err := base64.RawURLEncoding.DecodeString(q.Get(p))
		if err != nil || len(raw) < 16 {
			t.Errorf("%s has fewer than 128 bits: %q", p, q.Get(p))
		}
	}
	u, _ := url.Parse(q.Get("redirect_uri"))
	if u.Hostname() != "127.0.0.1" || u.Path != "/callback/fake" || u.Port() == "" {
		t.Errorf("redirect_uri = %q, want http://127.0.0.1:PORT/callback/fake (the provider's own)", q.Get("redirect_uri"))
	}
}

func TestLoginFreshStateEachTime(t *testing.T) {
	op := oidctest.New(t)
	for range 2 {
		if _, err, _ := signIn(t, op, nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := op.AuthRequests()
	if seen[0].Get("state") == seen[1].Get("state") || seen[0].Get("nonce") == seen[1].Get("nonce") {
		t.Error("state or nonce reused across sign-ins")
	}
}

// TestLoginRefusals covers SECURITY.md's "Tokens from the provider": each
// case breaks one rule, and the sign-in must fail with the named error.
func TestLoginRefusals(t *testing.T) {
	tests := []struct {
		name  string
		setup func(op *oidctest.OP)
		want  error
		text  string
	}{
		{"alg none", func(op *oidctest.OP) { op.IDToken = oidctest.AlgNone }, ErrIDToken, ""},
		// The classic confusion attack: HMAC keyed with public material.
		{"HMAC signed", func(op *oidctest.OP) { op.IDToken = oidctest.HMACSigned([]byte(oidctest.ClientID)) }, ErrIDToken, ""},
		{"tampered signature", func(op *oidctest.OP) { op.IDToken = oidctest.TamperSignature }, ErrIDToken, ""},
		{"tampered payload", func(op *oidctest.OP) {
			op.IDToken = oidctest.TamperPayload(func(c map[string]any) { c["sub"] = "admin" })
		}, ErrIDToken, ""},
		{"unknown kid never published", func(op *oidctest.OP) { op.RotateKey(); op.HideNewestKey = true }, ErrIDToken, ""},
		{"wrong issuer", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["iss"] = "https://evil.example" } }, ErrIDToken, "different provider"},
		{"wrong audience", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["aud"] = "someone-else" } }, ErrIDToken, "audience"},
		{"expired", func(op *oidctest.OP) {
			op.Claims = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }
		}, ErrIDToken, "expired"},
		{"not yet valid", func(op *oidctest.OP) {
			op.Claims = func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }
		}, ErrIDToken, "nbf"},
		{"issued in the future", func(op *oidctest.OP) {
			op.Claims = func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }
		}, ErrIDToken, "future"},
		{"wrong nonce", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["nonce"] = "replayed" } }, ErrIDToken, "nonce"},
		{"missing nonce", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { delete(c, "nonce") } }, ErrIDToken, "nonce"},
		{"azp of another client", func(op *oidctest.OP) {
			op.Claims = func(c map[string]any) { c["aud"] = []string{oidctest.ClientID, "other"}; c["azp"] = "other" }
		}, ErrIDToken, "another client"},
		{"at_hash mismatch", func(op *oidctest.OP) { op.Claims = func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" } }, ErrIDToken, "at_hash"},
		{"no ID token", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { delete(b, "id_token") } }, ErrIDToken, "no ID token"},
		{"userinfo subject mismatch", func(op *oidctest.OP) { op.Userinfo = func(u map[string]any) { u["sub"] = "user-2" } }, ErrSubjectMismatch, ""},
		// The userinfo request runs while the ID token is checked: its
		// answer, agreeing with a forged ID token, changes nothing.
		{"tampered payload that userinfo agrees with", func(op *oidctest.OP) {
			op.IDToken = oidctest.TamperPayload(func(c map[string]any) { c["sub"] = "admin" })
			op.Userinfo = func(u map[string]any) { u["sub"] = "admin" }
		}, ErrIDToken, ""},
		{"userinfo failing while the ID token fails", func(op *oidctest.OP) {
			op.IDToken = oidctest.TamperSignature
			op.Oversize = "/userinfo"
		}, ErrIDToken, ""},
		{"no access token", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { delete(b, "access_token") } }, ErrTokenResponse, "no access token"},
		{"unknown token type", func(op *oidctest.OP) { op.TokenBody = func(b map[string]any) { b["token_type"] = "DPoP" } }, ErrTokenResponse, "DPoP"},
		{"oversized token response", func(op *oidctest.OP) {
			op.TokenRaw = `{"access_token":"at-123","token_type":"Bearer","pad":"` + strings.Repeat("x", 2<<20) + `"}`
		}, nil, "larger than 512 KiB"},
		{"oversized userinfo", func(op *oidctest.OP) { op.Oversize = "/userinfo" }, ErrUserinfo, "larger than 512 KiB"},
		{"oversized JWKS", func(op *oidctest.OP) { op.Oversize = "/jwks" }, ErrIDToken, "larger than 512 KiB"},
		{"discovery names another issuer", func(op *oidctest.OP) { op.DiscoveryIssuer = "https://evil.example" }, ErrDiscovery, ""},
		{"discovery endpoint over plain http", func(op *oidctest.OP) { op.UserinfoEndpoint = "http://example.com/userinfo" }, ErrInsecureURL, ""},
		{"iss parameter mismatch", func(op *oidctest.OP) { op.AdvertiseIss = true; op.RedirectIss = "https://evil.example" }, ErrIssuerMismatch, ""},
		{"iss parameter missing though advertised", func(op *oidctest.OP) { op.AdvertiseIss = true }, ErrIssuerMismatch, "missing"},
		{"iss parameter mismatch, not advertised", func(op *oidctest.OP) { op.RedirectIss = "https://evil.example" }, ErrIssuerMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := oidctest.New(t)
			tt.setup(op)
			res, err, page := signIn(t, op, nil)
			if err == nil {
				t.Fatalf("sign-in succeeded (subject %q), want refusal", res.Profile.Subject)
			}
			if res != nil {
				t.Error("a result was returned with the error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error = %v, want %v", err, tt.want)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
			if strings.Contains(err.Error(), op.AccessToken) || strings.Contains(err.Error(), op.RefreshToken) {
				t.Errorf("error leaks a token: %v", err)
			}
			if page != "" && !strings.Contains(page, "Sign-in failed") && !strings.HasPrefix(page, "GET failed") {
				t.Errorf("browser tab does not show the failure page:\n%.300s", page)
			}
		})
	}
}

// TestLoginIssParameterMatches: a correct RFC 9207 iss passes.
func TestLoginIssParameterMatches(t *testing.T) {
	op := oidctest.New(t)
	op.AdvertiseIss = true
	op.RedirectIss = op.Issuer()
	if _, err, _ := signIn(t, op, nil); err != nil {
		t.Fatalf("sign-in with the right iss parameter: %v", err)
	}
}

// TestLoginKeyRotation: a token signed by a key the client has not seen
// yet is accepted once the JWKS, fetched again, publishes it.
func TestLoginKeyRotation(t *testing.T) {
	op := oidctest.New(t)
	if _, err, _ := signIn(t, op, nil); err != nil {
		t.Fatal(err)
	}
	op.RotateKey()
	if _, err, _ := signIn(t, op, nil); err != nil {
		t.Fatalf("after key rotation: %v", err)
	}
}

// TestLoginKeysReadWhileSigningIn: the provider's keys are fetched while
// the person is at the provider, so that nothing after the provider's
// answer waits on a key request; with a key cache, a later sign-in needs
// no key request at all; and a key the cached set lacks (rotated since) is
// fetched and accepted rather than refused.
func TestLoginKeysReadWhileSigningIn(t *testing.T) {
	op := oidctest.New(t)
	counter := &countingClient{hits: map[string]int{}}
	cache := &mapCache{docs: map[string][]byte{}, exp: map[string]time.Time{}}
	withCache := func(l *Login) {
		l.HTTPClient = &http.Client{Transport: counter, Timeout: 5 * time.Second}
		l.Keys = cache
	}
	// after lists the requests made after the token request of the last
	// sign-in.
	after := func() []string {
		p := counter.paths()
		for i := len(p) - 1; i >= 0; i-- {
			if p[i] == "/token" {
				return p[i+1:]
			}
		}
		return p
	}
	// The person takes longer than a key request: the browser goes to
	// the provider once the key request is out (or after 2 s, when it
	// never went out before the sign-in: then the check below fails).
	slowPerson := func(l *Login) {
		withCache(l)
		ready := l.Ready
		l.Ready = func(authURL string) {
			for i := 0; i < 200 && counter.count("/jwks") == 0; i++ {
				time.Sleep(10 * time.Millisecond)
			}
			ready(authURL)
		}
	}
	if _, err, _ := signIn(t, op, slowPerson); err != nil {
		t.Fatal(err)
	}
	if got := after(); slices.Contains(got, "/jwks") {
		t.Errorf("requests after the provider's answer: %v; the keys should have been read while signing in", got)
	}
	if counter.count("/jwks") != 1 {
		t.Errorf("%d key requests for one sign-in, want 1", counter.count("/jwks"))
	}
	if _, err, _ := signIn(t, op, withCache); err != nil {
		t.Fatal(err)
	}
	if n := counter.count("/jwks"); n != 1 {
		t.Errorf("%d key requests after a second sign-in with the keys cached, want 1", n)
	}
	op.RotateKey()
	if _, err, _ := signIn(t, op, withCache); err != nil {
		t.Fatalf("an ID token signed with a key newer than the cached ones: %v", err)
	}
	if n := counter.count("/jwks"); n != 2 {
		t.Errorf("%d key requests after a rotation, want 2", n)
	}
}

func TestLoginProviderErrorEscaped(t *testing.T) {
	op := oidctest.New(t)
	op.DenyWith = `<script>alert("x")</script> The user said no`
	_, err, page := signIn(t, op, nil)
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Code != "access_denied" {
		t.Fatalf("error = %v, want ProviderError access_denied", err)
	}
	if !strings.Contains(err.Error(), "The user said no") {
		t.Errorf("error %q lacks the provider's description", err)
	}
	if strings.Contains(page, "<script>alert") {
		t.Errorf("failure page reflects provider HTML unescaped:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("failure page does not show the escaped description:\n%s", page)
	}
}

func TestLoginTimeoutAndCancel(t *testing.T) {
	op := oidctest.New(t)
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"timeout", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, ErrTimeout},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, ErrCanceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			var stderr bytes.Buffer
			l := &Login{Provider: fakeProvider(op), Stderr: &stderr} // nobody plays the browser
			_, err := l.Run(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(stderr.String(), op.Issuer()+"/authorize?") {
				t.Errorf("the URL was not printed on stderr as a fallback:\n%s", stderr.String())
			}
		})
	}
}

// TestLoginProviderNeverAnswers: a token endpoint that hangs is ended by the
// context's deadline.
func TestLoginProviderNeverAnswers(t *testing.T) {
	op := oidctest.New(t)
	op.Hang = "/token"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l := &Login{Provider: fakeProvider(op)}
	l.Ready = func(u string) {
		go func() {
			if resp, err := http.Get(u); err == nil {
				resp.Body.Close()
			}
		}()
	}
	if _, err := l.Run(ctx); !errors.Is(err, ErrTimeout) {
		t.Fatalf("error = %v, want ErrTimeout", err)
	}
}

// TestLoginOpensBrowser: the browser is started with a one-time loopback
// URL that carries no state (its command line is readable by every user)
// and redirects to the provider.
func TestLoginOpensBrowser(t *testing.T) {
	op := oidctest.New(t)
	var opened string
	page := make(chan string, 1)
	res, err, _ := signIn(t, op, func(l *Login) {
		l.Ready = nil
		l.Open = func(_ context.Context, u string) error {
			opened = u
			go func() {
				resp, err := http.Get(u)
				if err != nil {
					page <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				page <- string(b)
			}()
			return nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	u, perr := url.Parse(opened)
	if perr != nil || u.Hostname() != "127.0.0.1" || !strings.HasPrefix(u.Path, "/start/") || u.RawQuery != "" {
		t.Errorf("opener got %q, want a loopback /start/ URL", opened)
	}
	state := op.AuthRequests()[0].Get("state")
	if strings.Contains(opened, state) || len(u.Path) < len("/start/")+40 {
		t.Errorf("the opened URL %q holds the state or too little randomness", opened)
	}
	if res.Profile.Subject != oidctest.Subject || !strings.Contains(<-page, "Signed in") {
		t.Error("the sign-in through the start URL did not complete")
	}
}

// TestLoginStartURLOnce: a second request for the start URL (someone who
// read it first, or the browser after them) stops the sign-in.
func TestLoginStartURLOnce(t *testing.T) {
	op := oidctest.New(t)
	second := make(chan int, 1)
	_, err, _ := signIn(t, op, func(l *Login) {
		l.Ready = nil
		l.Open = func(_ context.Context, u string) error {
			go func() {
				noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				if resp, err := noFollow.Get(u); err == nil {
					resp.Body.Close()
				}
				resp, err := noFollow.Get(u)
				if err != nil {
					second <- 0
					return
				}
				resp.Body.Close()
				second <- resp.StatusCode
			}()
			return nil
		}
	})
	if !errors.Is(err, ErrStartReused) {
		t.Fatalf("error = %v, want ErrStartReused", err)
	}
	if code := <-second; code != http.StatusBadRequest {
		t.Errorf("second request answered %d", code)
	}
}

func TestLoginAuthParamsCannotOverrideProtocol(t *testing.T) {
	op := oidctest.New(t)
	_, err, _ := signIn(t, op, func(l *Login) {
		l.Provider.AuthParams = map[string]string{"access_type": "offline", "code_challenge_method": "plain", "state": "fixed"}
	})
	if err != nil {
		t.Fatal(err)
	}
	q := op.AuthRequests()[0]
	if q.Get("access_type") != "offline" {
		t.Error("extra parameter not sent")
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "fixed" || len(q["state"]) != 1 {
		t.Errorf("auth_params overrode the protocol: %v", q)
	}
}

// Run returns while the listener still sends the tab its page, so that
// the caller stores the result meanwhile; Wait returns once the page is
// out and the listener is closed.
func TestLoginWaitClosesTheListener(t *testing.T) {
	op := oidctest.New(t)
	var redirect string
	res, err, page := signIn(t, op, func(l *Login) {
		// Held open a while: a Wait that does not wait returns while the
		// listener still answers.
		l.windingDown = func() { time.Sleep(100 * time.Millisecond) }
		ready := l.Ready
		l.Ready = func(authURL string) {
			u, err := url.Parse(authURL)
			if err == nil {
				redirect = u.Query().Get("redirect_uri")
			}
			ready(authURL)
		}
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	res.Wait()
	if !strings.Contains(page, "Signed in") {
		t.Errorf("the tab did not get the success page:\n%.300s", page)
	}
	if redirect == "" {
		t.Fatal("no redirect_uri in the authorization URL")
	}
	if resp, err := http.Get(redirect); err == nil {
		resp.Body.Close()
		t.Errorf("the listener still answers after Wait (HTTP %d)", resp.StatusCode)
	}
	res.Wait() // a second Wait returns at once
	var none *Result
	none.Wait()
}

// TestLoginVerified: Verified hears the subject once the ID token is
// verified and before userinfo has answered (userinfo here holds its
// answer until then, at most 5 s); a refused ID token is never announced.
func TestLoginVerified(t *testing.T) {
	op := oidctest.New(t)
	announced := make(chan struct{})
	var early atomic.Bool
	op.Userinfo = func(map[string]any) {
		select {
		case <-announced:
			early.Store(true)
		case <-time.After(5 * time.Second):
		}
	}
	var heard []string
	res, err, _ := signIn(t, op, func(l *Login) {
		l.Verified = func(draft Profile) {
			if draft.Claims != nil {
				t.Error("the draft profile shares the claims userinfo's are merged into")
			}
			heard = append(heard, draft.Subject)
			if len(heard) == 1 {
				close(announced)
			}
		}
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !slices.Equal(heard, []string{res.Profile.Subject}) || !early.Load() {
		t.Errorf("Verified heard %q (the profile's subject is %q); before userinfo answered: %t", heard, res.Profile.Subject, early.Load())
	}

	refused := oidctest.New(t)
	refused.IDToken = oidctest.TamperSignature
	_, err, _ = signIn(t, refused, func(l *Login) {
		l.Verified = func(draft Profile) { t.Errorf("Verified(%q) for a forged ID token", draft.Subject) }
	})
	if !errors.Is(err, ErrIDToken) {
		t.Errorf("forged ID token: %v, want ErrIDToken", err)
	}
}
