package flow

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

// signIn runs a Login against op, playing the browser: it follows the
// authorization URL's redirects to the loopback listener and returns the
// page the tab would show.
func signIn(t *testing.T, op *fakeOP, tweak func(*Login)) (*Result, error, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pageCh := make(chan string, 1)
	browsed := false
	l := &Login{Provider: op.provider(), HTTPClient: NewHTTPClient(5 * time.Second)}
	l.ready = func(authURL string) {
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
	op := newFakeOP(t)
	res, err, page := signIn(t, op, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := Profile{Subject: "user-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace", AvatarURL: "https://img.example/ada.png"}
	got := res.Profile
	got.Claims = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("profile = %+v, want %+v", got, want)
	}
	if res.Token.AccessToken != "at-123" || res.Token.RefreshToken != "rt-456" || res.IDToken == "" {
		t.Errorf("tokens not returned: access=%t refresh=%t id=%t", res.Token.AccessToken != "", res.Token.RefreshToken != "", res.IDToken != "")
	}
	if !strings.Contains(page, "You are signed in") || !strings.Contains(page, "ada@example.com") {
		t.Errorf("success page missing text:\n%s", page)
	}
	q := op.seen[0]
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
	if u.Hostname() != "127.0.0.1" || u.Path != "/callback" || u.Port() == "" {
		t.Errorf("redirect_uri = %q, want http://127.0.0.1:PORT/callback", q.Get("redirect_uri"))
	}
}

func TestLoginFreshStateEachTime(t *testing.T) {
	op := newFakeOP(t)
	for range 2 {
		if _, err, _ := signIn(t, op, nil); err != nil {
			t.Fatal(err)
		}
	}
	if op.seen[0].Get("state") == op.seen[1].Get("state") || op.seen[0].Get("nonce") == op.seen[1].Get("nonce") {
		t.Error("state or nonce reused across sign-ins")
	}
}

// TestLoginRefusals covers SECURITY.md's "Tokens from the provider": each
// case breaks one rule, and the sign-in must fail with the named error.
func TestLoginRefusals(t *testing.T) {
	hs256 := func(op *fakeOP) string {
		claims := map[string]any{"iss": op.issuer(), "sub": "user-1", "aud": fakeClientID, "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
		h := map[string]any{"alg": "HS256", "typ": "JWT"}
		unsigned := unsignedJWT(h, claims, nil)
		signingInput := unsigned[:strings.LastIndex(unsigned, ".")]
		// The classic confusion attack: HMAC keyed with public material.
		mac := hmac.New(sha256.New, []byte(fakeClientID))
		mac.Write([]byte(signingInput))
		return signingInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	tests := []struct {
		name  string
		setup func(op *fakeOP)
		want  error
		text  string
	}{
		{"alg none", func(op *fakeOP) {
			op.header = func(raw string) string {
				return unsignedJWT(map[string]any{"alg": "none"}, claimsOf(raw), nil)
			}
		}, ErrIDToken, ""},
		{"HMAC signed", func(op *fakeOP) { op.header = func(string) string { return hs256(op) } }, ErrIDToken, ""},
		{"tampered signature", func(op *fakeOP) {
			op.header = func(raw string) string {
				i := strings.LastIndex(raw, ".")
				sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
				sig[10] ^= 0xff
				return raw[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
			}
		}, ErrIDToken, ""},
		{"tampered payload", func(op *fakeOP) {
			op.header = func(raw string) string {
				parts := strings.Split(raw, ".")
				c := claimsOf(raw)
				c["sub"] = "admin"
				forged := unsignedJWT(map[string]any{"alg": "RS256"}, c, nil)
				return strings.Split(forged, ".")[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
			}
		}, ErrIDToken, ""},
		{"unknown kid never published", func(op *fakeOP) { op.addKey(); op.publishOnlyOld = true }, ErrIDToken, ""},
		{"wrong issuer", func(op *fakeOP) { op.claims = func(c map[string]any) { c["iss"] = "https://evil.example" } }, ErrIDToken, "different provider"},
		{"wrong audience", func(op *fakeOP) { op.claims = func(c map[string]any) { c["aud"] = "someone-else" } }, ErrIDToken, "audience"},
		{"expired", func(op *fakeOP) {
			op.claims = func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }
		}, ErrIDToken, "expired"},
		{"not yet valid", func(op *fakeOP) {
			op.claims = func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }
		}, ErrIDToken, "nbf"},
		{"issued in the future", func(op *fakeOP) {
			op.claims = func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }
		}, ErrIDToken, "future"},
		{"wrong nonce", func(op *fakeOP) { op.claims = func(c map[string]any) { c["nonce"] = "replayed" } }, ErrIDToken, "nonce"},
		{"missing nonce", func(op *fakeOP) { op.claims = func(c map[string]any) { delete(c, "nonce") } }, ErrIDToken, "nonce"},
		{"azp of another client", func(op *fakeOP) {
			op.claims = func(c map[string]any) { c["aud"] = []string{fakeClientID, "other"}; c["azp"] = "other" }
		}, ErrIDToken, "another client"},
		{"at_hash mismatch", func(op *fakeOP) { op.claims = func(c map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" } }, ErrIDToken, "at_hash"},
		{"no ID token", func(op *fakeOP) { op.tokenBody = func(b map[string]any) { delete(b, "id_token") } }, ErrIDToken, "no ID token"},
		{"userinfo subject mismatch", func(op *fakeOP) { op.userinfo = func(u map[string]any) { u["sub"] = "user-2" } }, ErrSubjectMismatch, ""},
		{"no access token", func(op *fakeOP) { op.tokenBody = func(b map[string]any) { delete(b, "access_token") } }, ErrTokenResponse, "no access token"},
		{"unknown token type", func(op *fakeOP) { op.tokenBody = func(b map[string]any) { b["token_type"] = "DPoP" } }, ErrTokenResponse, "DPoP"},
		{"oversized token response", func(op *fakeOP) {
			op.tokenRaw = `{"access_token":"at-123","token_type":"Bearer","pad":"` + strings.Repeat("x", 2<<20) + `"}`
		}, nil, "larger than 512 KiB"},
		{"discovery names another issuer", func(op *fakeOP) { op.discoveryIssuer = "https://evil.example" }, ErrDiscovery, ""},
		{"discovery endpoint over plain http", func(op *fakeOP) { op.httpEndpoint = "http://example.com/userinfo" }, ErrInsecureURL, ""},
		{"iss parameter mismatch", func(op *fakeOP) { op.advertiseIss = true; op.redirectIss = "https://evil.example" }, ErrIssuerMismatch, ""},
		{"iss parameter missing though advertised", func(op *fakeOP) { op.advertiseIss = true }, ErrIssuerMismatch, "missing"},
		{"iss parameter mismatch, not advertised", func(op *fakeOP) { op.redirectIss = "https://evil.example" }, ErrIssuerMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := newFakeOP(t)
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
			if strings.Contains(err.Error(), "at-123") || strings.Contains(err.Error(), "rt-456") {
				t.Errorf("error leaks a token: %v", err)
			}
			if page != "" && !strings.Contains(page, "Sign-in failed") && !strings.HasPrefix(page, "GET failed") {
				t.Errorf("browser tab does not show the failure page:\n%.300s", page)
			}
		})
	}
}

// TestLoginKeyRotation: a token signed by a key the client has not seen
// yet is accepted once the JWKS, fetched again, publishes it.
func TestLoginKeyRotation(t *testing.T) {
	op := newFakeOP(t)
	if _, err, _ := signIn(t, op, nil); err != nil {
		t.Fatal(err)
	}
	op.addKey()
	if _, err, _ := signIn(t, op, nil); err != nil {
		t.Fatalf("after key rotation: %v", err)
	}
}

func TestLoginProviderErrorEscaped(t *testing.T) {
	op := newFakeOP(t)
	op.denyWith = `<script>alert("x")</script> The user said no`
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
	op := newFakeOP(t)
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
			l := &Login{Provider: op.provider(), Stderr: &stderr} // nobody plays the browser
			_, err := l.Run(ctx)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			if !strings.Contains(stderr.String(), op.issuer()+"/authorize?") {
				t.Errorf("the URL was not printed on stderr as a fallback:\n%s", stderr.String())
			}
		})
	}
}

// TestLoginProviderNeverAnswers: a token endpoint that hangs is ended by the
// context's deadline.
func TestLoginProviderNeverAnswers(t *testing.T) {
	op := newFakeOP(t)
	op.tokenHang = make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l := &Login{Provider: op.provider()}
	l.ready = func(u string) {
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

func TestLoginOpensBrowser(t *testing.T) {
	op := newFakeOP(t)
	var opened string
	_, err, _ := signIn(t, op, func(l *Login) {
		l.Open = func(_ context.Context, u string) error { opened = u; return nil }
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(opened, op.issuer()+"/authorize?") {
		t.Errorf("opener got %q", opened)
	}
}

func TestLoginAuthParamsCannotOverrideProtocol(t *testing.T) {
	op := newFakeOP(t)
	_, err, _ := signIn(t, op, func(l *Login) {
		l.Provider.AuthParams = map[string]string{"access_type": "offline", "code_challenge_method": "plain", "state": "fixed"}
	})
	if err != nil {
		t.Fatal(err)
	}
	q := op.seen[0]
	if q.Get("access_type") != "offline" {
		t.Error("extra parameter not sent")
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("state") == "fixed" || len(q["state"]) != 1 {
		t.Errorf("auth_params overrode the protocol: %v", q)
	}
}
