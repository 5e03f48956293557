package flow

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// fakeOP is a deliberately breakable OpenID provider for unit tests: each
// knob breaks one rule the client must enforce. The happy path is also run
// against the real embedded provider (internal/devidp) elsewhere.
type fakeOP struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	keys    []*rsa.PrivateKey // keys[len-1] signs; all are published
	kids    []string
	pending map[string]authRequest // by code
	seen    []url.Values           // authorization requests

	// knobs
	discoveryIssuer string // "" = the real issuer
	advertiseIss    bool   // authorization_response_iss_parameter_supported
	redirectIss     string // iss sent on the redirect ("" = none)
	publishOnlyOld  bool   // sign with a key the JWKS does not list
	denyWith        string // error_description for an access_denied redirect
	claims          func(c map[string]any)
	header          func(raw string) string // rewrite the signed ID token
	tokenBody       func(b map[string]any)
	tokenRaw        string // replaces the whole token response body
	tokenHang       chan struct{}
	userinfo        func(u map[string]any)
	httpEndpoint    string // discovery's userinfo endpoint override
}

type authRequest struct {
	challenge, method, nonce, redirect, clientID string
}

const fakeClientID = "cli-test"

func newFakeOP(t *testing.T) *fakeOP {
	t.Helper()
	op := &fakeOP{t: t, pending: map[string]authRequest{}}
	op.addKey()
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(func() {
		if op.tokenHang != nil {
			select {
			case <-op.tokenHang:
			default:
				close(op.tokenHang)
			}
		}
		op.srv.Close()
	})
	return op
}

// testKeys are generated once per test binary: RSA generation dominates
// the run time otherwise.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

func (op *fakeOP) addKey() {
	k := testKeys()[len(op.keys)]
	op.mu.Lock()
	op.keys = append(op.keys, k)
	op.kids = append(op.kids, "k"+string(rune('0'+len(op.keys))))
	op.mu.Unlock()
}

func (op *fakeOP) issuer() string { return op.srv.URL }

func (op *fakeOP) provider() Provider {
	return Provider{Name: "fake", Issuer: op.issuer(), ClientID: fakeClientID, Scopes: []string{"openid", "email", "profile"}}
}

func (op *fakeOP) serve(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		iss := op.issuer()
		if op.discoveryIssuer != "" {
			iss = op.discoveryIssuer
		}
		ui := op.issuer() + "/userinfo"
		if op.httpEndpoint != "" {
			ui = op.httpEndpoint
		}
		writeJSON(w, map[string]any{
			"issuer":                                iss,
			"authorization_endpoint":                op.issuer() + "/authorize",
			"token_endpoint":                        op.issuer() + "/token",
			"userinfo_endpoint":                     ui,
			"jwks_uri":                              op.issuer() + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256", "HS256", "none"},
			"code_challenge_methods_supported":      []string{"plain", "S256"},
			"authorization_response_iss_parameter_supported": op.advertiseIss,
		})
	case "/jwks":
		op.mu.Lock()
		var set jose.JSONWebKeySet
		n := len(op.keys)
		if op.publishOnlyOld {
			n--
		}
		for i := range n {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &op.keys[i].PublicKey, KeyID: op.kids[i], Algorithm: "RS256", Use: "sig"})
		}
		op.mu.Unlock()
		writeJSON(w, set)
	case "/authorize":
		q := r.URL.Query()
		op.mu.Lock()
		op.seen = append(op.seen, q)
		op.mu.Unlock()
		redirect, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"state": {q.Get("state")}}
		if op.redirectIss != "" {
			v.Set("iss", op.redirectIss)
		}
		if op.denyWith != "" {
			v.Set("error", "access_denied")
			v.Set("error_description", op.denyWith)
		} else {
			code := randomToken()
			op.mu.Lock()
			op.pending[code] = authRequest{q.Get("code_challenge"), q.Get("code_challenge_method"), q.Get("nonce"), q.Get("redirect_uri"), q.Get("client_id")}
			op.mu.Unlock()
			v.Set("code", code)
		}
		redirect.RawQuery = v.Encode()
		http.Redirect(w, r, redirect.String(), http.StatusFound)
	case "/token":
		op.token(w, r)
	case "/userinfo":
		if r.Header.Get("Authorization") != "Bearer at-123" {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		u := map[string]any{"sub": "user-1", "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace", "picture": "https://img.example/ada.png"}
		if op.userinfo != nil {
			op.userinfo(u)
		}
		writeJSON(w, u)
	default:
		http.NotFound(w, r)
	}
}

func (op *fakeOP) token(w http.ResponseWriter, r *http.Request) {
	if op.tokenHang != nil {
		select {
		case <-op.tokenHang:
		case <-r.Context().Done():
		}
		return
	}
	_ = r.ParseForm()
	op.mu.Lock()
	req, ok := op.pending[r.PostForm.Get("code")]
	delete(op.pending, r.PostForm.Get("code"))
	op.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case !ok, req.method != "S256", base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge,
		r.PostForm.Get("redirect_uri") != req.redirect:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"PKCE or code check failed"}`))
		return
	}
	if op.tokenRaw != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(op.tokenRaw))
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": op.issuer(), "sub": "user-1", "aud": fakeClientID, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "nonce": req.nonce, "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace",
	}
	if op.claims != nil {
		op.claims(claims)
	}
	raw := op.sign(claims)
	if op.header != nil {
		raw = op.header(raw)
	}
	body := map[string]any{"access_token": "at-123", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-456", "id_token": raw}
	if op.tokenBody != nil {
		op.tokenBody(body)
	}
	writeJSON(w, body)
}

func (op *fakeOP) sign(claims map[string]any) string {
	op.mu.Lock()
	k, kid := op.keys[len(op.keys)-1], op.kids[len(op.kids)-1]
	op.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", kid).WithType("JWT"))
	if err != nil {
		op.t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		op.t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// unsignedJWT builds a compact JWT with the given header and an empty or
// arbitrary signature, for alg=none and HMAC attacks.
func unsignedJWT(header map[string]any, claims map[string]any, sig []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

// claimsOf decodes a compact JWT's payload without verifying it.
func claimsOf(raw string) map[string]any {
	parts := strings.Split(raw, ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}
