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

// keyringFixture is a state directory whose in-memory keyring and
// accounts store hold demo identities of the given subjects, one account
// each (a, b, c, …), with tokens valid for an hour after now.
func keyringFixture(t *testing.T, now time.Time, subjects ...string) (string, *countingKeyring, vault.Vault, *accounts.Store) {
	t.Helper()
	dir := t.TempDir()
	backend := &countingKeyring{items: map[string]string{}}
	v := vault.NewKeyring(vault.Service, vault.WithBackend(backend), vault.WithLockDir(dir))
	store := accounts.OpenStore(dir)
	for i, sub := range subjects {
		b, err := tokens.Record{AccessToken: "at-" + sub, Expiry: now.Add(time.Hour)}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Set("demo/"+sub, b); err != nil {
			t.Fatal(err)
		}
		in := accounts.SignIn{Provider: "demo", Profile: accounts.Profile{Subject: sub}, Account: string(rune('a' + i))}
		if err := store.Update(func(st *accounts.State) error { return st.Apply(in, st.Resolve(in), now) }); err != nil {
			t.Fatal(err)
		}
	}
	return dir, backend, v, store
}

// TestFreshCachedKeyringReadsOneItem: with the keyring vault, a cached
// token is one keyring lookup of the identity's own item, whatever else
// the keyring and the accounts hold: not the key list ("#keys"), not other
// identities, and no config.
func TestFreshCachedKeyringReadsOneItem(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dir, backend, v, store := keyringFixture(t, now, "ada", "bob", "eve")
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

// gatedLookup holds the accounts store's lookup until the vault has been
// asked for the record, or a second has passed.
type gatedLookup struct {
	*accounts.Store
	asked chan struct{}
}

func (g gatedLookup) Lookup(provider, account, subject string) (accounts.Ref, error) {
	select {
	case <-g.asked:
	case <-time.After(time.Second):
	}
	return g.Store.Lookup(provider, account, subject)
}

// askingVault says when the record is first read, and takes slow longer
// to answer.
type askingVault struct {
	vault.Vault
	once     sync.Once
	asked    chan struct{}
	slow     time.Duration
	mu       sync.Mutex
	reads    int
	answered int
}

func (v *askingVault) Get(key string) ([]byte, error) {
	v.mu.Lock()
	v.reads++
	v.mu.Unlock()
	v.once.Do(func() { close(v.asked) })
	time.Sleep(v.slow)
	defer func() {
		v.mu.Lock()
		v.answered++
		v.mu.Unlock()
	}()
	return v.Vault.Get(key)
}

// TestFreshNamedReadsWhileLookingUp: with the provider and subject named,
// the record is read while the accounts store finds the identity, once;
// an identity the store does not hold is refused, with that read done
// before Fresh returns.
func TestFreshNamedReadsWhileLookingUp(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	dir, _, inner, store := keyringFixture(t, now, "ada", "bob")
	v := &askingVault{Vault: inner, asked: make(chan struct{})}
	svc := &Service{
		Config: func() (*config.File, error) { return &config.File{}, nil },
		Store:  gatedLookup{Store: store, asked: v.asked}, Vault: v, StateDir: dir,
		Now: func() time.Time { return now },
	}
	start := time.Now()
	got, err := svc.Fresh(context.Background(), Want{Provider: "demo", Subject: "bob", MinTTL: time.Minute})
	if err != nil || got.AccessToken != "at-bob" {
		t.Fatalf("Fresh = %v, %v", got, err)
	}
	if d := time.Since(start); d >= time.Second {
		t.Errorf("the lookup waited %v for a read of the record that had not started", d)
	}
	if v.reads != 1 {
		t.Errorf("the record was read %d times", v.reads)
	}

	// Not an identity the store holds: refused, and the early read is
	// over before Fresh returns.
	v = &askingVault{Vault: inner, asked: make(chan struct{}), slow: 50 * time.Millisecond}
	svc.Vault, svc.Store = v, gatedLookup{Store: store, asked: v.asked}
	if _, err := svc.Fresh(context.Background(), Want{Provider: "demo", Subject: "eve", MinTTL: time.Minute}); err == nil {
		t.Fatal("Fresh of an identity nobody signed in as succeeded")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.reads != 1 || v.answered != 1 {
		t.Errorf("%d reads of the vault, %d answered, by the time Fresh returned; want the one early read, over", v.reads, v.answered)
	}
}
