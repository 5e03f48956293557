package flow

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

// KeyCache keeps a provider's JWKS documents between processes, so that a
// refresh needs no key fetch while the provider's cache headers allow.
type KeyCache interface {
	// Get returns the cached document for url while it is fresh at now.
	Get(url string, now time.Time) ([]byte, bool)
	// Put stores a document that stays fresh until expires.
	Put(url string, doc []byte, expires time.Time)
}

// keySet is a parsed JWKS: the public keys a refreshed ID token may be
// signed with, fetched before the refresh grant so that checking its
// answer needs no network.
type keySet struct {
	keys []jose.JSONWebKey
}

func (k *keySet) has(kid string) bool {
	if kid == "" {
		return len(k.keys) > 0 // no kid: any of the keys may verify
	}
	return slices.ContainsFunc(k.keys, func(j jose.JSONWebKey) bool { return j.KeyID == kid })
}

func (k *keySet) public() []crypto.PublicKey {
	out := make([]crypto.PublicKey, 0, len(k.keys))
	for _, j := range k.keys {
		// Only asymmetric signing keys: a symmetric key in a JWKS would
		// let anyone holding the client secret forge ID tokens.
		if j.IsPublic() && j.Use != "enc" {
			out = append(out, j.Key)
		}
	}
	return out
}

// defaultKeyMaxAge is how long keys without cache headers are reused. A
// rotated key is still picked up at once: an unknown kid makes the caller
// fetch again (ErrUnknownKey).
const defaultKeyMaxAge = time.Hour

// maxKeyMaxAge caps what a provider's Cache-Control may ask for.
const maxKeyMaxAge = 24 * time.Hour

// fetchKeys reads the JWKS at url, from cache when it is fresh there
// (and fromCache allows), else from the provider.
func fetchKeys(ctx context.Context, client *http.Client, url string, cache KeyCache, fromCache bool, now time.Time) (*keySet, error) {
	if cache != nil && fromCache {
		if doc, ok := cache.Get(url, now); ok {
			if ks, err := parseKeys(doc); err == nil {
				return ks, nil
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: the JWKS URI: %w", ErrDiscovery, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, reachError("the JWKS request", err)
	}
	defer resp.Body.Close()
	doc, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, reachError("the JWKS request", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: the JWKS URI answered HTTP %d", ErrDiscovery, resp.StatusCode)
	}
	ks, err := parseKeys(doc)
	if err != nil {
		return nil, err
	}
	if cache != nil {
		if age, ok := maxAge(resp.Header.Get("Cache-Control")); ok {
			if age > 0 {
				cache.Put(url, doc, now.Add(age))
			}
		} else {
			cache.Put(url, doc, now.Add(defaultKeyMaxAge))
		}
	}
	return ks, nil
}

func parseKeys(doc []byte) (*keySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("%w: the JWKS is not a JSON key set: %w", ErrDiscovery, err)
	}
	ks := &keySet{keys: set.Keys}
	if len(ks.public()) == 0 {
		return nil, fmt.Errorf("%w: the JWKS holds no public signing key", ErrDiscovery)
	}
	return ks, nil
}

// maxAge reads a Cache-Control header: the max-age it allows (0 for
// no-store and no-cache), capped, and whether the header said anything.
func maxAge(header string) (time.Duration, bool) {
	if header == "" {
		return 0, false
	}
	for _, d := range strings.Split(header, ",") {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case d == "no-store" || d == "no-cache":
			return 0, true
		case strings.HasPrefix(d, "max-age="):
			n, err := strconv.Atoi(strings.TrimPrefix(d, "max-age="))
			if err != nil || n < 0 {
				return 0, true
			}
			return min(time.Duration(n)*time.Second, maxKeyMaxAge), true
		}
	}
	return 0, false
}

// headerKID reads a compact JWT's kid header without trusting it.
func headerKID(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		KID string `json:"kid"`
	}
	_ = json.Unmarshal(b, &hdr)
	return hdr.KID
}

// Known describes a provider's endpoints as a sign-in recorded them, so a
// refresh can skip discovery.
type Known struct {
	Issuer      string
	Token       string
	Revocation  string
	JWKS        string
	SigningAlgs []string
}

// Known returns what a refresh needs to remember from resolved endpoints.
func (e *Endpoints) Known() Known {
	return Known{Issuer: e.Issuer, Token: e.Token, Revocation: e.Revocation, JWKS: e.JWKS, SigningAlgs: slices.Clone(e.SigningAlgs)}
}

// RefreshEndpoints returns the endpoints and ID-token verifier a refresh
// needs. When k (from the sign-in) matches the provider's configured issuer
// and the provider needs no custom issuer rule, no discovery is done: the
// keys come from cache or one JWKS fetch, made before the grant so that
// verifying its answer needs no network. Otherwise it resolves by
// discovery, as a sign-in does. fresh forces a key fetch (after
// ErrUnknownKey).
func (p Provider) RefreshEndpoints(ctx context.Context, client *http.Client, k Known, cache KeyCache, fresh bool, now func() time.Time) (*Endpoints, error) {
	if now == nil {
		now = time.Now
	}
	usable := p.IssuerCheck == nil && k.Token != "" && k.Issuer == p.Issuer && (p.Issuer == "" || k.JWKS != "")
	if !usable {
		return p.Resolve(ctx, client, now)
	}
	e := &Endpoints{Issuer: k.Issuer, Token: k.Token, Revocation: k.Revocation, JWKS: k.JWKS, SigningAlgs: k.SigningAlgs}
	override := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	override(&e.Token, p.TokenURL)
	override(&e.JWKS, p.JWKSURL)
	override(&e.Revocation, p.RevocationURL)
	for _, u := range []struct{ what, url string }{{"token endpoint", e.Token}, {"JWKS URI", e.JWKS}, {"revocation endpoint", e.Revocation}} {
		if err := checkURL(u.what, u.url); err != nil {
			return nil, err
		}
	}
	if p.Issuer == "" {
		return e, nil
	}
	if cache != nil && !fresh {
		if doc, ok := cache.Get(e.JWKS, now()); ok {
			e.useKeysLater(p, doc, now)
			return e, nil
		}
	}
	ks, err := fetchKeys(ctx, client, e.JWKS, cache, false, now())
	if err != nil {
		return nil, err
	}
	e.useKeys(p, ks, now)
	return e, nil
}

// useKeysLater parses cached keys while the refresh grant is on the wire:
// parsing a JWKS takes several times longer than reading it, and nothing
// needs the keys before the provider answers. VerifyRefresh waits for
// them; keys that do not parse make it ask for a fresh fetch
// (ErrUnknownKey), as an unknown kid does.
func (e *Endpoints) useKeysLater(p Provider, doc []byte, now func() time.Time) {
	parsed := make(chan error, 1)
	go func() {
		ks, err := parseKeys(doc)
		if err == nil {
			e.useKeys(p, ks, now)
		}
		parsed <- err
	}()
	e.awaitKeys = sync.OnceValue(func() error { return <-parsed })
}

// useKeys makes e's verifier check ID tokens against ks alone, with the
// algorithms discovery announced (else OpenID's default, RS256).
func (e *Endpoints) useKeys(p Provider, ks *keySet, now func() time.Time) {
	algs := e.SigningAlgs
	if len(algs) == 0 {
		algs = []string{oidc.RS256} // OpenID Connect Discovery's default
	}
	e.keys = ks
	e.Verifier = oidc.NewVerifier(p.Issuer, &oidc.StaticKeySet{PublicKeys: ks.public()}, &oidc.Config{
		ClientID: p.ClientID, Now: now, SupportedSigningAlgs: asymmetric(algs),
		SkipIssuerCheck: e.issuerCheck != nil, // VerifyIDToken runs the provider's own rule
	})
}

// prefetchKeys starts reading the provider's signing keys, from cache or
// its JWKS URI, while the person signs in: checking the provider's answer
// then waits on no request. The returned function waits for them (until ctx
// ends) and gives nil when there are none to use: no OpenID provider, or
// the fetch failed. A failure is not reported here; the verifier Resolve
// made fetches the keys itself then, and says what went wrong.
func (e *Endpoints) prefetchKeys(ctx context.Context, client *http.Client, cache KeyCache, now func() time.Time) func() *keySet {
	if e.Verifier == nil || e.JWKS == "" {
		return func() *keySet { return nil }
	}
	got := make(chan *keySet, 1)
	go func() {
		ks, err := fetchKeys(ctx, client, e.JWKS, cache, true, now())
		if err != nil {
			ks = nil
		}
		got <- ks
	}()
	return func() *keySet {
		select {
		case ks := <-got:
			got <- ks // a second wait sees the same keys
			return ks
		case <-ctx.Done():
			return nil
		}
	}
}

// asymmetric keeps the public-key algorithms: "none" and HMAC never verify.
func asymmetric(algs []string) []string {
	return slices.DeleteFunc(slices.Clone(algs), func(a string) bool {
		return a == "none" || strings.HasPrefix(a, "HS")
	})
}
