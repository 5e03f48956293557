// Package oidctest is a deliberately breakable OpenID provider for tests:
// each knob on OP breaks one rule of ../shared/SECURITY.md that authcli must
// enforce, so a test can show the client refusing exactly that violation.
// The happy path of a real provider is internal/devidp; this one exists to
// misbehave.
//
// It is test-only: nothing but _test.go files may import it, and the
// shipped binary never links it (go list -deps ./cmd/authcli shows it is
// absent).
package oidctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Identity the provider signs in: every sign-in is this one person.
const (
	ClientID = "cli-test"
	Subject  = "user-1"
	Email    = "ada@example.com"
	Name     = "Ada Lovelace"
	Picture  = "https://img.example/ada.png"
)

// oversizePad is the size of the Oversize padding: well past authcli's 512 KiB response limit.
const oversizePad = 2 << 20

// OP is a misbehaving OpenID provider on 127.0.0.1. Its /authorize
// redirects straight back to the client (no login page), so any HTTP client
// that follows redirects plays the browser.
//
// Set the knobs before the first request reaches the server; the zero value
// of every knob is correct behaviour.
type OP struct {
	// DiscoveryIssuer, when set, is the issuer the discovery document
	// announces instead of the real one.
	DiscoveryIssuer string
	// AdvertiseIss announces authorization_response_iss_parameter_supported
	// (RFC 9207) in discovery.
	AdvertiseIss bool
	// RedirectIss, when set, is the iss parameter sent on the redirect.
	RedirectIss string
	// Redirect edits the authorization response's parameters (state, code,
	// iss, error) before the browser is sent back with them.
	Redirect func(v url.Values)
	// DenyWith, when set, answers every authorization request with an
	// access_denied redirect carrying this error_description.
	DenyWith string
	// HideNewestKey signs ID tokens with a key the JWKS does not publish
	// (an unknown kid that no JWKS refresh will find).
	HideNewestKey bool
	// Claims edits the ID token's claims before they are signed.
	Claims func(c map[string]any)
	// IDToken rewrites the signed ID token (alg none, HMAC, tampering: see
	// AlgNone, HMACSigned, TamperSignature).
	IDToken func(raw string) string
	// TokenBody edits the token response's JSON object.
	TokenBody func(b map[string]any)
	// TokenRaw, when set, replaces the whole token response body.
	TokenRaw string
	// Userinfo edits the userinfo answer.
	Userinfo func(u map[string]any)
	// UserinfoEndpoint, when set, is the userinfo endpoint discovery names.
	UserinfoEndpoint string
	// Hang is a path ("/token", "/userinfo", "/jwks",
	// "/.well-known/openid-configuration") whose handler never answers: it
	// waits until the client gives up or the server closes.
	Hang string
	// Oversize is a path whose JSON answer is padded past 2 MiB.
	Oversize string

	// AccessToken and RefreshToken are the values the token endpoint
	// issues: random per provider, so a test can look for them in output
	// that must not hold them.
	AccessToken, RefreshToken string
	// Rotate makes every refresh grant issue a new RefreshToken (and
	// refuse the old one, as invalid_grant).
	Rotate bool
	// RefuseRefresh answers every refresh grant with this OAuth error.
	RefuseRefresh string

	srv      *httptest.Server
	hangDone chan struct{}
	closeMu  sync.Once

	mu        sync.Mutex
	keys      []*ecdsa.PrivateKey // keys[len-1] signs; all but maybe it are published
	kids      []string
	pending   map[string]authRequest // by code
	refreshes int
	seen      []url.Values // authorization requests
	issued    []string     // ID tokens issued
}

type authRequest struct {
	challenge, method, nonce, redirect string
}

// Start runs a provider on 127.0.0.1 with one signing key. Close it when
// done; New does that for a test.
func Start() *OP {
	op := &OP{
		AccessToken:  "at-" + random(),
		RefreshToken: "rt-" + random(),
		pending:      map[string]authRequest{},
		hangDone:     make(chan struct{}),
	}
	op.RotateKey()
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	return op
}

// New starts a provider that closes when the test ends.
func New(tb testing.TB) *OP {
	tb.Helper()
	op := Start()
	tb.Cleanup(op.Close)
	return op
}

// Close releases hanging handlers and stops the server.
func (op *OP) Close() {
	op.closeMu.Do(func() {
		close(op.hangDone)
		op.srv.Close()
	})
}

// Issuer is the provider's issuer URL (http://127.0.0.1:PORT).
func (op *OP) Issuer() string { return op.srv.URL }

// RotateKey adds a new signing key with a new kid: ID tokens issued from
// now on are signed with it, and the JWKS publishes it (unless
// HideNewestKey) next to the old ones.
func (op *OP) RotateKey() {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(fmt.Sprintf("oidctest: generate key: %v", err))
	}
	op.mu.Lock()
	defer op.mu.Unlock()
	op.keys = append(op.keys, k)
	op.kids = append(op.kids, fmt.Sprintf("k%d", len(op.keys)))
}

// AuthRequests returns the query of every authorization request so far.
func (op *OP) AuthRequests() []url.Values {
	op.mu.Lock()
	defer op.mu.Unlock()
	out := make([]url.Values, len(op.seen))
	for i, q := range op.seen {
		out[i] = url.Values(cloneValues(q))
	}
	return out
}

// IssuedIDTokens returns every ID token the token endpoint handed out, as
// sent (after IDToken rewrote it).
func (op *OP) IssuedIDTokens() []string {
	op.mu.Lock()
	defer op.mu.Unlock()
	return append([]string(nil), op.issued...)
}

func cloneValues(q url.Values) map[string][]string {
	out := make(map[string][]string, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func (op *OP) serve(w http.ResponseWriter, r *http.Request) {
	if op.Hang != "" && r.URL.Path == op.Hang {
		select {
		case <-op.hangDone:
		case <-r.Context().Done():
		}
		return
	}
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		op.discovery(w, r)
	case "/jwks":
		op.jwks(w, r)
	case "/authorize":
		op.authorize(w, r)
	case "/token":
		op.token(w, r)
	case "/userinfo":
		if r.Header.Get("Authorization") != "Bearer "+op.AccessToken {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		u := map[string]any{"sub": Subject, "email": Email, "email_verified": true, "name": Name, "picture": Picture}
		if op.Userinfo != nil {
			op.Userinfo(u)
		}
		op.writeJSON(w, r, u)
	default:
		http.NotFound(w, r)
	}
}

func (op *OP) discovery(w http.ResponseWriter, r *http.Request) {
	iss := op.Issuer()
	if op.DiscoveryIssuer != "" {
		iss = op.DiscoveryIssuer
	}
	ui := op.Issuer() + "/userinfo"
	if op.UserinfoEndpoint != "" {
		ui = op.UserinfoEndpoint
	}
	op.writeJSON(w, r, map[string]any{
		"issuer":                 iss,
		"authorization_endpoint": op.Issuer() + "/authorize",
		"token_endpoint":         op.Issuer() + "/token",
		"userinfo_endpoint":      ui,
		"jwks_uri":               op.Issuer() + "/jwks",
		// A hostile provider invites the weak choices; the client must
		// not take them.
		"id_token_signing_alg_values_supported":          []string{"ES256", "HS256", "none"},
		"code_challenge_methods_supported":               []string{"plain", "S256"},
		"authorization_response_iss_parameter_supported": op.AdvertiseIss,
	})
}

func (op *OP) jwks(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	var set jose.JSONWebKeySet
	n := len(op.keys)
	if op.HideNewestKey {
		n--
	}
	for i := range n {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &op.keys[i].PublicKey, KeyID: op.kids[i], Algorithm: "ES256", Use: "sig"})
	}
	op.mu.Unlock()
	b, err := json.Marshal(set)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	op.writeJSON(w, r, m)
}

func (op *OP) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	op.mu.Lock()
	op.seen = append(op.seen, q)
	op.mu.Unlock()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	v := url.Values{"state": {q.Get("state")}}
	if op.RedirectIss != "" {
		v.Set("iss", op.RedirectIss)
	}
	if op.DenyWith != "" {
		v.Set("error", "access_denied")
		v.Set("error_description", op.DenyWith)
	} else {
		code := random()
		op.mu.Lock()
		op.pending[code] = authRequest{q.Get("code_challenge"), q.Get("code_challenge_method"), q.Get("nonce"), q.Get("redirect_uri")}
		op.mu.Unlock()
		v.Set("code", code)
	}
	if op.Redirect != nil {
		op.Redirect(v)
	}
	redirect.RawQuery = v.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token checks the code, PKCE S256 and the redirect URI as an honest
// provider would, then answers per the knobs.
func (op *OP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if r.PostForm.Get("grant_type") == "refresh_token" {
		op.refresh(w, r)
		return
	}
	code := r.PostForm.Get("code")
	op.mu.Lock()
	req, ok := op.pending[code]
	delete(op.pending, code)
	op.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || req.method != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != req.challenge ||
		r.PostForm.Get("redirect_uri") != req.redirect {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"PKCE or code check failed"}`))
		return
	}
	if op.TokenRaw != "" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(op.TokenRaw))
		return
	}
	op.issue(w, r, req.nonce)
}

// refresh answers a refresh grant: a known refresh token gets new tokens
// (and, with Rotate, a new refresh token); anything else invalid_grant.
func (op *OP) refresh(w http.ResponseWriter, r *http.Request) {
	op.mu.Lock()
	known := r.PostForm.Get("refresh_token") == op.RefreshToken
	if known && op.RefuseRefresh == "" {
		op.refreshes++
		if op.Rotate {
			op.RefreshToken = "rt-" + random()
		}
	}
	refuse := op.RefuseRefresh
	op.mu.Unlock()
	if !known && refuse == "" {
		refuse = "invalid_grant"
	}
	if refuse != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"error":%q}`, refuse)
		return
	}
	op.issue(w, r, "")
}

// Refreshes counts the refresh grants answered with tokens.
func (op *OP) Refreshes() int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.refreshes
}

// issue answers a token request with signed tokens.
func (op *OP) issue(w http.ResponseWriter, r *http.Request, nonce string) {
	now := time.Now()
	claims := map[string]any{
		"iss": op.Issuer(), "sub": Subject, "aud": ClientID, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "email": Email, "email_verified": true, "name": Name,
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if op.Claims != nil {
		op.Claims(claims)
	}
	raw, err := op.Sign(claims)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if op.IDToken != nil {
		raw = op.IDToken(raw)
	}
	op.mu.Lock()
	op.issued = append(op.issued, raw)
	op.mu.Unlock()
	op.mu.Lock()
	body := map[string]any{"access_token": op.AccessToken, "token_type": "Bearer", "expires_in": 3600, "refresh_token": op.RefreshToken, "id_token": raw}
	op.mu.Unlock()
	if op.TokenBody != nil {
		op.TokenBody(body)
	}
	op.writeJSON(w, r, body)
}

// Sign signs claims as a compact ES256 JWT with the newest key.
func (op *OP) Sign(claims map[string]any) (string, error) {
	op.mu.Lock()
	k, kid := op.keys[len(op.keys)-1], op.kids[len(op.kids)-1]
	op.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", kid).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("oidctest: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidctest: claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidctest: sign: %w", err)
	}
	return jws.CompactSerialize()
}

func (op *OP) writeJSON(w http.ResponseWriter, r *http.Request, v map[string]any) {
	if op.Oversize != "" && r.URL.Path == op.Oversize {
		v["pad"] = strings.Repeat("x", oversizePad)
	}
	WriteJSON(w, v)
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// UnsignedJWT builds a compact JWT from header and claims with sig as its
// signature (empty for alg none).
func UnsignedJWT(header, claims map[string]any, sig []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

// ClaimsOf decodes a compact JWT's payload without verifying it; nil when
// it is not one.
func ClaimsOf(raw string) map[string]any {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c map[string]any
	if json.Unmarshal(b, &c) != nil {
		return nil
	}
	return c
}

// AlgNone is an IDToken rewrite: the same claims, "alg": "none", no
// signature.
func AlgNone(raw string) string {
	return UnsignedJWT(map[string]any{"alg": "none", "typ": "JWT"}, ClaimsOf(raw), nil)
}

// HMACSigned returns an IDToken rewrite that re-signs the claims with
// HS256 keyed by key: the algorithm confusion attack, where key is public
// material the client knows (its client ID, the provider's public key).
func HMACSigned(key []byte) func(raw string) string {
	return func(raw string) string {
		unsigned := UnsignedJWT(map[string]any{"alg": "HS256", "typ": "JWT"}, ClaimsOf(raw), nil)
		input := strings.TrimSuffix(unsigned, ".")
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
}

// TamperSignature is an IDToken rewrite that flips bits in the signature.
func TamperSignature(raw string) string {
	i := strings.LastIndex(raw, ".")
	sig, err := base64.RawURLEncoding.DecodeString(raw[i+1:])
	if err != nil || len(sig) < 11 {
		return raw + "x"
	}
	sig[10] ^= 0xff
	return raw[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}

// TamperPayload is an IDToken rewrite that keeps the header and signature
// and replaces the payload with edited claims.
func TamperPayload(edit func(c map[string]any)) func(raw string) string {
	return func(raw string) string {
		parts := strings.Split(raw, ".")
		c := ClaimsOf(raw)
		edit(c)
		payload, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
	}
}

func random() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
