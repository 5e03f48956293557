package provider

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestKindsAsUsersSeeThem: the kinds, their order in errors, the display
// names of their tables and which of them take require_iss.
func TestKindsAsUsersSeeThem(t *testing.T) {
	const all = "oidc, oauth2, google, github, apple, facebook, microsoft, gitlab"
	configRules(t, []configRule{
		{name: "kind required", doc: "[providers.corp]\nclient_id = \"x\"\n", key: "providers.corp.kind", line: 1, problem: "is required (one of " + all + ")"},
		{name: "unknown kind", doc: "[providers.corp]\nkind = \"saml\"\nclient_id = \"x\"\n", key: "providers.corp.kind", line: 2, problem: `unknown kind "saml"; valid kinds: ` + all},
		{name: "kind suggestion", doc: "[providers.work]\nkind = \"Google\"\nclient_id = \"x\"\n", key: "providers.work.kind", line: 2, problem: "did you mean google?"},
		{name: "oidc is not implied by the name", doc: "[providers.oidc]\nissuer = \"https://id.example\"\nclient_id = \"x\"\n", key: "providers.oidc.kind", line: 1, problem: "is required"},
		{name: "require_iss on github", doc: "[providers.github]\nclient_id = \"c\"\nrequire_iss = true\n", key: "providers.github.require_iss", line: 3, problem: "applies only to OpenID providers: the iss parameter is compared with the issuer, which kind github does not have"},
		{name: "require_iss on facebook", doc: "[providers.facebook]\nclient_id = \"c\"\nrequire_iss = true\n", key: "providers.facebook.require_iss", line: 3, problem: "which kind facebook does not have"},
		{name: "require_iss on oauth2", doc: "[providers.forge]\nkind = \"oauth2\"\nclient_id = \"c\"\ntoken_url = \"https://f.example/t\"\ngrant = \"client_credentials\"\nclient_secret = \"s\"\nrequire_iss = true\n", key: "providers.forge.require_iss", line: 7, problem: "which kind oauth2 does not have"},
	})

	brands := map[string]string{"google": "Google", "github": "GitHub", "apple": "Apple", "facebook": "Facebook", "microsoft": "Microsoft", "gitlab": "GitLab"}
	for name, brand := range brands {
		body := "client_id = \"c\"\nclient_secret = \"s\"\nrequire_iss = true\n"
		if name == "github" || name == "facebook" {
			body = "client_id = \"c\"\nclient_secret = \"s\"\n"
		}
		if pc := parseProvider(t, name, body); pc.Kind != name || pc.DisplayName != brand {
			t.Errorf("[providers.%s]: kind %q, display name %q; want %s, %s", name, pc.Kind, pc.DisplayName, name, brand)
		}
		if pc := parseProvider(t, "work", "kind = \""+name+"\"\n"+body); pc.DisplayName != brand+" (work)" {
			t.Errorf("[providers.work] of kind %s: display name %q", name, pc.DisplayName)
		}
	}
	if got := strings.Join(kindNames(), ", "); got != all {
		t.Errorf("Kinds() = %s, want %s", got, all)
	}
}

func kindNames() []string {
	var names []string
	for _, k := range Kinds() {
		names = append(names, k.Name)
	}
	return names
}

// TestCatalogIsSound: kind names are unique, and every kind-only setting
// is a key of its own that the other kinds refuse (a setting named like a
// common key would silently be that key).
func TestCatalogIsSound(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Kinds() {
		if k.Name == "" || seen[k.Name] {
			t.Errorf("kind %q is empty or declared twice", k.Name)
		}
		seen[k.Name] = true
		for _, s := range k.Settings {
			other := "[providers.corp]\nkind = \"oidc\"\nissuer = \"https://id.example\"\nclient_id = \"c\"\n" + s.Key + " = \"x\"\n"
			if k.Name == KindOIDC {
				other = "[providers.forge]\nkind = \"oauth2\"\nclient_id = \"c\"\ntoken_url = \"https://f.example/t\"\ngrant = \"client_credentials\"\nclient_secret = \"s\"\n" + s.Key + " = \"x\"\n"
			}
			if e := parseErr(t, other, nil); !strings.Contains(e.Problem, "applies only to kind "+k.Name) {
				t.Errorf("setting %s of %s on another kind: %v", s.Key, k.Name, e)
			}
		}
	}
}

// TestEveryKindIsListed: a preset's file declares its presetKind, and
// the presets list in provider.go must name it, or the kind does not
// exist for the config loader. Nothing else needs to change.
func TestEveryKindIsListed(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared, listed []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, v := range vs.Values {
					lit, ok := v.(*ast.CompositeLit)
					if !ok {
						continue
					}
					if id, ok := lit.Type.(*ast.Ident); ok && id.Name == "presetKind" {
						declared = append(declared, vs.Names[i].Name)
					}
					if vs.Names[i].Name == "presets" {
						for _, e := range lit.Elts {
							listed = append(listed, e.(*ast.Ident).Name)
						}
					}
				}
			}
		}
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if len(declared) == 0 || !slices.Equal(declared, listed) {
		t.Errorf("presetKind values declared: %v; listed in presets: %v", declared, listed)
	}
	if len(listed) != len(Kinds()) {
		t.Errorf("%d kinds listed, Kinds() has %d", len(listed), len(Kinds()))
	}
}
