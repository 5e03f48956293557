package vault

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/zalando/go-keyring"
)

// benchBundle is the size of a typical token bundle (access, refresh and ID
// token with their metadata).
const benchBundle = 5 << 10

func benchFile(b *testing.B, key Key) (*File, string) {
	b.Helper()
	dir := b.TempDir()
	f := openFile(b, dir, key)
	for i := 0; i < 8; i++ { // a few identities in the vault
		if err := f.Set(fmt.Sprintf("prov/subject-%d", i), bytes.Repeat([]byte{byte(i)}, benchBundle)); err != nil {
			b.Fatal(err)
		}
	}
	return f, dir
}

// BenchmarkFileGetIdentities is the cached `authcli token` read with 1 and
// 1,000 identities in the vault: it must not grow with their number.
func BenchmarkFileGetIdentities(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			f := openFile(b, b.TempDir(), rawKey(b, 1))
			value := bytes.Repeat([]byte{'t'}, 1500) // a token record's size
			for i := range n {
				if err := f.Set(fmt.Sprintf("prov/subject-%d", i), value); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Get("prov/subject-0"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkFileGet(b *testing.B) {
	f, _ := benchFile(b, rawKey(b, 1))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Get("prov/subject-3"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileGetPassphraseFresh is a passphrase Get in a fresh process:
// the vault's own parameters (here the defaults) are stretched every time.
func BenchmarkFileGetPassphraseFresh(b *testing.B) {
	dir := b.TempDir()
	f, err := OpenFile(dir, passKey(b, "pw"))
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Set("prov/s", make([]byte, benchBundle)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g, err := OpenFile(dir, passKey(b, "pw"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := g.Get("prov/s"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFileSet replaces one identity's tokens, as every refresh and
// every sign-in of a known identity does, with 1 and 1,000 identities in
// the vault: it must not grow with their number.
func BenchmarkFileSet(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			f := openFile(b, b.TempDir(), rawKey(b, 1))
			value := bytes.Repeat([]byte{'v'}, 1500) // a token record's size
			for i := range n {
				if err := f.Set(fmt.Sprintf("prov/subject-%d", i), value); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := f.Set("prov/subject-0", value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFileSetNew adds a key, as a first sign-in does, with 1 and
// 1,000 keys in the vault: one frame appended to the index's additions,
// and the key's record file.
func BenchmarkFileSetNew(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("identities=%d", n), func(b *testing.B) {
			f := openFile(b, b.TempDir(), rawKey(b, 1))
			value := bytes.Repeat([]byte{'v'}, 1500)
			for i := range n {
				if err := f.Set(fmt.Sprintf("prov/subject-%d", i), value); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := n
			for b.Loop() {
				i++
				if err := f.Set(fmt.Sprintf("prov/subject-%d", i), value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKeyringGet measures the Keyring's own work on top of a lookup in an
// in-memory backend; BenchmarkKeyringGetBare is the lookup alone. With a real
// keyring each lookup is several D-Bus round trips (see
// BenchmarkKeyringSecretService).
func BenchmarkKeyringGet(b *testing.B) {
	for _, tt := range []struct {
		name  string
		chunk int
	}{
		{"linux-one-item", DefaultChunkSize("linux")},
		{"windows-chunked", DefaultChunkSize("windows")},
	} {
		b.Run(tt.name, func(b *testing.B) {
			mem := newMemBackend()
			k := NewKeyring(Service, WithBackend(mem), WithChunkSize(tt.chunk))
			if err := k.Set("prov/s", make([]byte, benchBundle)); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := k.Get("prov/s"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKeyringGetBare(b *testing.B) {
	mem := newMemBackend()
	if err := NewKeyring(Service, WithBackend(mem)).Set("prov/s", make([]byte, benchBundle)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mem.Get(Service, "prov/s"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyringSet(b *testing.B) {
	mem := newMemBackend()
	k := NewKeyring(Service, WithBackend(mem), WithLockDir(b.TempDir()))
	value := make([]byte, benchBundle)
	b.ReportAllocs()
	for b.Loop() {
		if err := k.Set("prov/s", value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyringSecretService compares a bare go-keyring Get with
// Keyring.Get against the real Secret Service (run it inside
// scripts/with-secret-service.sh).
func BenchmarkKeyringSecretService(b *testing.B) {
	requireSecretService(b)
	k := NewKeyring(Service, WithLockDir(b.TempDir()))
	const key = "authcli-bench/s"
	if err := k.Set(key, make([]byte, benchBundle)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = k.Delete(key) })
	b.Run("bare-go-keyring", func(b *testing.B) {
		for b.Loop() {
			if _, err := keyring.Get(Service, key); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vault", func(b *testing.B) {
		for b.Loop() {
			if _, err := k.Get(key); err != nil {
				b.Fatal(err)
			}
		}
	})
}
