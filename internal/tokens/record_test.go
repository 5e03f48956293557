package tokens

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRecordRedactsEveryVerb: a Record in a log line or an error, by value,
// by pointer or inside another struct, never shows a token, whatever verb.
func TestRecordRedactsEveryVerb(t *testing.T) {
	rec := Record{AccessToken: "at-SECRET-1", RefreshToken: "rt-SECRET-2", IDToken: "id-SECRET-3", Expiry: time.Unix(1e9, 0).UTC()}
	type wrapper struct{ R Record }
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "% x", "%20v"} {
		for _, v := range []any{rec, &rec, wrapper{rec}, []Record{rec}} {
			out := fmt.Sprintf(verb, v)
			lower := strings.ToLower(out)
			for _, tok := range []string{rec.AccessToken, rec.RefreshToken, rec.IDToken} {
				if strings.Contains(out, tok) || strings.Contains(lower, hex.EncodeToString([]byte(tok))) || strings.Contains(out, "SECRET") {
					t.Errorf("Sprintf(%q, %T) leaks %q: %s", verb, v, tok, out)
				}
			}
		}
	}
	if got := fmt.Sprint(rec); !strings.Contains(got, "refresh: true") {
		t.Errorf("the redacted form lost its facts: %s", got)
	}
}
