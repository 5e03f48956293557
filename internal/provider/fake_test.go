package provider

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/flow"
)

// fakeProvider answers like one provider's documentation says it does. The
// authorization and token endpoints are shared (code + PKCE S256 +
// redirect_uri checks); everything provider-specific is a knob or an extra
// route.
type fakeProvider struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux

	mu        sync.Mutex
	pending   map[string]authRequest
	authReqs  []url.Values
	tokenReqs []tokenRequest

	// discovery, when set, answers /.well-known/openid-configuration (at
	// any prefix) with the document for base = srv.URL.
	discovery func(base string) map[string]any
	// idToken, when set, adds an RS256 ID token with these claims.
	idToken func(r authRequest) map[string]any
	// token writes the rest of the token response: content type and body.
	token func(r authRequest) (string, string)
	// formPost answers the authorization request with an auto-submitting
	// form_post page (Apple), adding formExtra to the fields.
	formPost  bool
	formExtra url.Values
}

type authRequest struct {
	ClientID, Challenge, Method, Nonce, Redirect, Scope string
}

type tokenRequest struct {
	Form   url.Values
	Header http.Header
}

var fakeKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	f := &fakeProvider{t: t, mux: http.NewServeMux(), pending: map[string]authRequest{}}
	f.mux.HandleFunc("/authorize", f.authorize)
	f.mux.HandleFunc("/token", f.tokenEndpoint)
	f.mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &fakeKey().PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") && f.discovery != nil {
			writeJSON(w, f.discovery(f.srv.URL))
			return
		}
		f.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) url() string { return f.srv.URL }

func (f *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.authReqs = append(f.authReqs, q)
	f.mu.Unlock()
	code := strconv.FormatInt(time.Now().UnixNano(), 36)
	f.mu.Lock()
	f.pending[code] = authRequest{q.Get("client_id"), q.Get("code_challenge"), q.Get("code_challenge_method"), q.Get("nonce"), q.Get("redirect_uri"), q.Get("scope")}
	f.mu.Unlock()
	answer := url.Values{"code": {code}, "state": {q.Get("state")}}
	if !f.formPost {
		u, _ := url.Parse(q.Get("redirect_uri"))
		u.RawQuery = answer.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return
	}
	for k, v := range f.formExtra {
		answer[k] = v
	}
	page := template.Must(template.New("").Parse(`<!doctype html><html><body onload="document.forms[0].submit()">
<form method="post" action="{{.Action}}">{{range $k, $vs := .Fields}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}</form></body></html>`))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, map[string]any{"Action": q.Get("redirect_uri"), "Fields": answer})
}

func (f *fakeProvider) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.tokenReqs = append(f.tokenReqs, tokenRequest{Form: r.PostForm, Header: r.Header.Clone()})
	req, ok := f.pending[r.PostForm.Get("code")]
	delete(f.pending, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !ok || req.Method != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != req.Challenge || r.PostForm.Get("redirect_uri") != req.Redirect {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"code, PKCE or redirect_uri check failed"}`)
		return
	}
	ct, body := f.token(req)
	if f.idToken != nil {
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			f.t.Errorf("token knob must answer JSON when an ID token is added: %v", err)
		}
		m["id_token"] = signRS256(f.t, f.idToken(req))
		b, _ := json.Marshal(m)
		body = string(b)
	}
	w.Header().Set("Content-Type", ct)
	_, _ = io.WriteString(w, body)
}

// lastToken returns the last token request the fake received.
func (f *fakeProvider) lastToken() tokenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.tokenReqs) == 0 {
		f.t.Fatal("no token request was made")
	}
	return f.tokenReqs[len(f.tokenReqs)-1]
}

func (f *fakeProvider) lastAuth() url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.authReqs) == 0 {
		f.t.Fatal("no authorization request was made")
	}
	return f.authReqs[len(f.authReqs)-1]
}

// oidcDiscovery is a discovery document for an issuer served by the fake.
func oidcDiscovery(issuer, base string, extra map[string]any) map[string]any {
	d := map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/authorize",
		"token_endpoint":                        base + "/token",
		"jwks_uri":                              base + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func jsonToken(body map[string]any) (string, string) {
	b, _ := json.Marshal(body)
	return "application/json", string(b)
}

func signRS256(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: fakeKey()}, (&jose.SignerOptions{}).WithHeader("kid", "k1").WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := jws.CompactSerialize()
	return s
}

// idClaims are the standard claims of an ID token for r.
func idClaims(iss string, r authRequest, extra map[string]any) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": iss, "aud": r.ClientID, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": r.Nonce}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// parseProvider reads one [providers.NAME] table through the real config
// loader, so that defaults and validation are the user's.
func parseProvider(t *testing.T, name, body string) *config.Provider {
	t.Helper()
	f, err := config.Parse("test.toml", []byte("[providers."+name+"]\n"+body), func(string) string { return "" }, Kinds())
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	pc, err := f.Provider(name)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// parseErr reads a config document that must not load through the real
// config loader and returns its first problem, whole-file or per table.
func parseErr(t *testing.T, doc string, env map[string]string) *config.Error {
	t.Helper()
	f, err := config.Parse("/home/alice/.config/authcli/config.toml", []byte(doc), func(k string) string { return env[k] }, Kinds())
	if err == nil {
		err = f.Err()
	}
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("Parse error = %v, want a *config.Error\ndocument:\n%s", err, doc)
	}
	return ce
}

// configRules runs table-driven config rules: each document's first
// problem is at key, on line, and says problem.
func configRules(t *testing.T, tests []configRule) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = map[string]string{"HOME": "/home/alice"}
			}
			e := parseErr(t, tt.doc, env)
			if e.Key != tt.key || e.Line != tt.line || !strings.Contains(e.Problem, tt.problem) {
				t.Errorf("error %q: key %q line %d, want key %q line %d and …%s…", e, e.Key, e.Line, tt.key, tt.line, tt.problem)
			}
		})
	}
}

type configRule struct {
	name    string
	doc     string
	env     map[string]string // nil: HOME only
	key     string
	line    int
	problem string
}

// freePort finds a loopback port for providers that need a fixed one.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// signIn runs flow.Login for p, playing the browser with client: it
// follows redirects and submits form_post pages, as a browser would.
func signIn(t *testing.T, p flow.Provider, client *http.Client) (*flow.Result, error) {
	t.Helper()
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan string, 1)
	var opened atomic.Bool
	l := &flow.Login{
		Provider:   p,
		HTTPClient: flow.NewHTTPClient(5 * time.Second),
		Open: func(_ context.Context, authURL string) error {
			opened.Store(true)
			go func() { done <- browse(client, authURL) }()
			return nil
		},
	}
	res, err := l.Run(ctx)
	res.Wait() // as a caller must before it exits or signs in again
	if !opened.Load() {
		return res, err
	}
	select {
	case page := <-done:
		if err == nil && !strings.Contains(page, "signed in") {
			t.Errorf("the browser tab does not show success:\n%.400s", page)
		}
	case <-time.After(10 * time.Second):
		t.Error("the browser never finished")
	}
	return res, err
}

// browse GETs authURL and, while the page is an auto-submitting form,
// submits it. It returns the last page's text.
func browse(client *http.Client, authURL string) string {
	resp, err := client.Get(authURL)
	for range 3 {
		if err != nil {
			return "request failed: " + err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		action, fields, ok := findPostForm(string(body))
		if !ok {
			return string(body)
		}
		resp, err = client.PostForm(action, fields)
	}
	return "too many form posts"
}

// findPostForm finds the first method=post form of a page and its fields.
func findPostForm(page string) (string, url.Values, bool) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return "", nil, false
	}
	var action string
	fields := url.Values{}
	found := false
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch {
			case n.Data == "form" && strings.EqualFold(attr["method"], "post") && !found:
				found, action = true, attr["action"]
			case n.Data == "input" && found && attr["name"] != "":
				fields.Add(attr["name"], attr["value"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return action, fields, found && action != ""
}

// errorMentions fails t unless err is set and mentions every word.
func errorMentions(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", words)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

var errUnexpected = errors.New("unexpected request")

// refuse is a handler for endpoints a preset must not call.
func refuse(t *testing.T, what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s was called (%s %s): %v", what, r.Method, r.URL.Path, errUnexpected)
		http.Error(w, "unexpected", http.StatusTeapot)
	}
}

func fmtPort(p int) string { return fmt.Sprint(p) }

func tokenOf(access, refresh string) *oauth2.Token {
	return &oauth2.Token{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer"}
}
