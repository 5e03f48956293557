package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/authcli/authcli/internal/config"
)

// writeKey writes a PEM PKCS #8 key file like Apple's AuthKey_KEYID.p8.
func writeKey(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "AuthKey_ABC123DEFG.p8")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type appleFake struct {
	*fakeProvider
	key     *ecdsa.PrivateKey
	keyFile string
	relay   *httptest.Server
	port    int
	revoked []url.Values
}

// newApple serves Apple's shapes: discovery without userinfo, a form_post
// answer carrying the first-time user field, an ID token whose
// email_verified is the string "true", and /auth/revoke. relay is the HTTPS
// page the user hosts: it answers the POST with a 307 to the loopback port.
func newApple(t *testing.T) *appleFake {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := &appleFake{fakeProvider: newFakeProvider(t), key: key, keyFile: writeKey(t, key), port: freePort(t)}
	a.formPost = true
	a.formExtra = url.Values{"user": {`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"x7k2@privaterelay.appleid.com"}`}}
	a.discovery = func(base string) map[string]any {
		return oidcDiscovery(base, base, map[string]any{
			"revocation_endpoint":      base + "/auth/revoke",
			"response_modes_supported": []string{"query", "fragment", "form_post"},
			"scopes_supported":         []string{"openid", "email", "name"},
		})
	}
	a.idToken = func(r authRequest) map[string]any {
		return idClaims(a.url(), r, map[string]any{
			"sub": "001234.8a61f9b3a7aba766e0f8b2c1d3e4f5a6.1234", "email": "x7k2@privaterelay.appleid.com",
			"email_verified": "true", "is_private_email": "true", "auth_time": time.Now().Unix(), "nonce_supported": true,
		})
	}
	a.token = func(authRequest) (string, string) {
		return jsonToken(map[string]any{"access_token": "a1b2.0.at", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r1b2.0.rt"})
	}
	a.mux.HandleFunc("/userinfo", refuse(t, "a userinfo endpoint Apple does not have"))
	a.mux.HandleFunc("POST /auth/revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		a.revoked = append(a.revoked, r.PostForm)
		w.WriteHeader(http.StatusOK)
	})
	a.relay = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/apple/callback" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Location", "http://127.0.0.1:"+fmtPort(a.port)+"/callback/apple")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(a.relay.Close)
	return a
}

func (a *appleFake) config() string {
	return `
client_id = "com.example.authcli.web"
team_id = "DEF123GHIJ"
key_id = "ABC123DEFG"
private_key_file = "` + a.keyFile + `"
issuer = "` + a.url() + `"
redirect_uri = "` + a.relay.URL + `/apple/callback"
redirect_port = ` + fmtPort(a.port) + `
`
}

func (a *appleFake) browser() *http.Client {
	c := a.relay.Client()
	c.Timeout = 10 * time.Second
	return c
}

func TestAppleSignInThroughRelay(t *testing.T) {
	a := newApple(t)
	now := time.Now()
	p, err := Build(parseProvider(t, "apple", a.config()), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	res, err := signIn(t, p, a.browser())
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	got := res.Profile
	if got.Subject != "001234.8a61f9b3a7aba766e0f8b2c1d3e4f5a6.1234" || got.Email != "x7k2@privaterelay.appleid.com" {
		t.Errorf("profile = %+v", got)
	}
	if !got.EmailVerified {
		t.Error(`email_verified "true" (a string) was not read as verified`)
	}
	if got.Name != "Ada Lovelace" || got.Claims["given_name"] != "Ada" {
		t.Errorf("first-time name from the user field: %q", got.Name)
	}

	q := a.lastAuth()
	if q.Get("response_mode") != "form_post" || q.Get("scope") != "openid name email" {
		t.Errorf("authorization request: %v", q)
	}
	if q.Get("redirect_uri") != a.relay.URL+"/apple/callback" {
		t.Errorf("redirect_uri sent = %q, want the relay", q.Get("redirect_uri"))
	}
	tr := a.lastToken()
	if tr.Form.Get("redirect_uri") != a.relay.URL+"/apple/callback" {
		t.Errorf("token request redirect_uri = %q, want the relay", tr.Form.Get("redirect_uri"))
	}
	if _, _, ok := basicAuth(tr.Header); ok {
		t.Error("Apple wants the client secret as a form field, not HTTP Basic")
	}
	checkAppleSecret(t, tr.Form.Get("client_secret"), &a.key.PublicKey, a.url(), now)

	// The name comes once: a later sign-in has no user field.
	a.formExtra = nil
	res, err = signIn(t, p, a.browser())
	if err != nil {
		t.Fatalf("second sign-in: %v", err)
	}
	if res.Profile.Name != "" || res.Profile.Subject == "" {
		t.Errorf("second sign-in profile = %+v", res.Profile)
	}

	if err := p.Revoke(context.Background(), http.DefaultClient, res.Token); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if len(a.revoked) != 1 || a.revoked[0].Get("token") != "r1b2.0.rt" || a.revoked[0].Get("token_type_hint") != "refresh_token" ||
		a.revoked[0].Get("client_id") != "com.example.authcli.web" || a.revoked[0].Get("client_secret") == "" {
		t.Errorf("revocation request = %v", a.revoked)
	}
}

// checkAppleSecret verifies the client secret JWT as Apple documents it.
func checkAppleSecret(t *testing.T, secret string, pub *ecdsa.PublicKey, aud string, now time.Time) {
	t.Helper()
	tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("client secret is not an ES256 JWT: %v", err)
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != "ABC123DEFG" {
		t.Errorf("kid = %v", tok.Headers)
	}
	var c jwt.Claims
	if err := tok.Claims(pub, &c); err != nil {
		t.Fatalf("client secret signature: %v", err)
	}
	if c.Issuer != "DEF123GHIJ" || c.Subject != "com.example.authcli.web" || len(c.Audience) != 1 || c.Audience[0] != aud {
		t.Errorf("claims iss %q sub %q aud %v", c.Issuer, c.Subject, c.Audience)
	}
	if c.IssuedAt == nil || c.Expiry == nil || c.IssuedAt.Time().Unix() != now.Unix() {
		t.Fatalf("iat/exp missing or wrong: %+v", c)
	}
	if life := c.Expiry.Time().Sub(c.IssuedAt.Time()); life <= 0 || life > 15777000*time.Second {
		t.Errorf("lifetime %s outside Apple's six months", life)
	}
}

func TestAppleClientSecretLimits(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Unix(1_700_000_000, 0)
	if _, err := AppleClientSecret(key, "T", "K", "C", appleIssuer, now, 15777001*time.Second); err == nil {
		t.Error("a lifetime past six months was accepted")
	}
	s, err := AppleClientSecret(key, "T", "K", "C", appleIssuer, now, 15777000*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, ".") {
		t.Errorf("not a compact JWT: %q", s)
	}
}

func TestAppleStatus(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := writeKey(t, key)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	wrongType := writeKey(t, rsaKey)
	notPEM := filepath.Join(t.TempDir(), "key.p8")
	_ = os.WriteFile(notPEM, []byte("MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg"), 0o600)

	base := func(keyFile string) string {
		return "client_id = \"com.example.web\"\nteam_id = \"T\"\nkey_id = \"K\"\nprivate_key_file = \"" + keyFile + "\"\n"
	}
	relay := "redirect_uri = \"https://relay.example/apple\"\nredirect_port = 53682\n"
	tests := []struct {
		name, body, wantKey string
	}{
		{"ready", base(good) + relay, ""},
		{"no relay", base(good), "redirect_uri"},
		{"key file missing", base(filepath.Join(t.TempDir(), "nope.p8")) + relay, "private_key_file"},
		{"RSA key", base(wrongType) + relay, "private_key_file"},
		{"not PEM", base(notPEM) + relay, "private_key_file"},
		{"pre-made client secret", "client_id = \"c\"\nclient_secret = \"eyJ.premade\"\n" + relay, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pc := parseProvider(t, "apple", tt.body)
			ready, problem := Status(pc)
			if ready != (tt.wantKey == "") || !strings.HasPrefix(problem, tt.wantKey) {
				t.Fatalf("Status = %t %q, want key %q", ready, problem, tt.wantKey)
			}
			_, err := Build(pc, nil)
			if tt.wantKey == "" {
				if err != nil {
					t.Fatalf("Build: %v", err)
				}
				return
			}
			errorMentions(t, err, "apple", tt.wantKey)
			if strings.Contains(err.Error(), "MIGT") {
				t.Error("the error quotes the key file")
			}
		})
	}
}

func TestAppleUserClaims(t *testing.T) {
	tests := []struct {
		user string
		want string
	}{
		{`{"name":{"firstName":"Ada","lastName":"Lovelace"},"email":"a@b"}`, "Ada Lovelace"},
		{`{"name":{"firstName":"Ada"}}`, "Ada"},
		{`{"email":"a@b"}`, ""},
		{`not json`, ""},
		{``, ""},
	}
	for _, tt := range tests {
		got, _ := appleUserClaims(url.Values{"user": {tt.user}})["name"].(string)
		if got != tt.want {
			t.Errorf("user %q: name %q, want %q", tt.user, got, tt.want)
		}
	}
}

// TestAppleKeyRules: the config loader refuses an Apple table without a
// way to get a client secret, or with two, at the key to fix.
func TestAppleKeyRules(t *testing.T) {
	doc := func(lines ...string) string {
		return strings.Join(append([]string{"[providers.apple]"}, lines...), "\n") + "\n"
	}
	configRules(t, []configRule{
		{name: "needs team_id", doc: doc(`client_id = "com.example.app"`, `key_id = "K"`, `private_key_file = "/k.p8"`), key: "providers.apple.team_id", line: 1, problem: "is required for kind apple unless client_secret is set (authcli signs Apple's client secret with this key)"},
		{name: "needs key_id", doc: doc(`client_id = "com.example.app"`, `team_id = "T"`, `private_key_file = "/k.p8"`), key: "providers.apple.key_id", line: 1, problem: "is required for kind apple"},
		{name: "needs private_key_file", doc: doc(`client_id = "com.example.app"`, `team_id = "T"`, `key_id = "K"`), key: "providers.apple.private_key_file", line: 1, problem: "is required for kind apple"},
		{name: "needs all three, the first named", doc: doc(`client_id = "com.example"`), key: "providers.apple.team_id", line: 1, problem: "is required for kind apple"},
		{name: "secret conflicts with key", doc: doc(`client_id = "c"`, `client_secret = "s"`, `team_id = "T"`), key: "providers.apple.team_id", line: 4, problem: "conflicts with client_secret; set either client_secret or team_id, key_id and private_key_file"},
		{name: "key file without HOME", doc: doc(`client_id = "c"`, `team_id = "T"`, `key_id = "K"`, `private_key_file = "~/AuthKey.p8"`), env: map[string]string{}, key: "providers.apple.private_key_file", line: 5, problem: "starts with ~/ but HOME is not set; write the full path"},
		{name: "key file ~user", doc: doc(`client_id = "c"`, `team_id = "T"`, `key_id = "K"`, `private_key_file = "~bob/AuthKey.p8"`), key: "providers.apple.private_key_file", line: 5, problem: "only ~/ is expanded; write the full path"},
		{name: "team_id outside apple", doc: "[providers.github]\nclient_id = \"c\"\nteam_id = \"T\"\n", key: "providers.github.team_id", line: 3, problem: "applies only to kind apple"},
		{name: "private_key_file on oidc", doc: "[providers.corp]\nkind = \"oidc\"\nissuer = \"https://id.example\"\nclient_id = \"c\"\nprivate_key_file = \"/k.p8\"\n", key: "providers.corp.private_key_file", line: 5, problem: "applies only to kind apple"},
	})
}

// TestAppleKeyFilePath: the key file is found where the user keeps it,
// next to the config file or under their home.
func TestAppleKeyFilePath(t *testing.T) {
	tests := []struct{ file, want string }{
		{"keys/AuthKey_K1.p8", "/home/alice/.config/authcli/keys/AuthKey_K1.p8"},
		{"~/keys/a.p8", "/home/alice/keys/a.p8"},
		{"/etc/a/../AuthKey.p8", "/etc/AuthKey.p8"},
	}
	for _, tt := range tests {
		f, err := config.Parse("/home/alice/.config/authcli/config.toml", []byte("[providers.apple]\nclient_id = \"c\"\nteam_id = \"T1\"\nkey_id = \"K1\"\nprivate_key_file = \""+tt.file+"\"\n"),
			func(k string) string { return map[string]string{"HOME": "/home/alice"}[k] }, Kinds())
		if err != nil {
			t.Fatal(err)
		}
		pc, err := f.Provider("apple")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"team_id": "T1", "key_id": "K1", "private_key_file": filepath.FromSlash(tt.want)}
		if !reflect.DeepEqual(pc.Settings, want) {
			t.Errorf("%s: settings %v, want %v", tt.file, pc.Settings, want)
		}
	}
}
