// Command mkstate fills a state directory with N signed-in identities for
// bench/token.sh, through the real accounts store and vault packages, so the
// files on disk are exactly what authcli itself writes. The tokens are
// random strings of realistic sizes (a JWT access token, a refresh token, an
// ID token) that expire in a day; no provider is involved.
//
// Usage: AUTHCLI_VAULT=file AUTHCLI_VAULT_KEY=… mkstate -dir DIR -n 1000
package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

func main() {
	dir := flag.String("dir", "", "state directory (AUTHCLI_STATE_DIR)")
	n := flag.Int("n", 1, "number of identities")
	provider := flag.String("provider", "demo", "provider of every identity")
	flag.Parse()
	if *dir == "" || *n < 1 {
		fmt.Fprintln(os.Stderr, "usage: mkstate -dir DIR -n N [-provider NAME]")
		os.Exit(2)
	}
	if err := run(*dir, *n, *provider); err != nil {
		fmt.Fprintln(os.Stderr, "mkstate:", err)
		os.Exit(1)
	}
}

func run(dir string, n int, provider string) error {
	v, err := vault.Open(os.Getenv, dir)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	expiry := now.Add(24 * time.Hour)
	var ins []accounts.SignIn
	for i := range n {
		sub := fmt.Sprintf("user-%04d", i)
		if i == 0 {
			sub = "ada" // the identity bench/token.sh asks for
		}
		rec := tokens.Record{
			AccessToken:   "eyJ" + randomText(520),
			TokenType:     "Bearer",
			RefreshToken:  randomText(96),
			IDToken:       "eyJ" + randomText(700),
			Expiry:        expiry,
			IDTokenExpiry: expiry,
			Scopes:        []string{"openid", "email", "profile", "offline_access"},
			Endpoints:     tokens.Endpoints{TokenURL: "http://127.0.0.1:9/oauth/v2/token"},
			UpdatedAt:     now,
		}
		b, err := rec.Encode()
		if err != nil {
			return err
		}
		if err := v.Set(provider+"/"+sub, b); err != nil {
			return err
		}
		ins = append(ins, accounts.SignIn{
			Provider: provider,
			Profile: accounts.Profile{
				Subject: sub, Email: sub + "@example.com", EmailVerified: true,
				Name: "User " + sub, AvatarURL: "https://example.com/avatars/" + sub + ".png",
				Claims: map[string]any{
					"locale": "en", "given_name": "User", "family_name": sub,
					"preferred_username": sub, "updated_at": now.Unix(),
					"groups": []string{"developers", "readers", "bench-" + sub},
					"org":    randomText(300),
				},
			},
			Scopes:      rec.Scopes,
			TokenExpiry: expiry,
			Refreshable: true,
			Account:     fmt.Sprintf("acct-%04d", i),
		})
	}
	return accounts.OpenStore(dir).Update(func(st *accounts.State) error {
		for _, in := range ins {
			if err := st.Apply(in, st.Resolve(in), now); err != nil {
				return err
			}
		}
		return nil
	})
}

// randomText is n characters of base64url, like the body of a JWT.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
