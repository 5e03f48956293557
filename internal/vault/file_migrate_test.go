package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/chacha20poly1305"
)

// legacyFile builds a single-file vault exactly as authcli wrote it before
// per-identity records: header version 1, then every entry sealed together
// with the header as additional data.
func legacyFile(t testing.TB, key Key, entries map[string][]byte) []byte {
	t.Helper()
	h := fileHeader{version: legacyVersion, kdf: kdfNone}
	aeadKey := []byte(nil)
	if key.raw != nil {
		aeadKey = key.raw[:]
	} else {
		h.kdf, h.params, h.salt = kdfArgon2id, testArgon2, make([]byte, saltSize)
		_, _ = rand.Read(h.salt)
		aeadKey = argon2.IDKey([]byte(key.passphrase), h.salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, KeySize)
	}
	h.nonce = make([]byte, chacha20poly1305.NonceSizeX)
	_, _ = rand.Read(h.nonce)
	aead, err := chacha20poly1305.NewX(aeadKey)
	if err != nil {
		t.Fatal(err)
	}
	hdr := h.encode()
	return aead.Seal(bytes.Clone(hdr), h.nonce, encodeRecords(entries), hdr)
}

// TestFileMigratesSingleFileVault: a vault written by an earlier version is
// read as is (nothing written), refused with the wrong key, and moved into
// records by the first write, after which the old file is gone and every
// value reads the same.
func TestFileMigratesSingleFileVault(t *testing.T) {
	old := map[string][]byte{
		"github/1":  []byte("github token"),
		"google/10": randomBytes(t, 20<<10),
		"empty/0":   {},
	}
	for _, tt := range []struct {
		name       string
		key, wrong Key
	}{
		{"raw key", rawKey(t, 1), rawKey(t, 2)},
		{"passphrase", passKey(t, "old pass"), passKey(t, "other")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			legacy := filepath.Join(dir, FileName)
			if err := os.WriteFile(legacy, legacyFile(t, tt.key, old), 0o600); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			f := openFile(t, dir, tt.key)
			readAll := func(when string, f *File, want map[string][]byte) {
				t.Helper()
				for k, v := range want {
					if got, err := f.Get(k); err != nil || !bytes.Equal(got, v) {
						t.Fatalf("%s: Get(%s) = %d bytes, %v", when, k, len(got), err)
					}
				}
				if _, err := f.Get("absent/x"); !errors.Is(err, ErrNotFound) {
					t.Fatalf("%s: Get of an absent key: %v", when, err)
				}
				keys, err := f.List("")
				if err != nil || !slices.Equal(keys, slices.Sorted(maps.Keys(want))) {
					t.Fatalf("%s: List = %q, %v", when, keys, err)
				}
			}
			readAll("before migration", f, old)
			if after := snapshot(t, dir); !maps.EqualFunc(before, after, bytes.Equal) {
				t.Fatal("reading the old vault wrote something")
			}

			w := openFile(t, dir, tt.wrong)
			if _, err := w.Get("github/1"); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Get with the wrong key: %v", err)
			}
			if err := w.Set("new/1", []byte("x")); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Set with the wrong key: %v", err)
			}
			after := snapshot(t, dir)
			delete(after, FileName+".lock") // the writer's lock, empty
			if !maps.EqualFunc(before, after, bytes.Equal) {
				t.Fatal("a write with the wrong key migrated or changed the vault")
			}

			if err := f.Set("new/1", []byte("fresh")); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(legacy); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the single-file vault is still there after migrating: %v", err)
			}
			want := maps.Clone(old)
			want["new/1"] = []byte("fresh")
			readAll("after migration", openFile(t, dir, tt.key), want)
			for k := range want {
				if _, err := os.Stat(f.recordPath(k)); err != nil {
					t.Fatalf("no record for %s: %v", k, err)
				}
			}
		})
	}
}

// TestFileMigrationCrash: a writer that died after writing some records but
// before the index leaves the old file in charge; the next write migrates
// again and nothing is lost.
func TestFileMigrationCrash(t *testing.T) {
	dir := t.TempDir()
	key := rawKey(t, 3)
	old := map[string][]byte{"a/1": []byte("one"), "a/2": []byte("two")}
	data := legacyFile(t, key, old)
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	f := openFile(t, dir, key)
	if err := f.Set("a/3", []byte("three")); err != nil {
		t.Fatal(err)
	}
	// Put the pre-migration state back, minus the index, with a stray
	// temp file and one stale record, as a crash mid-migration leaves it.
	if err := os.Remove(f.indexPath()); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f.recordPath("a/3")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(f.recDir, ".index.123.tmp")
	if err := os.WriteFile(stray, []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	if keys, err := f.List(""); err != nil || !slices.Equal(keys, []string{"a/1", "a/2"}) {
		t.Fatalf("List after the crash = %q, %v", keys, err)
	}
	if err := f.Set("a/4", []byte("four")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stray); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the torn temp file was not cleaned up: %v", err)
	}
	for k, v := range map[string]string{"a/1": "one", "a/2": "two", "a/4": "four"} {
		if got, err := f.Get(k); err != nil || string(got) != v {
			t.Fatalf("Get(%s) = %q, %v", k, got, err)
		}
	}
	if keys, err := f.List(""); err != nil || !slices.Equal(keys, []string{"a/1", "a/2", "a/4"}) {
		t.Fatalf("List = %q, %v", keys, err)
	}
}
