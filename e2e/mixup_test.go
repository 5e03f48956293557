package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/devidp"
	"github.com/authcli/authcli/internal/oidctest"
)

// mixupConfig is the victim's config: an honest provider "corp" (the real
// devidp, which neither sends nor advertises RFC 9207 iss) and a hostile
// "other" (oidctest) the user also signs in to. extra is appended to both
// tables.
func mixupConfig(corp *devidp.Server, other *oidctest.OP, extra string) string {
	return fmt.Sprintf(`[providers.corp]
kind = "oidc"
issuer = %q
client_id = "corp-cli"
%[3]s
[providers.other]
kind = "oidc"
issuer = %[2]q
client_id = %[4]q
%[3]s`, corp.Issuer(), other.Issuer(), extra, oidctest.ClientID)
}

// startCorp runs the honest provider with authcli registered under both
// the redirect URI every provider used to share (/callback, as an
// existing registration would be) and corp's own.
func startCorp(t *testing.T) *devidp.Server {
	t.Helper()
	corp, err := devidp.Start(devidp.Options{Clients: []devidp.Client{{
		ID:           "corp-cli",
		RedirectURIs: []string{"http://127.0.0.1/callback", "http://127.0.0.1/callback/corp"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { corp.Close() })
	return corp
}

// TestMixUpAttack is RFC 9700 §4.4: the user signs in to "other", which
// forwards the browser, with authcli's state, PKCE challenge and redirect
// URI, to corp's authorization endpoint as corp's client. The person signs
// in at corp as usual. corp's code, and with it the PKCE verifier, must
// never reach other's token endpoint: corp refuses other's redirect URI, or
// the listener refuses corp's answer, and the sign-in runs out of time.
func TestMixUpAttack(t *testing.T) {
	tests := []struct {
		name     string
		redirect func(sent string) string // the redirect_uri other forwards
		page     string                   // what the bot's last page says
	}{
		{"redirect URI as sent", func(sent string) string { return sent }, "redirect_uri"},
		{"rewritten to corp's own", func(sent string) string { return swapPath(sent, "/callback/corp") }, "accepts its answer only at /callback/other"},
		{"rewritten to the old shared path", func(sent string) string { return swapPath(sent, "/callback") }, "accepts its answer only at /callback/other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			corp := startCorp(t)
			other := oidctest.New(t)
			other.Bounce = func(q url.Values) string {
				fwd := url.Values{}
				for k, v := range q {
					fwd[k] = v
				}
				fwd.Set("client_id", "corp-cli")
				fwd.Set("redirect_uri", tt.redirect(q.Get("redirect_uri")))
				return corp.Issuer() + "/authorize?" + fwd.Encode()
			}
			r := newRun(t).withBot("user=ada")
			r.config(mixupConfig(corp, other, ""))
			res := r.exec("login", "other", "--timeout", "4s")
			if res.code != 1 || !strings.Contains(res.stderr, "did not finish within --timeout") {
				t.Errorf("exit %d, want 1 after the timeout\nstderr:\n%s", res.code, res.stderr)
			}
			for _, form := range other.TokenRequests() {
				t.Errorf("the hostile provider's token endpoint received code %q with verifier %q", form.Get("code"), form.Get("code_verifier"))
			}
			if st := corp.Stats(); st.AuthCodeGrants != 0 {
				t.Errorf("corp redeemed %d codes", st.AuthCodeGrants)
			}
			mustContain(t, "browser page", r.botPage(), tt.page)
			nothingStored(t, r)
		})
	}
}

func swapPath(raw, path string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = path
	return u.String()
}

// TestMixUpSharedRedirectRefused: two providers set to the same redirect
// path, neither requiring iss, make a config authcli refuses for both,
// saying why; with require_iss on both it loads, and then a sign-in whose
// answer lacks iss is refused as a possible mix-up.
func TestMixUpSharedRedirectRefused(t *testing.T) {
	corp := startCorp(t)
	other := oidctest.New(t)

	r := newRun(t).withBot("user=ada")
	r.config(mixupConfig(corp, other, "redirect_path = \"/callback\"\n"))
	for _, name := range []string{"corp", "other"} {
		res := r.exec("login", name, "--timeout", "10s")
		if res.code != 2 {
			t.Errorf("login %s with a shared redirect_path: exit %d, want 2\n%s", name, res.code, res.stderr)
		}
		mustContain(t, "stderr", res.stderr, "redirect_path", "is shared with", "mix-up", "require_iss")
	}
	if len(other.AuthRequests()) != 0 || corp.Stats().AuthCodeGrants != 0 {
		t.Error("a sign-in started with a refused config")
	}

	r = newRun(t).withBot("user=ada")
	r.config(mixupConfig(corp, other, "redirect_path = \"/callback\"\nrequire_iss = true\n"))
	res := r.exec("login", "corp", "--timeout", "20s")
	if res.code != 1 {
		t.Fatalf("login corp with require_iss, no iss sent: exit %d, want 1\n%s", res.code, res.stderr)
	}
	mustContain(t, "stderr", res.stderr, "different issuer", "mix-up", "iss parameter is missing")
	nothingStored(t, r)
	if st := corp.Stats(); st.AuthCodeGrants != 0 {
		t.Errorf("corp redeemed %d codes although its answer had no iss", st.AuthCodeGrants)
	}
}

// TestMixUpLegacyRegistration: a provider registered only at the old
// /callback is reached at /callback/NAME now; its refusal, or a browser
// that still lands on /callback, says what to register.
func TestMixUpLegacyRegistration(t *testing.T) {
	idp, err := devidp.Start(devidp.Options{Clients: []devidp.Client{{ID: "old", RedirectURIs: []string{"http://127.0.0.1/callback"}}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idp.Close() })
	r := newRun(t).withBot("user=ada")
	r.config(fmt.Sprintf("[providers.corp]\nkind = \"oidc\"\nissuer = %q\nclient_id = \"old\"\n", idp.Issuer()))
	res := r.exec("login", "corp", "--timeout", "3s")
	if res.code != 1 {
		t.Errorf("exit %d, want 1", res.code)
	}
	mustContain(t, "browser page", r.botPage(), "redirect_uri")

	// Keeping the old registration is one line in the config.
	r = newRun(t).withBot("user=ada")
	r.config(fmt.Sprintf("[providers.corp]\nkind = \"oidc\"\nissuer = %q\nclient_id = \"old\"\nredirect_path = \"/callback\"\n", idp.Issuer()))
	if res := r.exec("login", "corp", "--timeout", "20s"); res.code != 0 {
		t.Errorf("redirect_path = \"/callback\": exit %d\n%s", res.code, res.stderr)
	}
}
