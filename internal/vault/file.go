package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/gofrs/flock"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/authcli/authcli/internal/atomicfile"
)

// FileName is the vault file inside the state directory; its lock file is
// FileName + ".lock" next to it.
const FileName = "vault.enc"

// File is an encrypted vault file for machines without an OS keyring
// (headless hosts, containers, CI). The whole map of secrets is sealed with
// XChaCha20-Poly1305 under a raw key or an Argon2id-stretched passphrase.
//
// Readers need no lock because writers replace the file atomically (temp
// file, fsync, rename, fsync of the directory). Writers serialise on a file
// lock and re-read the vault under it, so concurrent processes never lose
// each other's updates. A missing file is an empty vault; a file that does
// not decrypt is ErrDecrypt, never garbage and never an empty vault.
//
// Permissions: the directory is created 0700 and the file written 0600.
// authcli refuses, with ErrPermissions and the chmod that fixes it, rather
// than silently changing modes the user chose:
//   - a vault file any other user can access (its ciphertext would be open
//     to offline guessing of a passphrase);
//   - a directory other users can write to (they could delete, replace or
//     roll back the vault file).
//
// A directory others can merely list is accepted: the file inside is 0600 and
// the names reveal nothing secret. Windows has no such mode bits and is not
// checked.
type File struct {
	dir      string
	path     string
	lockPath string
	key      Key
	params   Argon2Params

	writeMu sync.Mutex // serialises writers within this process
	keyMu   sync.Mutex // guards derived
	derived *derivedKey
}

var _ Vault = (*File)(nil)

// derivedKey caches the stretched passphrase for one salt and parameter set,
// so a process stretches at most once however many times it reads.
type derivedKey struct {
	hdr fileHeader
	key []byte
}

// FileOption configures OpenFile.
type FileOption func(*File)

// WithArgon2Params sets the cost of stretching a passphrase for a vault this
// File creates. Existing vaults keep the parameters stored in their header.
func WithArgon2Params(p Argon2Params) FileOption {
	return func(f *File) { f.params = p }
}

// OpenFile returns the file vault in dir. It reads nothing but the
// directory's permissions; the key is checked (and a passphrase stretched)
// on first use.
func OpenFile(dir string, key Key, opts ...FileOption) (*File, error) {
	if key.isZero() {
		return nil, ErrNoKey
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: no directory for the vault file", ErrInvalidConfig)
	}
	f := &File{
		dir:      dir,
		path:     filepath.Join(dir, FileName),
		lockPath: filepath.Join(dir, FileName+".lock"),
		key:      key,
		params:   DefaultArgon2Params(),
	}
	for _, o := range opts {
		o(f)
	}
	if err := f.params.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidConfig, err)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("open vault directory: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%w: %s is not a directory", ErrInvalidConfig, dir)
	default:
		if err := checkPrivate(dir, fi, 0o022, 0o700); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Path is the vault file's location, for messages.
func (f *File) Path() string { return f.path }

// Get decrypts the vault and returns a copy of key's value.
func (f *File) Get(key string) ([]byte, error) {
	if err := CheckName(key); err != nil {
		return nil, err
	}
	st, err := f.load()
	if err != nil {
		return nil, err
	}
	defer clear(st.plain)
	v, ok := st.entries[key]
	if !ok {
		return nil, fmt.Errorf("vault file entry %q: %w", key, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// Set stores value under key, re-reading the vault under the lock.
func (f *File) Set(key string, value []byte) error {
	if err := CheckName(key); err != nil {
		return err
	}
	if len(value) > MaxValueSize {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(value), MaxValueSize)
	}
	return f.update(func(entries map[string][]byte) bool {
		entries[key] = value
		return true
	})
}

// Delete removes key; an absent key or vault file leaves the file untouched.
func (f *File) Delete(key string) error {
	if err := CheckName(key); err != nil {
		return err
	}
	return f.update(func(entries map[string][]byte) bool {
		if _, ok := entries[key]; !ok {
			return false
		}
		delete(entries, key)
		return true
	})
}

// List returns the sorted keys starting with prefix.
func (f *File) List(prefix string) ([]string, error) {
	st, err := f.load()
	if err != nil {
		return nil, err
	}
	defer clear(st.plain)
	keys := []string{}
	for k := range st.entries {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

type vaultState struct {
	exists  bool
	hdr     fileHeader
	aeadKey []byte
	plain   []byte // decrypted records; cleared by the caller
	entries map[string][]byte
}

func (f *File) load() (vaultState, error) {
	data, err := f.readFile()
	if errors.Is(err, fs.ErrNotExist) {
		return vaultState{entries: map[string][]byte{}}, nil
	}
	if err != nil {
		return vaultState{}, err
	}
	return f.decrypt(data)
}

// decrypt authenticates and decodes the contents of a vault file. Every
// failure is ErrDecrypt, or ErrCorrupt for records that authenticate but do
// not decode (which only a writer bug could produce).
func (f *File) decrypt(data []byte) (vaultState, error) {
	h, off, err := parseHeader(data)
	if err != nil {
		return vaultState{}, fmt.Errorf("vault file %s: %w", f.path, err)
	}
	key, err := f.keyFor(h)
	if err != nil {
		return vaultState{}, fmt.Errorf("vault file %s: %w", f.path, err)
	}
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return vaultState{}, fmt.Errorf("vault cipher: %w", err)
	}
	plain, err := aead.Open(nil, h.nonce, data[off:], data[:off])
	if err != nil {
		return vaultState{}, fmt.Errorf("vault file %s: %w", f.path, ErrDecrypt)
	}
	entries, err := decodeRecords(plain)
	if err != nil {
		clear(plain)
		return vaultState{}, fmt.Errorf("vault file %s: %w", f.path, err)
	}
	return vaultState{exists: true, hdr: h, aeadKey: key, plain: plain, entries: entries}, nil
}

func (f *File) readFile() ([]byte, error) {
	fh, err := os.Open(f.path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("read vault file: %w", err)
	}
	if err := checkPrivate(f.path, fi, 0o077, 0o600); err != nil {
		return nil, err
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("vault file %s: %w: larger than %d bytes", f.path, ErrDecrypt, maxFileSize)
	}
	data := make([]byte, fi.Size())
	if _, err := io.ReadFull(fh, data); err != nil {
		return nil, fmt.Errorf("read vault file: %w", err)
	}
	return data, nil
}

// keyFor returns the AEAD key for a vault with header h. A key of the wrong
// kind is ErrDecrypt with a message saying which kind the vault needs.
func (f *File) keyFor(h fileHeader) ([]byte, error) {
	if f.key.isZero() {
		return nil, ErrNoKey // forgotten
	}
	if h.kdf == kdfNone {
		if f.key.raw == nil {
			return nil, fmt.Errorf("%w: the vault was created with a raw key (%s), but a passphrase was given", ErrDecrypt, EnvVaultKey)
		}
		return f.key.raw[:], nil
	}
	if f.key.raw != nil {
		return nil, fmt.Errorf("%w: the vault is protected by a passphrase (%s), but a raw key was given", ErrDecrypt, EnvVaultPassphrase)
	}
	f.keyMu.Lock()
	defer f.keyMu.Unlock()
	if f.derived != nil && sameKDF(f.derived.hdr, h) {
		return f.derived.key, nil
	}
	p := h.params
	key := argon2.IDKey([]byte(f.key.passphrase), h.salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	f.derived = &derivedKey{hdr: fileHeader{kdf: h.kdf, params: p, salt: bytes.Clone(h.salt)}, key: key}
	return key, nil
}

// Forget overwrites the raw key and the stretched passphrase this File
// holds, for a process that keeps a vault open for a while (the agent)
// and must not keep its key after locking. Later calls fail with ErrNoKey.
// A passphrase itself is a Go string and cannot be overwritten; it is
// dropped for the collector. Forget must not run concurrently with the
// other methods.
func (f *File) Forget() {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	f.keyMu.Lock()
	defer f.keyMu.Unlock()
	if f.key.raw != nil {
		clear(f.key.raw[:])
	}
	if f.derived != nil {
		clear(f.derived.key)
		f.derived = nil
	}
	f.key = Key{}
}

// newHeader is the header of a vault this File creates.
func (f *File) newHeader() fileHeader {
	if f.key.raw != nil {
		return fileHeader{kdf: kdfNone}
	}
	salt := make([]byte, saltSize)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails; it aborts the program instead
	return fileHeader{kdf: kdfArgon2id, params: f.params, salt: salt}
}

// update applies edit to the vault under the lock and writes it back if edit
// reports a change. The existing salt and parameters are kept; every write
// gets a fresh random nonce.
func (f *File) update(edit func(map[string][]byte) bool) error {
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("create vault directory: %w", err)
	}
	fl := flock.New(f.lockPath, flock.SetPermissions(0o600))
	if err := fl.Lock(); err != nil {
		return fmt.Errorf("lock vault file: %w", err)
	}
	defer func() { _ = fl.Unlock() }()

	st, err := f.load()
	if err != nil {
		return err
	}
	defer clear(st.plain)
	if !edit(st.entries) {
		return nil
	}
	h, key := st.hdr, st.aeadKey
	if !st.exists {
		h = f.newHeader()
		if key, err = f.keyFor(h); err != nil {
			return err
		}
	}
	h.nonce = make([]byte, chacha20poly1305.NonceSizeX)
	_, _ = rand.Read(h.nonce)
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return fmt.Errorf("vault cipher: %w", err)
	}
	plain := encodeRecords(st.entries)
	defer clear(plain)
	hdr := h.encode()
	out := make([]byte, len(hdr), len(hdr)+len(plain)+aead.Overhead())
	copy(out, hdr)
	out = aead.Seal(out, h.nonce, plain, hdr)
	if err := atomicfile.Write(f.path, "."+filepath.Base(f.path)+".*.tmp", out); err != nil {
		return fmt.Errorf("write vault file: %w", err)
	}
	return nil
}

// checkPrivate refuses a file or directory whose mode has any of the
// forbidden bits, suggesting the mode to set.
func checkPrivate(path string, fi fs.FileInfo, forbidden, want fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if perm := fi.Mode().Perm(); perm&forbidden != 0 {
		return fmt.Errorf("%w: %s is accessible by other users (mode %04o); fix it with: chmod %o %s", ErrPermissions, path, perm, want, path)
	}
	return nil
}
