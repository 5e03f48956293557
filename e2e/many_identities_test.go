package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// TestTokenAmongManyIdentities: with hundreds of identities, the binary's
// cached path (the accounts index, one vault record) prints the right
// token for every way of choosing one, answers exactly as the full read of
// accounts.json does once the index is gone, and refuses a record copied
// onto another identity's file.
func TestTokenAmongManyIdentities(t *testing.T) {
	const n = 300
	r := newRun(t)
	dir := r.stateDir()
	v := r.openVault(t, nil)
	store := accounts.OpenStore(dir)
	now := time.Now().UTC()
	token := func(key string) string { return "at-" + key }
	var ins []accounts.SignIn
	for i := range n {
		provider, sub := "local", fmt.Sprintf("user-%03d", i)
		if i == 150 {
			provider = "other" // the only one: not on the default account
		}
		b, err := tokens.Record{AccessToken: token(provider + "/" + sub), Expiry: now.Add(time.Hour)}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Set(provider+"/"+sub, b); err != nil {
			t.Fatal(err)
		}
		ins = append(ins, accounts.SignIn{Provider: provider, Profile: accounts.Profile{Subject: sub},
			TokenExpiry: now.Add(time.Hour), Account: fmt.Sprintf("acct-%03d", i)})
	}
	err := store.Update(func(st *accounts.State) error {
		for _, in := range ins {
			if err := st.Apply(in, st.Resolve(in), now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, accounts.IndexName)); err != nil {
		t.Fatalf("no accounts index: %v", err)
	}

	asks := []struct {
		args []string
		want string // the token printed, "" for a refusal
	}{
		{[]string{"token", "local"}, token("local/user-000")},
		{[]string{"token", "local", "--account", "acct-250"}, token("local/user-250")},
		{[]string{"token", "other"}, token("other/user-150")},
		{[]string{"token", "local", "--subject", "user-299"}, token("local/user-299")},
		{[]string{"token", "local", "--account", "nobody"}, ""},
		{[]string{"token", "other", "--account", "acct-001"}, ""},
	}
	first := make([]result, len(asks))
	for i, a := range asks {
		res := r.exec(a.args...)
		first[i] = res
		if a.want != "" && (res.code != 0 || res.stdout != a.want+"\n") {
			t.Fatalf("%v: exit %d, printed %q; want %q (%s)", a.args, res.code, res.stdout, a.want, res.stderr)
		}
		if a.want == "" && (res.code == 0 || res.stdout != "") {
			t.Fatalf("%v: exit %d, printed %q; want a refusal", a.args, res.code, res.stdout)
		}
	}
	// Without the index, authcli reads accounts.json whole: same answers.
	if err := os.Remove(filepath.Join(dir, accounts.IndexName)); err != nil {
		t.Fatal(err)
	}
	for i, a := range asks {
		if res := r.exec(a.args...); res != first[i] {
			t.Errorf("%v without the index: %+v; with it: %+v", a.args, res, first[i])
		}
	}

	// A record copied onto another identity's file: refused, no token.
	record := func(key string) string {
		sum := sha256.Sum256([]byte(key))
		return filepath.Join(dir, vault.DirName, hex.EncodeToString(sum[:])+".rec")
	}
	other, err := os.ReadFile(record("local/user-250"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(record("local/user-000"), other, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := r.exec("token", "local"); res.code != 5 || res.stdout != "" {
		t.Fatalf("token with a swapped record: exit %d, printed %q (%s)", res.code, res.stdout, res.stderr)
	}
}
