package oidctest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// authorize plays the browser and the client up to the token response.
func authorize(t *testing.T, op *OP) (status int, body map[string]any) {
	t.Helper()
	verifier := "a-verifier-that-is-long-enough-for-pkce-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id": {ClientID}, "redirect_uri": {"http://127.0.0.1:1/callback"}, "state": {"st"}, "nonce": {"n1"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	resp, err := c.Get(op.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != "st" {
		t.Fatalf("redirect %q", resp.Header.Get("Location"))
	}
	if loc.Query().Get("error") != "" {
		return 0, map[string]any{"error": loc.Query().Get("error"), "error_description": loc.Query().Get("error_description")}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "code_verifier": {verifier}, "redirect_uri": {q.Get("redirect_uri")}}
	resp, err = c.PostForm(op.Issuer()+"/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body
}

func TestHonestByDefault(t *testing.T) {
	op := New(t)
	status, body := authorize(t, op)
	if status != 200 || body["access_token"] != op.AccessToken || body["refresh_token"] != op.RefreshToken {
		t.Fatalf("token response %d %v", status, body)
	}
	raw, _ := body["id_token"].(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(op.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not published", jws.Signatures[0].Header.KeyID)
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		t.Fatalf("ID token does not verify with the published key: %v", err)
	}
	c := ClaimsOf(raw)
	if c["iss"] != op.Issuer() || c["aud"] != ClientID || c["nonce"] != "n1" || c["sub"] != Subject {
		t.Errorf("claims %v", c)
	}
	if got := op.AuthRequests(); len(got) != 1 || got[0].Get("state") != "st" {
		t.Errorf("AuthRequests = %v", got)
	}
	if got := op.IssuedIDTokens(); len(got) != 1 || got[0] != raw {
		t.Errorf("IssuedIDTokens = %v", got)
	}
}

// TestKnobs checks that each knob breaks what it says, so a client test
// that passes against it is not passing against an honest provider.
func TestKnobs(t *testing.T) {
	tests := []struct {
		name  string
		setup func(op *OP)
		check func(t *testing.T, op *OP, status int, body map[string]any)
	}{
		{"alg none", func(op *OP) { op.IDToken = AlgNone }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			raw := b["id_token"].(string)
			if !strings.HasSuffix(raw, ".") || ClaimsOf(raw)["sub"] != Subject {
				t.Errorf("not an unsigned token: %q", raw)
			}
		}},
		{"HMAC", func(op *OP) { op.IDToken = HMACSigned([]byte(ClientID)) }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if _, err := jose.ParseSigned(b["id_token"].(string), []jose.SignatureAlgorithm{jose.HS256}); err != nil {
				t.Error(err)
			}
		}},
		{"tampered", func(op *OP) { op.IDToken = TamperPayload(func(c map[string]any) { c["sub"] = "admin" }) }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if ClaimsOf(b["id_token"].(string))["sub"] != "admin" {
				t.Error("payload not replaced")
			}
		}},
		{"claims", func(op *OP) { op.Claims = func(c map[string]any) { delete(c, "nonce") } }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if _, ok := ClaimsOf(b["id_token"].(string))["nonce"]; ok {
				t.Error("nonce still there")
			}
		}},
		{"token body", func(op *OP) { op.TokenBody = func(b map[string]any) { b["token_type"] = "DPoP" } }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if b["token_type"] != "DPoP" {
				t.Error(b)
			}
		}},
		{"oversize", func(op *OP) { op.Oversize = "/token" }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if p, _ := b["pad"].(string); len(p) < 1<<20 {
				t.Error("not padded")
			}
		}},
		{"redirect", func(op *OP) { op.Redirect = func(v url.Values) { v.Set("error", "x") } }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if b["error"] != "x" {
				t.Error(b)
			}
		}},
		{"deny", func(op *OP) { op.DenyWith = "<b>no</b>" }, func(t *testing.T, _ *OP, _ int, b map[string]any) {
			if b["error"] != "access_denied" || b["error_description"] != "<b>no</b>" {
				t.Error(b)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := New(t)
			tt.setup(op)
			status, body := authorize(t, op)
			tt.check(t, op, status, body)
		})
	}
}

func TestHideNewestKeyAndRotate(t *testing.T) {
	op := New(t)
	op.RotateKey()
	count := func() int {
		resp, err := http.Get(op.Issuer() + "/jwks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set jose.JSONWebKeySet
		_ = json.NewDecoder(resp.Body).Decode(&set)
		return len(set.Keys)
	}
	if n := count(); n != 2 {
		t.Errorf("after RotateKey the JWKS has %d keys, want 2", n)
	}
	op.HideNewestKey = true
	if n := count(); n != 1 {
		t.Errorf("with HideNewestKey the JWKS has %d keys, want 1", n)
	}
}

func TestHangEndsWithClient(t *testing.T) {
	op := New(t)
	op.Hang = "/token"
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, op.Issuer()+"/token", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the hanging endpoint answered")
	}
}
