package config_test

import (
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/provider"
)

func ExampleParse() {
	doc := []byte(`
default_provider = "corp"

[providers.github]
client_id = "Iv1.0123456789"
client_secret = "${GITHUB_CLIENT_SECRET}"

[providers.corp]
kind = "oidc"
issuer = "https://login.corp.example"
client_id = "authcli"
`)
	env := map[string]string{"GITHUB_CLIENT_SECRET": "from-the-environment"}
	f, err := config.Parse("config.toml", doc, func(k string) string { return env[k] }, provider.Kinds())
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := f.Provider("") // the default provider
	fmt.Println(f.Names(), p.Name, p.Kind, p.RedirectHost+p.RedirectPath)
	gh, _ := f.Provider("github")
	fmt.Println(gh.DisplayName, gh.ClientSecret != "")

	_, err = config.Parse("config.toml", []byte("[providers.corp]\nkind = \"oidc\"\nisuer = \"https://login.corp.example\"\n"), nil, provider.Kinds())
	fmt.Println(err)
	// Output:
	// [corp github] corp oidc 127.0.0.1/callback/corp
	// GitHub true
	// config config.toml:3: providers.corp.isuer: unknown key; did you mean issuer?
}

// A kind is declared once, by the code that knows the provider, and given
// to Parse in the catalog; config needs nothing else to load its tables.
func ExampleKind() {
	forgejo := config.Kind{
		Name: "forgejo", Brand: "Forgejo", OpenID: true,
		Settings: []config.Setting{{Key: "instance", Default: "codeberg.org"}},
		Check: func(p *config.Provider) error {
			if strings.Contains(p.Settings["instance"], "/") {
				return &config.KeyError{Key: "instance", Problem: "must be a host name, like codeberg.org"}
			}
			return nil
		},
	}
	kinds := []config.Kind{{Name: "oidc", OpenID: true}, forgejo}

	f, _ := config.Parse("config.toml", []byte("[providers.forgejo]\nclient_id = \"c\"\n[providers.work]\nkind = \"forgejo\"\nclient_id = \"c\"\ninstance = \"https://git.corp.example\"\n"), nil, kinds)
	p, _ := f.Provider("forgejo")
	fmt.Println(p.DisplayName, p.Settings["instance"])
	_, err := f.Provider("work")
	fmt.Println(err)
	// Output:
	// Forgejo codeberg.org
	// config config.toml:6: providers.work.instance: must be a host name, like codeberg.org
}
