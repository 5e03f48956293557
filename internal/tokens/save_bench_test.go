package tokens

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/vault"
)

// BenchmarkSaveState is what a browser sign-in does after the provider's
// answer is verified, at 1 and 1,000 identities already stored: a new
// identity (a first sign-in, a new account) and a known one signing in
// again with the same profile.
func BenchmarkSaveState(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("new/identities=%d", n), func(b *testing.B) {
			k := benchKeeper(b, n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				in := benchSignIn(fmt.Sprintf("new-%06d", i))
				if _, _, err := k.SaveState(in, benchRecord(), "", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("known/identities=%d", n), func(b *testing.B) {
			k := benchKeeper(b, n)
			in := benchSignIn("user-000000")
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := k.SaveState(in, benchRecord(), "", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchKeeper(b *testing.B, n int) *Keeper {
	b.Helper()
	dir := b.TempDir()
	key, _ := vault.KeyFromBytes(make([]byte, 32))
	v, err := vault.OpenFile(dir, key)
	if err != nil {
		b.Fatal(err)
	}
	k := &Keeper{Store: accounts.OpenStore(dir), Vault: v}
	// One write of the whole store, as bench/mkstate makes it: n sign-ins
	// one by one would take minutes at 1,000.
	now := time.Now()
	err = k.Store.Update(func(st *accounts.State) error {
		for i := range n {
			in := benchSignIn(fmt.Sprintf("user-%06d", i))
			rec := benchRecord()
			rec.Profile = ProfileDigest(in.Profile)
			if err := k.setRecord(in.Provider+"/"+in.Profile.Subject, rec); err != nil {
				return err
			}
			if err := st.Apply(in, st.Resolve(in), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return k
}

// benchSignIn is a profile of bench/mkstate's shape: e-mail, name, avatar
// and a handful of claims.
func benchSignIn(sub string) accounts.SignIn {
	return accounts.SignIn{
		Provider: "demo",
		Profile: accounts.Profile{
			Subject: sub, Email: sub + "@example.com", EmailVerified: true,
			Name: "User " + sub, AvatarURL: "https://example.com/avatars/" + sub + ".png",
			Claims: map[string]any{
				"locale": "en", "given_name": "User", "family_name": sub,
				"preferred_username": sub, "groups": []any{"developers", "readers"},
				"org": strings.Repeat("o", 300),
			},
		},
		Scopes:      []string{"openid", "email", "profile", "offline_access"},
		TokenExpiry: time.Now().Add(time.Hour),
		Refreshable: true,
		Account:     "acct-" + sub,
	}
}

func benchRecord() Record {
	return Record{AccessToken: "eyJ" + strings.Repeat("a", 520), TokenType: "Bearer", RefreshToken: strings.Repeat("r", 96),
		IDToken: "eyJ" + strings.Repeat("i", 700), Expiry: time.Now().Add(time.Hour)}
}
