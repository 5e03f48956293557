package flow

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/oidctest"
)

// countingClient counts requests by path, and keeps their order.
type countingClient struct {
	mu    sync.Mutex
	hits  map[string]int
	order []string
}

func (c *countingClient) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	c.order = append(c.order, r.URL.Path)
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// paths are the requests' paths so far, in order.
func (c *countingClient) paths() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.order)
}

func (c *countingClient) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

type mapCache struct {
	mu   sync.Mutex // a sign-in reads its keys on a goroutine of its own
	docs map[string][]byte
	exp  map[string]time.Time
}

func (m *mapCache) Get(url string, now time.Time) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.docs[url]
	return d, ok && now.Before(m.exp[url])
}

func (m *mapCache) Put(url string, doc []byte, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.docs[url], m.exp[url] = doc, expires
}

func refreshFixture(t *testing.T) (*oidctest.OP, Provider, *countingClient, *http.Client, Known) {
	t.Helper()
	op := oidctest.New(t)
	counter := &countingClient{hits: map[string]int{}}
	client := &http.Client{Transport: counter}
	p := Provider{Name: "corp", Issuer: op.Issuer(), ClientID: oidctest.ClientID}
	e, err := p.Resolve(context.Background(), client, nil)
	if err != nil {
		t.Fatal(err)
	}
	return op, p, counter, client, e.Known()
}

func TestRefreshEndpointsNeedNoDiscovery(t *testing.T) {
	_, p, counter, client, known := refreshFixture(t)
	cache := &mapCache{docs: map[string][]byte{}, exp: map[string]time.Time{}}
	disc := counter.count("/.well-known/openid-configuration")
	ctx := context.Background()
	for range 3 {
		e, err := p.RefreshEndpoints(ctx, client, known, cache, false, nil)
		if err == nil && e.awaitKeys != nil {
			err = e.awaitKeys()
		}
		if err != nil || e.Verifier == nil || e.Token != known.Token {
			t.Fatalf("RefreshEndpoints: %+v %v", e, err)
		}
	}
	if got := counter.count("/.well-known/openid-configuration"); got != disc {
		t.Errorf("%d discovery requests for refreshes whose endpoints were known", got-disc)
	}
	if got := counter.count("/jwks"); got != 1 {
		t.Errorf("%d JWKS fetches for three refreshes, want 1 (cached)", got)
	}
	if _, err := p.RefreshEndpoints(ctx, client, known, cache, true, nil); err != nil || counter.count("/jwks") != 2 {
		t.Errorf("fresh=true must fetch the keys again: %v, %d fetches", err, counter.count("/jwks"))
	}
	// Endpoints learnt for another issuer are not trusted: discovery.
	other := known
	other.Issuer = "https://elsewhere.example"
	if _, err := p.RefreshEndpoints(ctx, client, other, cache, false, nil); err != nil {
		t.Fatal(err)
	}
	if got := counter.count("/.well-known/openid-configuration"); got != disc+1 {
		t.Errorf("a record of another issuer skipped discovery (%d)", got-disc)
	}
}

func TestMaxAge(t *testing.T) {
	tests := []struct {
		header string
		want   time.Duration
		said   bool
	}{
		{"", 0, false},
		{"public, max-age=600", 10 * time.Minute, true},
		{"no-store", 0, true},
		{"no-cache, max-age=60", 0, true},
		{"max-age=999999999", maxKeyMaxAge, true},
		{"max-age=junk", 0, true},
		{"private", 0, false},
	}
	for _, tt := range tests {
		got, said := maxAge(tt.header)
		if got != tt.want || said != tt.said {
			t.Errorf("maxAge(%q) = %s, %t; want %s, %t", tt.header, got, said, tt.want, tt.said)
		}
	}
}

func TestRefreshGrantErrors(t *testing.T) {
	op, p, _, client, known := refreshFixture(t)
	ctx := context.Background()
	_, err := p.RefreshGrant(ctx, client, known.Token, "not-the-token", time.Now())
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Code != "invalid_grant" || pe.Stage != "refresh" {
		t.Errorf("unknown refresh token: %v", err)
	}
	op.TokenRaw = "" // a closed port: no answer at all
	_, err = p.RefreshGrant(ctx, client, "http://127.0.0.1:1/token", op.RefreshToken, time.Now())
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("closed port: %v, want ErrUnreachable", err)
	}
	if _, err := p.RefreshGrant(ctx, client, "ftp://x/token", "rt", time.Now()); err == nil {
		t.Error("a non-http token endpoint was used")
	}
}

func TestVerifyRefresh(t *testing.T) {
	op, p, _, client, known := refreshFixture(t)
	ctx := context.Background()
	e, err := p.RefreshEndpoints(ctx, client, known, nil, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(edit func(c map[string]any)) string {
		c := map[string]any{"iss": op.Issuer(), "sub": oidctest.Subject, "aud": oidctest.ClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		if edit != nil {
			edit(c)
		}
		raw, err := op.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tok := func(extra map[string]any) *oauth2.Token {
		return (&oauth2.Token{AccessToken: "at", TokenType: "Bearer"}).WithExtra(extra)
	}
	tests := []struct {
		name    string
		tok     *oauth2.Token
		is      error
		idToken bool
	}{
		{"no ID token", tok(map[string]any{"scope": "openid email"}), nil, false},
		{"good ID token", tok(map[string]any{"id_token": sign(nil)}), nil, true},
		{"another subject", tok(map[string]any{"id_token": sign(func(c map[string]any) { c["sub"] = "mallory" })}), ErrIDToken, false},
		{"another audience", tok(map[string]any{"id_token": sign(func(c map[string]any) { c["aud"] = "x" })}), ErrIDToken, false},
		{"no access token", (&oauth2.Token{}), ErrTokenResponse, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyRefresh(ctx, e, oidctest.ClientID, oidctest.Subject, tt.tok, now)
			if tt.is == nil {
				if err != nil || (got.IDToken != "") != tt.idToken {
					t.Fatalf("VerifyRefresh: %+v %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrRefreshCheck) || !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want ErrRefreshCheck and %v", err, tt.is)
			}
		})
	}
	op.RotateKey()
	_, err = VerifyRefresh(ctx, e, oidctest.ClientID, oidctest.Subject, tok(map[string]any{"id_token": sign(nil)}), now)
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("a key the cached set lacks: %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(headerKID(sign(nil)), "k2") {
		t.Error("headerKID did not read the kid")
	}
}

// Keys read from the cache are parsed while the grant is on the wire; the
// answer is checked against them all the same, and keys that do not parse
// ask for a fresh fetch rather than let the ID token through.
func TestVerifyRefreshCachedKeys(t *testing.T) {
	op, p, counter, client, known := refreshFixture(t)
	ctx := context.Background()
	cache := &mapCache{docs: map[string][]byte{}, exp: map[string]time.Time{}}
	if _, err := p.RefreshEndpoints(ctx, client, known, cache, false, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	idToken := func(sub string) *oauth2.Token {
		raw, err := op.Sign(map[string]any{"iss": op.Issuer(), "sub": sub, "aud": oidctest.ClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return (&oauth2.Token{AccessToken: "at", TokenType: "Bearer"}).WithExtra(map[string]any{"id_token": raw})
	}
	fetches := counter.count("/jwks")
	tests := []struct {
		name string
		doc  []byte // nil: as fetched
		sub  string
		is   error
	}{
		{"good ID token", nil, oidctest.Subject, nil},
		{"another subject", nil, "mallory", ErrIDToken},
		{"damaged cache", []byte(`{"keys":[{"kty":"RSA"`), oidctest.Subject, ErrUnknownKey},
		{"no signing key", []byte(`{"keys":[]}`), oidctest.Subject, ErrUnknownKey},
	}
	good := cache.docs[known.JWKS]
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache.docs[known.JWKS] = good
			if tt.doc != nil {
				cache.docs[known.JWKS] = tt.doc
			}
			e, err := p.RefreshEndpoints(ctx, client, known, cache, false, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := VerifyRefresh(ctx, e, oidctest.ClientID, oidctest.Subject, idToken(tt.sub), now)
			if tt.is == nil {
				if err != nil || got.IDToken == "" {
					t.Fatalf("VerifyRefresh: %+v %v", got, err)
				}
				return
			}
			if !errors.Is(err, ErrRefreshCheck) || !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want ErrRefreshCheck and %v", err, tt.is)
			}
		})
	}
	if got := counter.count("/jwks"); got != fetches {
		t.Errorf("%d key fetches while the cache held the keys", got-fetches)
	}
}
