package secret_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/secret"
)

// Verbs is every verb a careless log line or error might use.
var Verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%10.3s", "%-20v", "%U", "%c"}

func TestSecretRedactsEveryVerb(t *testing.T) {
	const value = "ya29.very-secret-token"
	s := secret.Secret(value)
	type carrier struct {
		Token secret.Secret
		Ptr   *secret.Secret
	}
	for _, verb := range Verbs {
		for _, v := range []any{s, &s, carrier{s, &s}, []secret.Secret{s}, map[string]secret.Secret{"k": s}} {
			out := fmt.Sprintf(verb, v)
			if leaks(out, value) {
				t.Errorf("Sprintf(%q, %T) = %q leaks the secret", verb, v, out)
			}
		}
	}
	if b, _ := json.Marshal(carrier{Token: s}); leaks(string(b), value) {
		t.Errorf("json: %s", b)
	}
	if s.Reveal() != value {
		t.Error("Reveal does not give the value back")
	}
}

func leaks(out, value string) bool {
	lower := strings.ToLower(out)
	return strings.Contains(out, value) || strings.Contains(lower, hex.EncodeToString([]byte(value))) ||
		strings.Contains(out, "very-secret") || strings.Contains(lower, hex.EncodeToString([]byte("very")))
}

func ExampleSecret() {
	token := secret.Secret("ya29.a0AfH6SM")
	fmt.Printf("%v %q %x\n", token, token, token)
	fmt.Println(len(token.Reveal()))
	// Output:
	// [redacted] [redacted] [redacted]
	// 13
}
