package tokens

import (
	"encoding/json"
	"time"

	"github.com/authcli/authcli/internal/accounts"
)

// Prepare readies what storing a sign-in will use, while the person is at
// the provider: Warm's codecs, and the accounts index read and checked
// ahead when the store can (accounts.Store.Prefetch), which it uses only
// while the index still describes the store. It writes nothing.
func (k *Keeper) Prepare() {
	Warm()
	if p, ok := k.Store.(interface{ Prefetch() }); ok {
		p.Prefetch()
	}
}

// Warm runs, on sample values, the encoders and decoders a sign-in's store
// runs on its real ones: the record's, the profile digest's and a new
// account's JSON. encoding/json builds each type's codec on its first use,
// 50 to 150 us apiece, and a sign-in reaches them only after the
// provider's answer, when every microsecond is on the way to the exit; a
// sign-in calls Warm while the person is still at the provider. It reads
// and writes nothing.
func Warm() {
	now := time.Now()
	claims := map[string]any{"groups": []any{"a"}, "locale": "en", "n": json.Number("1")}
	rec := Record{AccessToken: "a", RefreshToken: "r", IDToken: "i", TokenType: "Bearer", Expiry: now, IDTokenExpiry: now, UpdatedAt: now, Scopes: []string{"openid"}}
	if b, err := rec.Encode(); err == nil {
		_, _ = Decode(b)
	}
	p := accounts.Profile{Subject: "s", Email: "e@example.com", EmailVerified: true, Name: "n", Claims: claims}
	_ = ProfileDigest(p)
	a := accounts.Account{Name: "n", CreatedAt: now, Identities: []accounts.Identity{{
		Provider: "p", Subject: "s", Email: "e@example.com", LinkedAt: now, LastUsedAt: now, TokenExpiry: now, Scopes: []string{"openid"}, Claims: claims,
	}}}
	_, _ = json.Marshal(a)
}
