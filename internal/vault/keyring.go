package vault

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/authcli/authcli/internal/statedir"
	"github.com/gofrs/flock"
	"github.com/zalando/go-keyring"
)

// KeyringBackend is the part of go-keyring the Keyring uses. It exists so
// tests can simulate platform limits and failures; implementations must
// return keyring.ErrNotFound for a missing item and keyring.ErrSetDataTooBig
// for an item over their limit.
type KeyringBackend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// osKeyring is the real OS keyring through go-keyring's package functions.
type osKeyring struct {
	goos   string
	getenv func(string) string
	exists func(string) bool
	uid    int
}

func newOSKeyring() osKeyring {
	return osKeyring{
		goos:   runtime.GOOS,
		getenv: os.Getenv,
		exists: func(p string) bool { _, err := os.Stat(p); return err == nil },
		uid:    os.Getuid(),
	}
}

func (o osKeyring) Get(service, user string) (string, error) {
	if err := o.checkSessionBus(); err != nil {
		return "", err
	}
	return keyring.Get(service, user)
}

func (o osKeyring) Set(service, user, pass string) error {
	if err := o.checkSessionBus(); err != nil {
		return err
	}
	return keyring.Set(service, user, pass)
}

func (o osKeyring) Delete(service, user string) error {
	if err := o.checkSessionBus(); err != nil {
		return err
	}
	return keyring.Delete(service, user)
}

// checkSessionBus fails fast where the Secret Service needs a D-Bus session
// bus but none can be found the way godbus looks for one (the environment
// variable, then /run/user/UID/bus or dbus-session). Without this, godbus
// falls back to running dbus-launch, which starts a bus daemon (and, through
// D-Bus activation, a keyring daemon) that outlives authcli: every
// `authcli token` on a headless host would leave two more processes behind.
func (o osKeyring) checkSessionBus() error {
	if o.goos == "windows" || o.goos == "darwin" {
		return nil
	}
	if addr := o.getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" && addr != "autolaunch:" {
		return nil
	}
	run := fmt.Sprintf("/run/user/%d/", o.uid)
	if o.exists(run+"bus") || o.exists(run+"dbus-session") {
		return nil
	}
	return errNoSessionBus
}

var errNoSessionBus = errors.New("no D-Bus session bus: DBUS_SESSION_BUS_ADDRESS is not set and there is no /run/user/UID/bus")

// keyListName is the item holding the sorted list of keys, because go-keyring
// cannot enumerate items. It cannot clash with a key: keys never contain '#'.
const keyListName = "#keys"

// lockFileName is the lock, in the lock directory, that serialises writers of
// the key list and of chunked values across processes.
const lockFileName = "vault-keyring.lock"

// minChunkSize leaves room for the longest index item (about 80 bytes).
const (
	minChunkSize    = 128
	minChunkPayload = minChunkSize / 4 * 3
	maxReadAttempts = 3
)

// DefaultChunkSize is the largest item string Keyring stores on goos.
//
//   - windows: go-keyring stores the string's bytes as the credential blob,
//     which Windows caps at 2560 bytes; 2048 leaves headroom.
//   - darwin: go-keyring base64-encodes the string again (x4/3), prefixes it
//     and sends "add-generic-password -U -s SERVICE -a ACCOUNT -w SECRET" to
//     `security -i`, refusing commands over 4096 bytes. 2048 becomes about
//     2790 bytes with the command, leaving about 1300 for the quoted service
//     and account names (a key is at most MaxNameLen bytes).
//   - elsewhere (Secret Service): no hard limit, but large D-Bus messages are
//     slow; 32 KiB keeps token bundles in one item, so a Get is one lookup.
func DefaultChunkSize(goos string) int {
	switch goos {
	case "windows", "darwin":
		return 2048
	default:
		return 32 << 10
	}
}

// Keyring stores values in the OS keyring through go-keyring. Each key is one
// item (service Service, account = the key, so users recognise it in their
// keyring UI) holding the whole value when it fits the platform's item limit,
// or an index of chunk items when it does not. Get of an unchunked value is a
// single keyring lookup. Values are base64 because go-keyring stores strings.
type Keyring struct {
	service   string
	backend   KeyringBackend
	chunkSize int
	lockDir   string
	mu        sync.Mutex // serialises writers within this process
}

var _ Vault = (*Keyring)(nil)

// KeyringOption configures NewKeyring.
type KeyringOption func(*Keyring)

// WithChunkSize sets the largest item string stored in one keyring item
// (values are chunked above it). Sizes below 128 are raised to 128.
func WithChunkSize(n int) KeyringOption {
	return func(k *Keyring) { k.chunkSize = max(n, minChunkSize) }
}

// WithBackend replaces the OS keyring, for tests.
func WithBackend(b KeyringBackend) KeyringOption {
	return func(k *Keyring) { k.backend = b }
}

// WithLockDir sets the directory of the lock file that serialises writers
// across processes. Without it, writers are serialised only within the
// process, and concurrent authcli processes could lose key-list updates.
func WithLockDir(dir string) KeyringOption {
	return func(k *Keyring) { k.lockDir = dir }
}

// NewKeyring returns a keyring vault for service ("authcli" in production).
// It does not touch the keyring.
func NewKeyring(service string, opts ...KeyringOption) *Keyring {
	k := &Keyring{service: service, backend: newOSKeyring(), chunkSize: DefaultChunkSize(runtime.GOOS)}
	for _, o := range opts {
		o(k)
	}
	return k
}

// Get returns the value under key. A chunked value is read whole or not at
// all: its chunks are checked against the index's length and SHA-256, and an
// index whose chunks are missing is ErrCorrupt, never a partial value.
func (k *Keyring) Get(key string) ([]byte, error) {
	if err := CheckName(key); err != nil {
		return nil, err
	}
	return k.get(key)
}

func (k *Keyring) get(name string) ([]byte, error) {
	var prev string
	var lastErr error
	for attempt := 0; attempt < maxReadAttempts; attempt++ {
		s, err := k.backend.Get(k.service, name)
		if err != nil {
			return nil, k.backendErr("read", name, err)
		}
		if attempt > 0 && s == prev {
			// The index did not move, so its chunks are really gone.
			break
		}
		prev = s
		it, err := decodeKeyringItem(s)
		if err != nil {
			return nil, fmt.Errorf("keyring item %q: %w", name, err)
		}
		if !it.chunked {
			return it.value, nil
		}
		v, err := k.readChunks(name, it)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, errChunkMissing) {
			return nil, err
		}
		// A writer may have replaced the value and removed these chunks
		// after we read the index: read the index again.
		lastErr = err
	}
	return nil, lastErr
}

// errChunkMissing is ErrCorrupt for a missing chunk. Not fmt.Errorf: a
// package-level call runs at every start, cached `authcli token` included,
// and fmt's first use there cost more than this package's whole init.
var errChunkMissing error = &corruptError{"a chunk item is missing"}

// corruptError is ErrCorrupt with a detail.
type corruptError struct{ detail string }

func (e *corruptError) Error() string { return ErrCorrupt.Error() + ": " + e.detail }
func (e *corruptError) Unwrap() error { return ErrCorrupt }

func (k *Keyring) readChunks(name string, it keyringItem) ([]byte, error) {
	buf := make([]byte, 0, it.size)
	for i := 0; i < it.chunks; i++ {
		cn := chunkName(name, it.gen, i)
		s, err := k.backend.Get(k.service, cn)
		if errors.Is(err, keyring.ErrNotFound) {
			clear(buf)
			return nil, fmt.Errorf("keyring item %q: %w", cn, errChunkMissing)
		}
		if err != nil {
			clear(buf)
			return nil, k.backendErr("read", cn, err)
		}
		if s == "" || base64.StdEncoding.DecodedLen(len(s)) > it.size-len(buf)+2 {
			clear(buf)
			return nil, fmt.Errorf("keyring item %q: %w: chunk does not fit the index", cn, ErrCorrupt)
		}
		next, err := base64.StdEncoding.AppendDecode(buf, []byte(s))
		if err != nil || len(next) > it.size {
			clear(buf)
			return nil, fmt.Errorf("keyring item %q: %w: chunk is not valid base64", cn, ErrCorrupt)
		}
		buf = next
	}
	sum := sha256.Sum256(buf)
	if len(buf) != it.size || subtle.ConstantTimeCompare(sum[:], it.sum[:]) != 1 {
		clear(buf)
		return nil, fmt.Errorf("keyring item %q: %w: chunks do not match the index", name, ErrCorrupt)
	}
	return buf, nil
}

// Set stores value under key. The key is added to the key list first (a listed
// key without a value is harmless; a value nobody can list would be an orphan).
func (k *Keyring) Set(key string, value []byte) error {
	if err := CheckName(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(value), MaxValueSize)
	}
	unlock, err := k.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := k.updateList(func(keys []string) ([]string, bool) { return insertSorted(keys, key) }); err != nil {
		return err
	}
	return k.put(key, value)
}

// Delete removes key, its chunks, and its key-list entry.
func (k *Keyring) Delete(key string) error {
	if err := CheckName(key); err != nil {
		return err
	}
	unlock, err := k.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if err := k.remove(key); err != nil {
		return err
	}
	return k.updateList(func(keys []string) ([]string, bool) { return removeSorted(keys, key) })
}

// List returns the sorted keys starting with prefix, from the key list.
func (k *Keyring) List(prefix string) ([]string, error) {
	keys, err := k.readList()
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, key := range keys {
		if len(key) >= len(prefix) && key[:len(prefix)] == prefix {
			out = append(out, key)
		}
	}
	return out, nil
}

func (k *Keyring) readList() ([]string, error) {
	b, err := k.get(keyListName)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeKeyList(b)
}

// updateList applies edit to the key list. A damaged list is rebuilt from
// the edit rather than blocking every later write: it holds only names, and
// the values stay readable by name.
func (k *Keyring) updateList(edit func([]string) ([]string, bool)) error {
	keys, err := k.readList()
	if err != nil && !errors.Is(err, ErrCorrupt) {
		return err
	}
	keys, changed := edit(keys)
	if !changed && err == nil {
		return nil
	}
	if len(keys) == 0 {
		return k.remove(keyListName)
	}
	return k.put(keyListName, encodeKeyList(keys))
}

type itemState int

const (
	itemAbsent itemState = iota
	itemPresent
	itemDamaged
)

// readItem reads the first item under name, for writers: a damaged item is
// reported, not returned as an error, so it can be overwritten.
func (k *Keyring) readItem(name string) (keyringItem, itemState, error) {
	s, err := k.backend.Get(k.service, name)
	if errors.Is(err, keyring.ErrNotFound) {
		return keyringItem{}, itemAbsent, nil
	}
	if err != nil {
		return keyringItem{}, itemAbsent, k.backendErr("read", name, err)
	}
	it, err := decodeKeyringItem(s)
	if err != nil {
		return keyringItem{}, itemDamaged, nil
	}
	clear(it.value)
	return it, itemPresent, nil
}

// put writes name's value: chunks first, then the first item that makes them
// visible, then removes the chunks the previous value no longer needs. A crash
// before the first item is written leaves the old value intact; the leftover
// chunks use the generation the next chunked write reuses and cleans up.
func (k *Keyring) put(name string, value []byte) error {
	old, state, err := k.readItem(name)
	if err != nil {
		return err
	}
	oldChunked := state == itemPresent && old.chunked
	if wholeItemLen(old.gen, len(value)) <= k.chunkSize {
		if err := k.backend.Set(k.service, name, encodeWholeItem(old.gen, value)); err != nil {
			return k.backendErr("write", name, err)
		}
		if oldChunked {
			k.deleteChunks(name, old.gen, 0, old.chunks)
		}
		k.deleteLeftovers(name, old.gen+1, 0)
		return nil
	}

	gen := old.gen + 1
	per := k.chunkSize / 4 * 3
	n := (len(value) + per - 1) / per
	for i := 0; i < n; i++ {
		part := value[i*per : min((i+1)*per, len(value))]
		cn := chunkName(name, gen, i)
		if err := k.backend.Set(k.service, cn, base64.StdEncoding.EncodeToString(part)); err != nil {
			return k.backendErr("write", cn, err)
		}
	}
	if err := k.backend.Set(k.service, name, encodeIndexItem(gen, n, len(value), sha256.Sum256(value))); err != nil {
		return k.backendErr("write", name, err)
	}
	if oldChunked {
		k.deleteChunks(name, old.gen, 0, old.chunks)
	}
	k.deleteLeftovers(name, gen, n)
	return nil
}

// remove deletes name's first item before its chunks, so readers see
// ErrNotFound rather than an index without chunks.
func (k *Keyring) remove(name string) error {
	old, state, err := k.readItem(name)
	if err != nil {
		return err
	}
	if state != itemAbsent {
		if err := k.backend.Delete(k.service, name); err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return k.backendErr("delete", name, err)
		}
	}
	if state == itemPresent && old.chunked {
		k.deleteChunks(name, old.gen, 0, old.chunks)
	}
	k.deleteLeftovers(name, old.gen+1, 0)
	return nil
}

// deleteChunks removes chunks [from, to) of a generation. Failures are
// ignored: the new value is already committed, and a stray chunk is
// unreachable without an index that names it.
func (k *Keyring) deleteChunks(name string, gen uint64, from, to int) {
	for i := from; i < to; i++ {
		_ = k.backend.Delete(k.service, chunkName(name, gen, i))
	}
}

// deleteLeftovers removes chunks of gen from index from on, until one is
// missing: a torn write stores chunks in order, so its leftovers are
// contiguous.
func (k *Keyring) deleteLeftovers(name string, gen uint64, from int) {
	for i := from; i < from+maxChunks; i++ {
		if err := k.backend.Delete(k.service, chunkName(name, gen, i)); err != nil {
			return
		}
	}
}

func (k *Keyring) lock() (func(), error) {
	k.mu.Lock()
	if k.lockDir == "" {
		return k.mu.Unlock, nil
	}
	if err := os.MkdirAll(k.lockDir, 0o700); err != nil {
		k.mu.Unlock()
		return nil, fmt.Errorf("create keyring lock directory: %w", err)
	}
	fl := flock.New(filepath.Join(k.lockDir, lockFileName), flock.SetFlag(os.O_CREATE|os.O_RDWR|statedir.NoFollow), flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		k.mu.Unlock()
		return nil, fmt.Errorf("lock keyring: %w", err)
	}
	return func() {
		_ = fl.Unlock()
		k.mu.Unlock()
	}, nil
}

// backendErr maps go-keyring errors to the package's sentinels. Anything
// other than "not found" and "too big" means the keyring cannot serve us: no
// D-Bus session, no Secret Service, a locked collection or keychain, a
// dismissed prompt, an unsupported platform.
func (k *Keyring) backendErr(op, name string, err error) error {
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return fmt.Errorf("keyring item %q: %w", name, ErrNotFound)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("keyring %s %q: %w for one keyring item (use a smaller chunk size)", op, name, ErrTooLarge)
	default:
		return fmt.Errorf("keyring %s %q: %w: %w", op, name, ErrUnavailable, err)
	}
}
