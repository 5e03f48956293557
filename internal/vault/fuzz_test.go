package vault

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"testing"
)

// FuzzDecodeVaultFile feeds arbitrary bytes to the vault file decoders: the
// header parser, the record decoder, and the whole decryption path. None may
// panic; accepted input must re-encode to itself; failures must be the
// package's sentinels.
func FuzzDecodeVaultFile(f *testing.F) {
	dir := f.TempDir()
	raw := openFile(f, dir, rawKey(f, 7))
	// Twice: the record's seed has both slots filled.
	for range 2 {
		if err := raw.Set("github/1", []byte("token")); err != nil {
			f.Fatal(err)
		}
	}
	if err := raw.Set("google/2", bytes.Repeat([]byte("x"), 300)); err != nil {
		f.Fatal(err)
	}
	for _, p := range []string{raw.indexPath(), raw.recordPath("github/1")} {
		seed, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed)
	}
	f.Add(legacyFile(f, rawKey(f, 7), map[string][]byte{"github/1": []byte("token")}))
	pdir := f.TempDir()
	pf := openFile(f, pdir, passKey(f, "pw"))
	if err := pf.Set("a/b", []byte("v")); err != nil {
		f.Fatal(err)
	}
	pseed, err := os.ReadFile(pf.recordPath("a/b"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pseed)
	f.Add(encodeRecords(map[string][]byte{"a/1": []byte("x"), "b/2": nil}))
	f.Add([]byte{})
	f.Add([]byte(fileMagic))

	f.Fuzz(func(t *testing.T, data []byte) {
		if h, off, err := parseHeader(data); err == nil {
			if off > len(data) || !bytes.Equal(h.encode(), data[:off]) {
				t.Fatalf("header does not re-encode to its %d bytes", off)
			}
		} else if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("parseHeader error %v is not ErrDecrypt", err)
		}
		recordsHold(data, "github/1") // any input: no panic
		if m, err := decodeRecords(data); err == nil {
			if !bytes.Equal(encodeRecords(m), data) {
				t.Fatal("records do not re-encode to the input")
			}
			for k := range m {
				if !recordsHold(data, k) {
					t.Fatalf("recordsHold misses %q", k)
				}
			}
			if _, ok := m["not/held"]; !ok && recordsHold(data, "not/held") {
				t.Fatal("recordsHold finds a key the records do not hold")
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeRecords error %v is not ErrCorrupt", err)
		}
		st, err := raw.decryptLegacy(data)
		if err == nil {
			defer clear(st.plain)
			for k := range st.entries {
				if CheckName(k) != nil {
					t.Fatalf("decrypted an invalid key %q", k)
				}
			}
		} else if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decrypt error %v is neither ErrDecrypt nor ErrCorrupt", err)
		}
		if ix, err := raw.openIndex(bytes.Clone(data)); err == nil {
			for k := range ix.names {
				if CheckName(k) != nil {
					t.Fatalf("index lists an invalid key %q", k)
				}
			}
		} else if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("openIndex error %v is neither ErrDecrypt nor ErrCorrupt", err)
		}
		if v, err := raw.openRecord("github/1", bytes.Clone(data)); err == nil {
			if string(v) != "token" {
				t.Fatalf("a record opened as github/1 holds %q", v)
			}
		} else if !errors.Is(err, ErrDecrypt) {
			t.Fatalf("openRecord error %v is not ErrDecrypt", err)
		}
	})
}

// FuzzDecodeKeyringItem feeds arbitrary strings to the keyring item and key
// list decoders, and to Keyring.Get as a stored first item and chunk.
func FuzzDecodeKeyringItem(f *testing.F) {
	f.Add("w0:dG9rZW4=")
	f.Add("w12:")
	f.Add("c1:3:500:" + "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
	f.Add("c0:1:1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("github/1\ngoogle/2")
	f.Add("w01:AA==")
	f.Fuzz(func(t *testing.T, s string) {
		it, err := decodeKeyringItem(s)
		if err == nil {
			again, err := decodeKeyringItem(it.encode())
			if err != nil {
				t.Fatalf("re-encoded item does not decode: %v", err)
			}
			if again.chunked != it.chunked || again.gen != it.gen || !bytes.Equal(again.value, it.value) ||
				again.chunks != it.chunks || again.size != it.size || again.sum != it.sum {
				t.Fatalf("item changed through a round trip: %+v vs %+v", it, again)
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeKeyringItem error %v is not ErrCorrupt", err)
		}
		if keys, err := decodeKeyList([]byte(s)); err == nil {
			if string(encodeKeyList(keys)) != s || !slices.IsSorted(keys) {
				t.Fatal("key list does not re-encode to the input")
			}
		} else if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeKeyList error %v is not ErrCorrupt", err)
		}

		mem := newMemBackend()
		mem.put("p/s", s)
		if err == nil && it.chunked {
			mem.put(chunkName("p/s", it.gen, 0), s)
		}
		k := NewKeyring(Service, WithBackend(mem), WithChunkSize(testChunk))
		v, err := k.Get("p/s")
		switch {
		case err == nil:
			if it2, err2 := decodeKeyringItem(s); err2 != nil || (!it2.chunked && !bytes.Equal(v, it2.value)) {
				t.Fatalf("Get returned a value for an item that does not decode as it")
			}
		case v != nil:
			t.Fatal("Get returned a value with an error")
		case !errors.Is(err, ErrCorrupt):
			t.Fatalf("Get error %v is not ErrCorrupt", err)
		}
	})
}

// FuzzOpenAdditions feeds arbitrary bytes to the additions file reader
// (additions.go) of a real vault: it must not panic, must stop within the
// data, and must add only names that pass CheckName.
func FuzzOpenAdditions(f *testing.F) {
	dir := f.TempDir()
	v := openFile(f, dir, rawKey(f, 7))
	for _, k := range []string{"github/1", "google/2", "okta/3"} {
		if err := v.Set(k, []byte("token")); err != nil {
			f.Fatal(err)
		}
	}
	seed, err := os.ReadFile(v.additionsPath())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)-3])
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := v.readIndex()
		if err != nil {
			t.Fatal(err)
		}
		ix.names = map[string]bool{}
		end := openAdditions(ix, data)
		if end < 0 || end > len(data) {
			t.Fatalf("valid prefix %d of %d bytes", end, len(data))
		}
		for k := range ix.names {
			if err := CheckName(k); err != nil {
				t.Fatalf("added name %q: %v", k, err)
			}
		}
		if bytes.Equal(data, seed) && (end != len(seed) || len(ix.names) != 2) {
			t.Fatalf("the seed: %d of %d bytes, %d names", end, len(seed), len(ix.names))
		}
	})
}
