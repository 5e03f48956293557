package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		cliExample,
		corpWith(`scopes = ["openid"]`, `auth_params = { prompt = "consent" }`, `redirect_port = 8080`),
		oauth2With(`[providers.forge.claims]`, `subject = "data.id"`),
		doc(`[providers.acme]`, `client_id = "c"`, `region = "us"`, `key_file = "~/k.pem"`),
		doc(`[providers.github]`, `client_id = "c"`, `key_file = 1`, `region.x = "eu"`),
		doc(`providers = { corp = { kind = "oidc", issuer = "http://127.0.0.1:1", client_id = "${X}$$" } }`),
		doc(`[provider.x]`, `isuer = 1`),
		"[[providers]]\n",
		"\ufeffdefault_provider = 'x'",
		"a.b.c.d = [[{}]]",
	} {
		f.Add(seed)
	}
	getenv := func(name string) string {
		if strings.HasPrefix(name, "E") {
			return ""
		}
		return "v-" + name
	}
	f.Fuzz(func(t *testing.T, in string) {
		file, err := Parse("fuzz.toml", []byte(in), getenv, testKinds)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T %q is not a *Error", err, err)
			}
			var ce *Error
			errors.As(err, &ce)
			if ce.Problem == "" || ce.File != "fuzz.toml" {
				t.Fatalf("incomplete error %#v", ce)
			}
			return
		}
		names := file.Names()
		if !slices.IsSorted(names) || len(names) != len(file.Providers)+len(file.Problems) {
			t.Fatalf("Names() = %v for %d providers and %d problems", names, len(file.Providers), len(file.Problems))
		}
		for name, e := range file.Problems {
			if _, both := file.Providers[name]; both || e.Problem == "" || e.File != "fuzz.toml" {
				t.Fatalf("problem of %q: usable too = %t, error %#v", name, both, e)
			}
			if _, err := file.Provider(name); err != e {
				t.Fatalf("Provider(%q) = %v, want its problem", name, err)
			}
		}
		for name := range file.Providers {
			p := file.Providers[name]
			if p == nil || p.Name != name || !slices.ContainsFunc(testKinds, func(k Kind) bool { return k.Name == p.Kind }) || p.ClientID == "" {
				t.Fatalf("provider %q invalid after validation: %+v", name, p)
			}
			if p.RedirectHost != "127.0.0.1" && p.RedirectHost != "localhost" {
				t.Fatalf("provider %q has redirect host %q", name, p.RedirectHost)
			}
		}
		if _, err := file.Provider(""); err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Provider error %T is not a *Error", err)
			}
		}
	})
}
