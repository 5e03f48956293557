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

// Times are stored in UTC whatever zone they come in: a local time would
// load the zone database on every refresh and sign-in, and a zero time
// must stay absent (omitzero).
func TestRecordEncodesUTC(t *testing.T) {
	zone := time.FixedZone("UTC+1", 3600)
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, zone)
	tests := []struct {
		name string
		rec  Record
		want []string
		not  []string
	}{
		{"every time in a zone", Record{AccessToken: "a", Expiry: at, IDTokenExpiry: at.Add(time.Hour), UpdatedAt: at},
			[]string{`"expiry":"2026-12-03T08:00:00Z"`, `"id_token_expiry":"2026-12-03T09:00:00Z"`, `"updated_at":"2026-12-03T08:00:00Z"`}, []string{"+01:00"}},
		{"zero times stay out", Record{AccessToken: "a", UpdatedAt: at},
			[]string{`"updated_at":"2026-12-03T08:00:00Z"`}, []string{`"expiry"`, `"id_token_expiry"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.rec.Encode()
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("encoded record lacks %s", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(string(b), n) {
					t.Errorf("encoded record holds %s", n)
				}
			}
			back, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !back.Expiry.Equal(tt.rec.Expiry) || !back.UpdatedAt.Equal(tt.rec.UpdatedAt) {
				t.Errorf("decoded times %v, %v; want %v, %v", back.Expiry, back.UpdatedAt, tt.rec.Expiry, tt.rec.UpdatedAt)
			}
		})
	}
}
