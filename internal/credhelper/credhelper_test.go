package credhelper

import (
	"fmt"
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	r := Routes{
		"github.com":    {Provider: "github"},
		"registry:5000": {Provider: "corp"},
		"[::1]":         {Provider: "v6"},
	}
	for host, want := range map[string]string{
		"github.com":     "github",
		"GitHub.com":     "github",
		"github.com:443": "github",
		"github.com:80":  "",
		"registry:5000":  "corp",
		"registry":       "",
		"[::1]:443":      "v6",
		"gitlab.com":     "",
	} {
		got, ok := r.Lookup(host, "443")
		if got.Provider != want || ok != (want != "") {
			t.Errorf("Lookup(%q) = %q %t, want %q", host, got.Provider, ok, want)
		}
	}
}

func TestTokenRedacts(t *testing.T) {
	tok := Token{Value: "secret-token-value"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, tok); strings.Contains(s, "secret") {
			t.Errorf("%s shows the token: %s", verb, s)
		}
	}
}
