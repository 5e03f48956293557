package provider_test

import (
	"fmt"

	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/provider"
)

func ExampleBuild() {
	doc := []byte(`
[providers.github]
client_id = "Iv1.0123456789"
client_secret = "${GITHUB_CLIENT_SECRET}"
`)
	env := map[string]string{"GITHUB_CLIENT_SECRET": "from-the-environment"}
	f, err := config.Parse("config.toml", doc, func(k string) string { return env[k] }, provider.Kinds())
	if err != nil {
		fmt.Println(err)
		return
	}
	pc, _ := f.Provider("github")
	p, err := provider.Build(pc, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.AuthURL)
	fmt.Println(p.TokenURL)
	fmt.Println(p.Scopes)
	fmt.Println(p.RevocationURL)
	fmt.Println(provider.Grants(pc))
	// Output:
	// https://github.com/login/oauth/authorize
	// https://github.com/login/oauth/access_token
	// [read:user user:email]
	// https://api.github.com/applications/Iv1.0123456789/token
	// [authorization_code refresh_token device_code]
}

func ExampleStatus() {
	f, err := config.Parse("config.toml", []byte(`
[providers.apple]
client_id = "com.example.authcli.web"
client_secret = "${APPLE_CLIENT_SECRET}"
`), func(string) string { return "eyJhbGciOiJFUzI1NiJ9.premade" }, provider.Kinds())
	if err != nil {
		fmt.Println(err)
		return
	}
	pc, _ := f.Provider("apple")
	ready, problem := provider.Status(pc)
	fmt.Println(ready)
	fmt.Println(problem)
	// Output:
	// false
	// redirect_uri is required: Apple does not redirect to loopback addresses; host an HTTPS URL on a domain registered for the Services ID that answers with a 307 redirect to http://127.0.0.1:PORT/callback/NAME (NAME: this provider table's name, or its redirect_path), then set redirect_uri to it and redirect_port to PORT
}
