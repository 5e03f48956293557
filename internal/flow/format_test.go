package flow

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestSecretsRedactEveryVerb: a Result (tokens) or a Provider (client
// secret) in a log line shows no secret under any verb.
func TestSecretsRedactEveryVerb(t *testing.T) {
	res := Result{Token: &oauth2.Token{AccessToken: "at-SECRET", RefreshToken: "rt-SECRET"}, IDToken: "id-SECRET", Profile: Profile{Subject: "ada"}}
	p := Provider{Name: "corp", ClientID: "cli", ClientSecret: "cs-SECRET"}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		for _, v := range []any{res, &res, p, &p, struct{ R Result }{res}, []Provider{p}} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(out, "SECRET") || strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte("SECRET"))) {
				t.Errorf("Sprintf(%q, %T) leaks: %s", verb, v, out)
			}
		}
	}
}
