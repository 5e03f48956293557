package provider

import (
	"errors"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/flow"
)

const (
	contosoTenant  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fabrikamTenant = "0c4f1e2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
)

// newMicrosoft serves Entra ID's shapes: the tenant's discovery document
// (templated issuer for common/organizations), ID tokens whose iss and tid
// name the user's tenant.
func newMicrosoft(t *testing.T, discoveredIssuer func(base string) string, iss func(base string) string, tid string) *fakeProvider {
	f := newFakeProvider(t)
	f.discovery = func(base string) map[string]any {
		return oidcDiscovery(discoveredIssuer(base), base, map[string]any{
			"userinfo_endpoint":                     base + "/oidc/userinfo",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"subject_types_supported":               []string{"pairwise"},
			"device_authorization_endpoint":         base + "/devicecode",
		})
	}
	f.idToken = func(r authRequest) map[string]any {
		return idClaims(iss(f.url()), r, map[string]any{
			"sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ", "oid": "00000000-0000-0000-66f3-3332eca7ea81",
			"tid": tid, "name": "Ada Lovelace", "preferred_username": "ada@contoso.onmicrosoft.com", "ver": "2.0",
		})
	}
	f.token = func(authRequest) (string, string) {
		return jsonToken(map[string]any{"token_type": "Bearer", "scope": "openid profile email offline_access User.Read",
			"expires_in": 3599, "ext_expires_in": 3599, "access_token": "eyJ0eXAi.at", "refresh_token": "0.AAAA.rt"})
	}
	f.mux.HandleFunc("/oidc/userinfo", refuse(t, "Graph userinfo"))
	return f
}

func TestMicrosoftTenantIssuer(t *testing.T) {
	template := func(base string) string { return base + "/{tenantid}/v2.0" }
	tenantIss := func(tenant string) func(string) string {
		return func(base string) string { return base + "/" + tenant + "/v2.0" }
	}
	tests := []struct {
		name       string
		tenant     string
		discovered func(string) string
		iss        func(string) string
		tid        string
		wantErr    error
		errText    string
	}{
		{"common: iss carries the token's tid", "common", template, tenantIss(contosoTenant), contosoTenant, nil, ""},
		{"common: personal account", "common", template, tenantIss(microsoftConsumerTenant), microsoftConsumerTenant, nil, ""},
		{"common: tid does not match iss", "common", template, tenantIss(contosoTenant), fabrikamTenant, flow.ErrIDToken, "tid"},
		{"common: iss of another host", "common", template, func(string) string { return "https://evil.example/" + contosoTenant + "/v2.0" }, contosoTenant, flow.ErrIDToken, "issuer"},
		{"common: iss is the template itself", "common", template, template, contosoTenant, flow.ErrIDToken, "issuer"},
		{"common: discovery names a fixed issuer", "common", tenantIss(contosoTenant), tenantIss(contosoTenant), contosoTenant, flow.ErrDiscovery, "tenant common"},
		{"organizations refuses a personal account", "organizations", template, tenantIss(microsoftConsumerTenant), microsoftConsumerTenant, flow.ErrIDToken, "personal"},
		{"single tenant", contosoTenant, tenantIss(contosoTenant), tenantIss(contosoTenant), contosoTenant, nil, ""},
		{"single tenant: token from another tenant", contosoTenant, tenantIss(contosoTenant), tenantIss(fabrikamTenant), fabrikamTenant, flow.ErrIDToken, "does not match"},
		{"domain tenant: discovery names its GUID", "contoso.onmicrosoft.com", tenantIss(contosoTenant), tenantIss(contosoTenant), contosoTenant, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newMicrosoft(t, tt.discovered, tt.iss, tt.tid)
			pc := parseProvider(t, "microsoft", `
client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
tenant = "`+tt.tenant+`"
issuer = "`+f.url()+"/"+tt.tenant+`/v2.0"
`)
			p, err := Build(pc, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := signIn(t, p, nil)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("error = %v, want %v mentioning %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			got := res.Profile
			if got.Subject != "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ" || got.Name != "Ada Lovelace" || got.Email != "" || got.EmailVerified {
				t.Errorf("profile = %+v", got)
			}
			if res.Token.RefreshToken == "" {
				t.Error("refresh token lost")
			}
			tr := f.lastToken()
			if tr.Form.Get("client_id") != pc.ClientID || tr.Form.Get("client_secret") != "" {
				t.Error("a public client must send its client_id and no secret")
			}
			if q := f.lastAuth(); q.Get("scope") != "openid profile email offline_access" {
				t.Errorf("scope = %q", q.Get("scope"))
			}
		})
	}
}

func TestTenantIssuerCallbackIss(t *testing.T) {
	check := tenantIssuer{base: microsoftLogin, tenant: "common"}
	discovered := microsoftLogin + "/{tenantid}/v2.0"
	if err := check.Token(discovered, microsoftLogin+"/"+contosoTenant+"/v2.0", nil); err != nil {
		t.Errorf("an RFC 9207 iss naming a tenant was refused: %v", err)
	}
	for _, iss := range []string{"https://evil.example/" + contosoTenant + "/v2.0", microsoftLogin + "/common/v2.0", microsoftLogin + "/" + contosoTenant} {
		if check.Token(discovered, iss, nil) == nil {
			t.Errorf("iss %q accepted", iss)
		}
	}
}

func TestMicrosoftIssuerMustMatchTenant(t *testing.T) {
	pc := parseProvider(t, "microsoft", "client_id = \"x\"\ntenant = \"organizations\"\nissuer = \"https://login.microsoftonline.us/common/v2.0\"\n")
	ready, problem := Status(pc)
	if ready || !strings.HasPrefix(problem, "issuer") {
		t.Fatalf("Status = %t %q", ready, problem)
	}
	_, err := Build(pc, nil)
	var cerr *ConfigError
	if !errors.As(err, &cerr) || cerr.Key != "issuer" {
		t.Fatalf("Build error = %v", err)
	}

	p, err := Build(parseProvider(t, "microsoft", "client_id = \"x\"\ntenant = \"72F988BF-86F1-41AF-91AB-2D7CD011DB47\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer != "https://login.microsoftonline.com/"+contosoTenant+"/v2.0" || p.IssuerCheck == nil || p.Revoke != nil {
		t.Errorf("issuer %q check %v revoke %v", p.Issuer, p.IssuerCheck != nil, p.Revoke != nil)
	}
}

// TestMicrosoftTenantSetting: tenant defaults to common, and anything that
// could not sit in a URL path is refused at load time.
func TestMicrosoftTenantSetting(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"", "common"},
		{"tenant = \"contoso.onmicrosoft.com\"\n", "contoso.onmicrosoft.com"},
		{"tenant = \"" + contosoTenant + "\"\n", contosoTenant},
	} {
		pc := parseProvider(t, "microsoft", "client_id = \"c\"\n"+tt.body)
		if got := pc.Settings["tenant"]; got != tt.want || pc.DisplayName != "Microsoft" {
			t.Errorf("%q: tenant %q, display name %q; want %q, Microsoft", tt.body, got, pc.DisplayName, tt.want)
		}
	}
	configRules(t, []configRule{
		{name: "tenant with a slash", doc: "[providers.microsoft]\nclient_id = \"c\"\ntenant = \"common/../x\"\n", key: "providers.microsoft.tenant", line: 3, problem: "must be common, organizations, consumers, a tenant ID or a domain name"},
		{name: "tenant with dots only", doc: "[providers.microsoft]\nclient_id = \"c\"\ntenant = \"a..b\"\n", key: "providers.microsoft.tenant", line: 3, problem: "a tenant ID or a domain name"},
		{name: "tenant outside microsoft", doc: "[providers.google]\nclient_id = \"c\"\ntenant = \"common\"\n", key: "providers.google.tenant", line: 3, problem: "applies only to kind microsoft"},
		{name: "tenant not a string", doc: "[providers.microsoft]\nclient_id = \"c\"\ntenant = 1\n", key: "providers.microsoft.tenant", line: 3, problem: "must be a string"},
		{name: "tenant misspelt", doc: "[providers.microsoft]\nclient_id = \"c\"\ntenat = \"common\"\n", key: "providers.microsoft.tenat", line: 3, problem: "unknown key; did you mean tenant?"},
	})
}
