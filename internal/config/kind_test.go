package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// TestKindFromTheCatalogAlone: a kind declared only in the catalog Parse
// is given works end to end (its name implies it, its brand names its
// tables, its settings are read, expanded, defaulted and resolved, its
// Check's problems land at their keys), so adding a preset needs nothing
// in this package.
func TestKindFromTheCatalogAlone(t *testing.T) {
	forgejo := Kind{
		Name: "forgejo", Brand: "Forgejo", OpenID: true,
		Settings: []Setting{{Key: "instance", Default: "codeberg.org"}, {Key: "ca_file", Path: true}},
		Check: func(p *Provider) error {
			if strings.Contains(p.Settings["instance"], "/") {
				return &KeyError{Key: "instance", Problem: "must be a host name"}
			}
			return nil
		},
	}
	kinds := []Kind{{Name: "oidc", OpenID: true}, forgejo}
	env := envFrom(map[string]string{"HOST": "git.corp.example", "HOME": "/home/alice"})

	tests := []struct {
		name string
		doc  string
		// for a table that loads: its display name, settings and the kind
		// of the route to it
		display  string
		settings map[string]string
		// for one that does not: where and what
		key     string
		line    int
		problem string
	}{
		{name: "named after the kind", doc: doc(`[providers.forgejo]`, `client_id = "c"`, `[git."codeberg.org"]`, `provider = "forgejo"`),
			display: "Forgejo", settings: map[string]string{"instance": "codeberg.org"}},
		{name: "another table of the kind", doc: doc(`[providers.work]`, `kind = "forgejo"`, `client_id = "c"`, `instance = "${HOST}"`, `ca_file = "certs/ca.pem"`, `[git."codeberg.org"]`, `provider = "work"`),
			display: "Forgejo (work)", settings: map[string]string{"instance": "git.corp.example", "ca_file": filepath.Join(filepath.Dir(testPath), "certs", "ca.pem")}},
		{name: "its check", doc: doc(`[providers.forgejo]`, `client_id = "c"`, `instance = "a/b"`),
			key: "providers.forgejo.instance", line: 3, problem: "must be a host name"},
		{name: "its path setting", doc: doc(`[providers.forgejo]`, `client_id = "c"`, `ca_file = "~root/ca.pem"`),
			key: "providers.forgejo.ca_file", line: 3, problem: "only ~/ is expanded"},
		{name: "its setting misspelt", doc: doc(`[providers.forgejo]`, `client_id = "c"`, `instanse = "x"`),
			key: "providers.forgejo.instanse", line: 3, problem: "unknown key; did you mean instance?"},
		{name: "its setting on another kind", doc: doc(`[providers.corp]`, `kind = "oidc"`, `issuer = "https://id.example"`, `client_id = "c"`, `instance = "x"`),
			key: "providers.corp.instance", line: 5, problem: "applies only to kind forgejo"},
		{name: "among the kinds", doc: doc(`[providers.corp]`, `client_id = "c"`),
			key: "providers.corp.kind", line: 1, problem: "is required (one of oidc, forgejo)"},
		{name: "a kind of another catalog", doc: doc(`[providers.corp]`, `kind = "apple"`, `client_id = "c"`),
			key: "providers.corp.kind", line: 2, problem: `unknown kind "apple"; valid kinds: oidc, forgejo`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(testPath, []byte(tt.doc), env, kinds)
			if err == nil {
				err = f.Err()
			}
			if tt.problem != "" {
				var ce *Error
				if !errors.As(err, &ce) {
					t.Fatalf("Parse error = %v, want a *Error", err)
				}
				checkErr(t, ce, tt.key, tt.line, tt.problem)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p, err := f.Provider("")
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != "forgejo" || p.DisplayName != tt.display || !reflect.DeepEqual(p.Settings, tt.settings) {
				t.Errorf("kind %q, display name %q, settings %v; want forgejo, %q, %v", p.Kind, p.DisplayName, p.Settings, tt.display, tt.settings)
			}
			if r := f.Git["codeberg.org"]; r.Kind != "forgejo" {
				t.Errorf("route kind %q, want forgejo", r.Kind)
			}
			routes, err := ParseRoutes(testPath, []byte(tt.doc), env, kinds)
			if err != nil || routes.Git["codeberg.org"].Kind != "forgejo" {
				t.Errorf("ParseRoutes: %v, route %+v", err, routes.Git["codeberg.org"])
			}
		})
	}
}

// TestCheckErrors: what a Check returns lands at the keys it names, the
// earliest first; a plain error still becomes an *Error about the table.
func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		key     string
		line    int
		problem string
	}{
		{"one key", &KeyError{Key: "client_id", Problem: "is odd"}, "providers.x.client_id", 2, "is odd"},
		{"a key not written", &KeyError{Key: "issuer", Problem: "is required"}, "providers.x.issuer", 1, "is required"},
		{"a nested key", &KeyError{Key: "auth_params.prompt", Problem: "is odd"}, "providers.x.auth_params.prompt", 3, "is odd"},
		{"joined, earliest wins", errors.Join(&KeyError{Key: "auth_params.prompt", Problem: "late"}, &KeyError{Key: "client_id", Problem: "early"}), "providers.x.client_id", 2, "early"},
		{"not a KeyError", errors.New("is broken"), "providers.x", 1, "is broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kinds := []Kind{{Name: "x", Brand: "X", Check: func(*Provider) error { return tt.err }}}
			f, err := Parse(testPath, []byte(doc(`[providers.x]`, `client_id = "c"`, `auth_params.prompt = "login"`)), nil, kinds)
			if err != nil {
				t.Fatal(err)
			}
			var ce *Error
			if !errors.As(f.Err(), &ce) {
				t.Fatalf("Err() = %v, want a *Error", f.Err())
			}
			checkErr(t, ce, tt.key, tt.line, tt.problem)
		})
	}
}
