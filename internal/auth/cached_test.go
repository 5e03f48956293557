package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// countingKeyring is an in-memory keyring backend that records every item
// read, so a test can tell what the cached path touches.
type countingKeyring struct {
	mu    sync.Mutex
	items map[string]string
	reads []string
}

func (c *countingKeyring) Get(_, user string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads = append(c.reads, user)
	v, ok := c.items[user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (c *countingKeyring) Set(_, user, pass string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items[user] = pass
	return nil
}

func (c *countingKeyring) Delete(_, user string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.items, user)
	return nil
}

// TestFreshCachedKeyringReadsOneItem: with the keyring vault, a cached
// token is one keyring lookup of the identity's own item, whatever else
// the keyring and the accounts hold: not the key list ("#keys"), not other
// identities, and no config.
func TestFreshCachedKeyringReadsOneItem(t *testing.T) {
	dir := t.TempDir()
	backend := &countingKeyring{items: map[string]string{}}
	v := vault.NewKeyring(vault.Service, vault.WithBackend(backend), vault.WithLockDir(dir))
	store := accounts.OpenStore(dir)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for i, sub := range []string{"ada", "bob", "eve"} {
		b, err := tokens.Record{AccessToken: "at-" + sub, Expiry: now.Add(time.Hour)}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Set("demo/"+sub, b); err != nil {
			t.Fatal(err)
		}
		in := accounts.SignIn{Provider: "demo", Profile: accounts.Profile{Subject: sub}, Account: []string{"a", "b", "c"}[i]}
		if err := store.Update(func(st *accounts.State) error { return st.Apply(in, st.Resolve(in), now) }); err != nil {
			t.Fatal(err)
		}
	}
	backend.reads = nil
	svc := &Service{
		Config: func() (*config.File, error) {
			t.Error("the cached path read the config")
			return nil, errors.New("no config")
		},
		Store: store, Vault: v, StateDir: dir, Now: func() time.Time { return now },
		SlowPath: func(ctx context.Context) context.Context {
			t.Error("the cached path left the cached path")
			return ctx
		},
	}
	got, err := svc.Fresh(context.Background(), Want{Provider: "demo", MinTTL: time.Minute})
	if err != nil || got.AccessToken != "at-ada" {
		t.Fatalf("Fresh = %v, %v", got, err)
	}
	if !slices.Equal(backend.reads, []string{"demo/ada"}) {
		t.Fatalf("the cached path read keyring items %q, want only demo/ada", backend.reads)
	}
}
