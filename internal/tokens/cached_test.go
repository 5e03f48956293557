package tokens

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

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
// the keyring holds: not the key list ("#keys"), not other identities.
func TestFreshCachedKeyringReadsOneItem(t *testing.T) {
	backend := &countingKeyring{items: map[string]string{}}
	v := vault.NewKeyring(vault.Service, vault.WithBackend(backend), vault.WithLockDir(t.TempDir()))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, key := range []string{"demo/ada", "demo/bob", "github/1"} {
		b, err := Record{AccessToken: "at-" + key, Expiry: now.Add(time.Hour)}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Set(key, b); err != nil {
			t.Fatal(err)
		}
	}
	backend.reads = nil
	src := &Source{Vault: v, LockDir: t.TempDir(), Now: func() time.Time { return now },
		Refresh: func(context.Context, Record) (Record, error) {
			t.Fatal("refresh on the cached path")
			return Record{}, nil
		}}
	got, err := src.Fresh(context.Background(), "demo/ada", Want{MinTTL: time.Minute})
	if err != nil || got.AccessToken != "at-demo/ada" {
		t.Fatalf("Fresh = %v, %v", got, err)
	}
	if !slices.Equal(backend.reads, []string{"demo/ada"}) {
		t.Fatalf("the cached path read keyring items %q, want only demo/ada", backend.reads)
	}
}
