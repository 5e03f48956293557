package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/authcli/authcli/internal/atomicfile"
)

// testArgon2 keeps passphrase tests fast; TestFileDefaultArgon2Params covers
// the real parameters.
var testArgon2 = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

func rawKey(t testing.TB, b byte) Key {
	t.Helper()
	k, err := KeyFromBytes(bytes.Repeat([]byte{b}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func passKey(t testing.TB, p string) Key {
	t.Helper()
	k, err := KeyFromPassphrase(p)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func openFile(t testing.TB, dir string, key Key) *File {
	t.Helper()
	f, err := OpenFile(dir, key, WithArgon2Params(testArgon2))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFileRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  func(t testing.TB) Key
	}{
		{"raw key", func(t testing.TB) Key { return rawKey(t, 1) }},
		{"passphrase", func(t testing.TB) Key { return passKey(t, "correct horse battery staple") }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			values := map[string][]byte{
				"github/1":  []byte("token one"),
				"github/2":  {},
				"google/10": randomBytes(t, 100<<10),
				"apple/x.y": randomBytes(t, 3000),
			}
			f := openFile(t, dir, tt.key(t))
			for k, v := range values {
				if err := f.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			// A second File (as another process would) reads the same values.
			g := openFile(t, dir, tt.key(t))
			for k, v := range values {
				got, err := g.Get(k)
				if err != nil || !bytes.Equal(got, v) {
					t.Fatalf("Get(%s) = %d bytes, %v; want %d bytes", k, len(got), err, len(v))
				}
			}
			if keys, err := g.List("github/"); err != nil || !slices.Equal(keys, []string{"github/1", "github/2"}) {
				t.Fatalf("List = %q, %v", keys, err)
			}
			if err := g.Set("github/1", []byte("rotated")); err != nil {
				t.Fatal(err)
			}
			if got, err := f.Get("github/1"); err != nil || string(got) != "rotated" {
				t.Fatalf("after overwrite Get = %q, %v", got, err)
			}
			if err := f.Delete("github/1"); err != nil {
				t.Fatal(err)
			}
			if err := f.Delete("github/1"); err != nil {
				t.Fatalf("deleting an absent key: %v", err)
			}
			if _, err := g.Get("github/1"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
			}
			if keys, err := g.List(""); err != nil || !slices.Equal(keys, []string{"apple/x.y", "github/2", "google/10"}) {
				t.Fatalf("List = %q, %v", keys, err)
			}
		})
	}
}

func TestFileMissingIsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	f := openFile(t, dir, rawKey(t, 1))
	if _, err := f.Get("a/b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get: %v, want ErrNotFound", err)
	}
	if keys, err := f.List(""); err != nil || len(keys) != 0 {
		t.Fatalf("List = %q, %v", keys, err)
	}
	if err := f.Delete("a/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f.Path()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Delete on an empty vault wrote a file: %v", err)
	}
	if _, err := OpenFile(dir, Key{}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("OpenFile without a key: %v, want ErrNoKey", err)
	}
}

func TestFileWrongKey(t *testing.T) {
	tests := []struct {
		name        string
		create, use func(t testing.TB) Key
		mention     string
	}{
		{"other raw key", func(t testing.TB) Key { return rawKey(t, 1) }, func(t testing.TB) Key { return rawKey(t, 2) }, ""},
		{"other passphrase", func(t testing.TB) Key { return passKey(t, "right") }, func(t testing.TB) Key { return passKey(t, "wrong") }, ""},
		{"raw key on passphrase vault", func(t testing.TB) Key { return passKey(t, "right") }, func(t testing.TB) Key { return rawKey(t, 1) }, EnvVaultPassphrase},
		{"passphrase on raw-key vault", func(t testing.TB) Key { return rawKey(t, 1) }, func(t testing.TB) Key { return passKey(t, "p") }, EnvVaultKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := openFile(t, dir, tt.create(t)).Set("a/b", []byte("secret")); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			f := openFile(t, dir, tt.use(t))
			got, err := f.Get("a/b")
			if !errors.Is(err, ErrDecrypt) || got != nil {
				t.Fatalf("Get = %q, %v; want nil, ErrDecrypt", got, err)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %q does not mention %s", err, tt.mention)
			}
			if _, err := f.List(""); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("List: %v, want ErrDecrypt", err)
			}
			// A key without a record still proves the key wrong (through
			// the index) rather than reading as absent.
			if _, err := f.Get("x/absent"); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Get of an absent key: %v, want ErrDecrypt", err)
			}
			if err := f.Set("c/d", []byte("x")); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Set: %v, want ErrDecrypt", err)
			}
			// Replacing a value reads only its record, which must prove
			// the key just as the index does.
			if err := f.Set("a/b", []byte("x")); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Set of a key with a record: %v, want ErrDecrypt", err)
			}
			if err := f.Delete("a/b"); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Delete: %v, want ErrDecrypt", err)
			}
			if after := snapshot(t, dir); !maps.EqualFunc(before, after, bytes.Equal) {
				t.Fatalf("a write with the wrong key changed the vault files")
			}
		})
	}
}

// TestFileTampered flips every byte of a record and of the index, header
// and ciphertext alike, and truncates and extends them: each must be
// ErrDecrypt and no value (for the index: no list, and no write). In a
// record's empty second slot a flip may instead leave the value readable,
// never another one.
func TestFileTampered(t *testing.T) {
	for _, tt := range []struct {
		name string
		key  Key
	}{
		{"raw key", rawKey(t, 1)},
		{"passphrase", passKey(t, "pw")},
	} {
		for _, target := range []string{"record", "index"} {
			t.Run(tt.name+"/"+target, func(t *testing.T) {
				dir := t.TempDir()
				f := openFile(t, dir, tt.key)
				if err := f.Set("a/b", []byte("secret value")); err != nil {
					t.Fatal(err)
				}
				path := f.recordPath("a/b")
				if target == "index" {
					path = f.indexPath()
				}
				good, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				check := func(what string, data []byte, otherSlot bool) {
					t.Helper()
					if err := os.WriteFile(path, data, 0o600); err != nil {
						t.Fatal(err)
					}
					g := openFile(t, dir, tt.key)
					if target == "record" {
						got, err := g.Get("a/b")
						if otherSlot && err == nil && string(got) == "secret value" {
							return
						}
						if !errors.Is(err, ErrDecrypt) || got != nil {
							t.Fatalf("%s: Get = %q, %v; want nil, ErrDecrypt", what, got, err)
						}
						return
					}
					if keys, err := g.List(""); !errors.Is(err, ErrDecrypt) {
						t.Fatalf("%s: List = %q, %v; want ErrDecrypt", what, keys, err)
					}
					if err := g.Set("c/d", []byte("x")); !errors.Is(err, ErrDecrypt) {
						t.Fatalf("%s: Set: %v; want ErrDecrypt", what, err)
					}
				}
				// The second slot of a new record starts half-way after the
				// file header.
				second := slotFileHeader + (len(good)-slotFileHeader)/2
				for i := range good {
					for _, bit := range []byte{0x01, 0x80} {
						bad := bytes.Clone(good)
						bad[i] ^= bit
						check(fmt.Sprintf("byte %d ^ %#x", i, bit), bad, target == "record" && i >= second)
					}
				}
				for _, n := range []int{0, 1, 8, 10, len(good) / 2, len(good) - 1} {
					if n == 0 && target == "record" {
						// An empty record is one written unflushed whose
						// data a crash of the machine lost: no value
						// (TestFileEmptyRecordIsNoValue).
						continue
					}
					check(fmt.Sprintf("truncated to %d", n), good[:n], false)
				}
				check("extended", append(bytes.Clone(good), 0), false)
			})
		}
	}
}

// TestFileRecordsAreBoundToTheirKey moves records between keys, and swaps
// the index and a record: none may decrypt as something it is not.
func TestFileRecordsAreBoundToTheirKey(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	for k, v := range map[string]string{"github/alice": "alice's token", "github/mallory": "mallory's token"} {
		if err := f.Set(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	mallory, err := os.ReadFile(f.recordPath("github/mallory"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.recordPath("github/alice"), mallory, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("github/alice"); !errors.Is(err, ErrDecrypt) || got != nil {
		t.Fatalf("Get of a record copied from another key = %q, %v; want ErrDecrypt", got, err)
	}
	if got, err := f.Get("github/mallory"); err != nil || string(got) != "mallory's token" {
		t.Fatalf("the untouched record: %q, %v", got, err)
	}
	index, err := os.ReadFile(f.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.openRecord("github/mallory", index); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("the index opened as a record: %v", err)
	}
	if _, err := f.openIndex(mallory); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("a record opened as the index: %v", err)
	}
}

// TestFileGetReadsOnlyItsRecord: a cached read decrypts the asked-for
// record and nothing else, so damage elsewhere (another record, the index)
// does not reach it, and its cost does not grow with the vault.
func TestFileGetReadsOnlyItsRecord(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	for i := range 5 {
		if err := f.Set(fmt.Sprintf("p/%d", i), []byte(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{f.indexPath(), f.recordPath("p/1"), f.recordPath("p/3")} {
		if err := os.WriteFile(p, []byte("garbage"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := f.Get("p/2"); err != nil || string(got) != "v2" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestFileHeaderParamsAreBounded(t *testing.T) {
	hdr := fileHeader{version: dirVersion, kdf: kdfArgon2id, params: Argon2Params{Time: 1, MemoryKiB: 1 << 30, Threads: 1}, salt: make([]byte, 16), nonce: make([]byte, 24)}
	data := append(hdr.encode(), make([]byte, 16)...)
	if _, _, err := parseHeader(data); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("1 TiB of Argon2 memory accepted: %v", err)
	}
	if _, err := OpenFile(t.TempDir(), passKey(t, "p"), WithArgon2Params(Argon2Params{Time: 0, MemoryKiB: 64, Threads: 1})); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("zero-pass Argon2 accepted: %v", err)
	}
}

func TestFileDefaultArgon2Params(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenFile(dir, passKey(t, "pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("a/b", []byte("v")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(f.indexPath())
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := parseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.kdf != kdfArgon2id || h.params != DefaultArgon2Params() || len(h.salt) != saltSize {
		t.Fatalf("header kdf=%d params=%+v salt=%d bytes", h.kdf, h.params, len(h.salt))
	}
	// Another vault gets another salt.
	dir2 := t.TempDir()
	f2, _ := OpenFile(dir2, passKey(t, "pw"), WithArgon2Params(testArgon2))
	if err := f2.Set("a/b", []byte("v")); err != nil {
		t.Fatal(err)
	}
	data2, _ := os.ReadFile(f2.indexPath())
	h2, _, err := parseHeader(data2)
	if err != nil || bytes.Equal(h.salt, h2.salt) {
		t.Fatalf("two vaults share a salt (%v)", err)
	}
	if got, err := f.Get("a/b"); err != nil || string(got) != "v" {
		t.Fatalf("Get = %q, %v", got, err)
	}
}

func TestFilePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	base := t.TempDir()
	dir := filepath.Join(base, "state", "authcli")
	f := openFile(t, dir, rawKey(t, 1))
	if err := f.Set("a/b", []byte("v")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{
		filepath.Join(base, "state"):         0o700,
		dir:                                  0o700,
		filepath.Join(dir, DirName):          0o700,
		f.indexPath():                        0o600,
		f.recordPath("a/b"):                  0o600,
		filepath.Join(dir, FileName+".lock"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", path, got, want)
		}
	}

	// A vault file other users can read is refused, with the fix.
	vaultFile := f.recordPath("a/b")
	if err := os.Chmod(vaultFile, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := f.Get("a/b")
	if !errors.Is(err, ErrPermissions) || !strings.Contains(err.Error(), "chmod 600 "+vaultFile) {
		t.Fatalf("Get of a 0644 vault: %v", err)
	}
	if err := os.Chmod(vaultFile, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.indexPath(), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("a/c", []byte("v")); !errors.Is(err, ErrPermissions) {
		t.Fatalf("Set with a 0640 index: %v", err)
	}
	if err := os.Chmod(f.indexPath(), 0o600); err != nil {
		t.Fatal(err)
	}

	// So is a directory other users can write to; one they can only list
	// is accepted.
	for _, tt := range []struct {
		mode fs.FileMode
		ok   bool
	}{{0o777, false}, {0o770, false}, {0o702, false}, {0o755, true}, {0o750, true}, {0o700, true}} {
		if err := os.Chmod(dir, tt.mode); err != nil {
			t.Fatal(err)
		}
		g, err := OpenFile(dir, rawKey(t, 1))
		if !tt.ok {
			if !errors.Is(err, ErrPermissions) || !strings.Contains(err.Error(), "chmod 700 "+dir) {
				t.Fatalf("OpenFile on a %04o directory: %v", tt.mode, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("OpenFile on a %04o directory: %v", tt.mode, err)
		}
		if got, err := g.Get("a/b"); err != nil || string(got) != "v" {
			t.Fatalf("Get in a %04o directory: %q, %v", tt.mode, got, err)
		}
	}
}

// TestFileNoPlaintextOnDisk checks that neither the value nor its base64
// appears in any file, and that no temp file is left behind.
func TestFileNoPlaintextOnDisk(t *testing.T) {
	dir := t.TempDir()
	secret := []byte("rt-SUPER-SECRET-refresh-token-4f1c")
	for _, key := range []Key{rawKey(t, 1), passKey(t, "pw")} {
		sub := filepath.Join(dir, fmt.Sprint(len(key.passphrase)))
		f := openFile(t, sub, key)
		for i := 0; i < 3; i++ {
			if err := f.Set(fmt.Sprintf("p/%d", i), secret); err != nil {
				t.Fatal(err)
			}
		}
		files := snapshot(t, sub)
		var names []string
		for name, data := range files {
			names = append(names, name)
			for _, needle := range [][]byte{secret, []byte(base64.StdEncoding.EncodeToString(secret)), []byte("SUPER-SECRET")} {
				if bytes.Contains(data, needle) {
					t.Fatalf("%s contains the secret in plaintext", name)
				}
			}
		}
		slices.Sort(names)
		// The first Set writes the index, the next two add to it.
		want := []string{filepath.Join(DirName, IndexName), filepath.Join(DirName, AdditionsName), FileName + ".lock"}
		for i := range 3 {
			rel, _ := filepath.Rel(sub, f.recordPath(fmt.Sprintf("p/%d", i)))
			want = append(want, rel)
		}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Fatalf("directory holds %q, want %q", names, want)
		}
	}
}

// TestFileWritersAcrossProcesses runs several processes writing different
// keys at once: every write must survive (the lock holds and each writer
// re-reads under it).
func TestFileWritersAcrossProcesses(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  string
		key  Key
	}{
		{"raw key", EnvVaultKey + "=" + base64.StdEncoding.EncodeToString(testRawKey), mustKey(KeyFromBytes(testRawKey))},
		{"passphrase", EnvVaultPassphrase + "=shared secret", mustKey(KeyFromPassphrase("shared secret"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			const procs, each = 4, 10
			runChildren(t, procs, "file-writer", childDirEnv+"="+dir, childNEnv+"="+fmt.Sprint(each), tt.env)
			f := openFile(t, dir, tt.key)
			keys, err := f.List("")
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != procs*each {
				t.Fatalf("vault has %d keys, want %d (lost updates)", len(keys), procs*each)
			}
			for p := 0; p < procs; p++ {
				for i := 0; i < each; i++ {
					id := fmt.Sprint(p)
					if got, err := f.Get(workerKey(id, i)); err != nil || !bytes.Equal(got, workerValue(id, i)) {
						t.Fatalf("%s: %q, %v", workerKey(id, i), got, err)
					}
				}
			}
		})
	}
}

// TestFileReadByAnotherProcess writes here and reads through Open in another
// process, as `authcli login` and a later `authcli token` would.
func TestFileReadByAnotherProcess(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  string
		key  Key
	}{
		{"raw key", EnvVaultKey + "=" + base64.StdEncoding.EncodeToString(testRawKey), mustKey(KeyFromBytes(testRawKey))},
		{"passphrase", EnvVaultPassphrase + "=pass phrase", mustKey(KeyFromPassphrase("pass phrase"))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			value := randomBytes(t, 4000)
			if err := openFile(t, dir, tt.key).Set("github/42", value); err != nil {
				t.Fatal(err)
			}
			out, err := runChild1(t, "get", childDirEnv+"="+dir, childKeyEnv+"=github/42", EnvVault+"=file", tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if out != base64.StdEncoding.EncodeToString(value) {
				t.Fatalf("other process read %d chars, want the value", len(out))
			}
		})
	}
}

// snapshot returns every regular file under dir by relative path.
func snapshot(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = data
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func mustKey(k Key, err error) Key {
	if err != nil {
		panic(err)
	}
	return k
}

func TestDecodeRecordsRejects(t *testing.T) {
	entry := func(b []byte, k, v string) []byte {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		return append(b, v...)
	}
	valid := entry(entry([]byte{2}, "a/1", "x"), "a/2", "y")
	if m, err := decodeRecords(valid); err != nil || len(m) != 2 {
		t.Fatalf("valid records: %v, %v", m, err)
	}
	tests := map[string][]byte{
		"empty input":       {},
		"trailing byte":     append(bytes.Clone(valid), 0),
		"count too high":    append([]byte{3}, valid[1:]...),
		"unsorted":          entry(entry([]byte{2}, "a/2", "x"), "a/1", "y"),
		"duplicate":         entry(entry([]byte{2}, "a/1", "x"), "a/1", "y"),
		"non-minimal count": append([]byte{0x82, 0x00}, valid[1:]...),
		"bad name":          entry([]byte{1}, "a#1", "x"),
		"value overflows":   append(entry([]byte{1}, "a/1", ""), 5),
	}
	for name, data := range tests {
		if _, err := decodeRecords(data); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		}
	}
}

// TestStaleTempFilesAreRemoved: a writer killed between creating its temp
// file and the rename leaves the file behind (random names: an older
// authcli's); the next Delete removes them.
func TestStaleTempFilesAreRemoved(t *testing.T) {
	dir := t.TempDir()
	key, _ := KeyFromBytes(make([]byte, 32))
	f, err := OpenFile(dir, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Set("p/a", []byte("v")); err != nil {
		t.Fatal(err)
	}
	stale := []string{filepath.Join(dir, ".vault-123.tmp"), filepath.Join(dir, DirName, ".rec-456.tmp")}
	for _, p := range stale {
		if err := os.WriteFile(p, []byte("half a secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Set("p/b", []byte("w")); err != nil {
		t.Fatal(err)
	}
	if err := f.Delete("p/b"); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the next Delete", p)
		}
	}
}

// TestReplaceWritesInPlace: replacing a value (a refresh) writes over the
// record's older slot: the same file, no temp file, no rename. A value that
// outgrows the slots gets a new record file, through a temp file of a fixed
// name that a writer which died left behind is reused, not piled up; and
// a symlink in its place is not followed.
func TestReplaceWritesInPlace(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	if err := f.Set("p/a", []byte("old")); err != nil {
		t.Fatal(err)
	}
	rec := f.recordPath("p/a")
	before, err := os.Stat(rec)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"new", "newer", "newest"} {
		if err := f.Set("p/a", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Get("p/a"); err != nil || string(got) != v {
			t.Fatalf("Get = %q, %v; want %q", got, err, v)
		}
	}
	after, err := os.Stat(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || after.Size() != before.Size() {
		t.Errorf("a replace wrote a new file (size %d -> %d)", before.Size(), after.Size())
	}
	if entries, _ := os.ReadDir(f.recDir); len(entries) != 2 { // the index and the record
		t.Errorf("the vault directory holds %d files after replaces, want 2", len(entries))
	}

	tmp := filepath.Join(filepath.Dir(rec), "."+filepath.Base(rec)+".tmp")
	if err := os.WriteFile(tmp, []byte("half a secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("b"), 3*minSlotSize)
	if err := f.Set("p/a", big); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("p/a"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Get of the value that outgrew its slots: %d bytes, %v", len(got), err)
	}
	if _, err := os.Lstat(tmp); !os.IsNotExist(err) {
		t.Errorf("the leftover temp file is still there: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, tmp); err != nil {
		t.Fatal(err)
	}
	bigger := bytes.Repeat([]byte("c"), 10*minSlotSize) // past the slots big made
	if err := f.Set("p/a", bigger); err == nil {
		t.Error("Set wrote through a symlink at its temp file's name")
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the symlink's target was created: %v", err)
	}
	if got, err := f.Get("p/a"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("after the refused write Get = %d bytes, %v; want the value before", len(got), err)
	}
}

// TestRecordSlots: the two slots take turns, the newer one is read, a
// write a crash tore leaves the value before it, a slot renumbered to win
// does not open, and a record of the earlier one-value format is read and
// turned into slots by its first replace.
func TestRecordSlots(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	rec := f.recordPath("p/a")
	slotsOf := func() slotFile {
		t.Helper()
		data, err := os.ReadFile(rec)
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.openSlots("p/a", data)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, v := range []string{"v1", "v2", "v3"} {
		if err := f.Set("p/a", []byte(v)); err != nil {
			t.Fatal(err)
		}
		if s := slotsOf(); s.newest != i%2 || s.seq != uint64(i+1) || string(s.value) != v {
			t.Fatalf("after %s: slot %d number %d holding %q", v, s.newest, s.seq, s.value)
		}
	}
	// v3 is in slot 0, v2 in slot 1. A torn write of v4 over slot 1:
	data, err := os.ReadFile(rec)
	if err != nil {
		t.Fatal(err)
	}
	size := slotsOf().size
	torn := bytes.Clone(data)
	for i := slotFileHeader + size; i < slotFileHeader+size+40; i++ {
		torn[i] ^= 0xff
	}
	if err := os.WriteFile(rec, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("p/a"); err != nil || string(got) != "v3" {
		t.Fatalf("after a torn write Get = %q, %v; want v3", got, err)
	}
	if err := f.Set("p/a", []byte("v4")); err != nil {
		t.Fatalf("Set after a torn write: %v", err)
	}
	if got, err := f.Get("p/a"); err != nil || string(got) != "v4" {
		t.Fatalf("Get = %q, %v; want v4", got, err)
	}
	// Slot 1 holds v4 (number 4), slot 0 v3 (number 3): give slot 0 a
	// higher number, as a rollback would.
	data, _ = os.ReadFile(rec)
	binary.BigEndian.PutUint64(data[slotFileHeader:], 9)
	if err := os.WriteFile(rec, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("p/a"); err != nil || string(got) != "v4" {
		t.Fatalf("with the old slot renumbered Get = %q, %v; want v4", got, err)
	}

	// A record as the previous version wrote it: one sealed value.
	ix, err := f.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	old, err := seal(ix, recordAD, []byte("from before"), "p/a")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rec, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := f.Get("p/a"); err != nil || string(got) != "from before" {
		t.Fatalf("Get of an earlier record = %q, %v", got, err)
	}
	if err := f.Set("p/a", []byte("slotted")); err != nil {
		t.Fatal(err)
	}
	if s := slotsOf(); string(s.value) != "slotted" || s.seq != 1 {
		t.Fatalf("the first replace of an earlier record: %+v", s)
	}
}

// TestFileForget: after Forget the File cannot read its vault any more:
// the key is gone from it, not just hidden.
func TestFileForget(t *testing.T) {
	for name, key := range map[string]Key{"raw": rawKey(t, 7), "passphrase": passKey(t, "correct horse")} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			f, err := OpenFile(dir, key, WithArgon2Params(testArgon2))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Set("a/b", []byte("secret")); err != nil {
				t.Fatal(err)
			}
			raw := f.key.raw
			f.Forget()
			if _, err := f.Get("a/b"); !errors.Is(err, ErrNoKey) {
				t.Errorf("Get after Forget: %v, want ErrNoKey", err)
			}
			if err := f.Set("a/c", []byte("x")); !errors.Is(err, ErrNoKey) {
				t.Errorf("Set after Forget: %v, want ErrNoKey", err)
			}
			if raw != nil && *raw != ([KeySize]byte{}) {
				t.Error("the raw key bytes were not overwritten")
			}
			if f.derived != nil {
				t.Error("the stretched passphrase is still held")
			}
		})
	}
}

// TestFileSyncLater: after SyncLater a replace is written when Set
// returns (another reader sees it at once) and waits only for its
// fdatasync, which Sync does; a new key still syncs as it goes.
func TestFileSyncLater(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	if err := f.Set("p/a", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	f.SyncLater()
	if err := f.Set("p/a", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("p/new", []byte("n1")); err != nil {
		t.Fatal(err)
	}
	if n := len(f.pending); n != 1 {
		t.Fatalf("%d writes wait for Sync, want the replace alone", n)
	}
	other := openFile(t, dir, rawKey(t, 1))
	for k, want := range map[string]string{"p/a": "v2", "p/new": "n1"} {
		if got, err := other.Get(k); err != nil || string(got) != want {
			t.Fatalf("before Sync, Get(%s) = %q, %v; want %q", k, got, err, want)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if len(f.pending) != 0 {
		t.Fatal("Sync left writes pending")
	}
	if err := f.Set("p/a", []byte("v3")); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Get("p/a"); err != nil || string(got) != "v3" {
		t.Fatalf("after Sync, Get = %q, %v", got, err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestFileSetUnflushed: a sign-in's write (SetUnflushed) is the same write,
// in the same order, with no flush; a flushed replace after it makes the
// record durable, its name in the directory included, since the record
// may have been created unflushed; a detached refresh's Sync does the same.
func TestFileSetUnflushed(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	if err := f.Set("p/first", []byte("the index")); err != nil {
		t.Fatal(err)
	}
	wantDir := int64(1)
	if runtime.GOOS == "windows" {
		wantDir = 0
	}
	// Each write in turn: key, value, whether flushed, the flushes wanted.
	for _, w := range []struct {
		key, value string
		flush      bool
		want       int64
	}{
		{"p/new", "signed in", false, 0},          // a new key: frame and record
		{"p/new", "signed in again", false, 0},    // in place
		{"p/new", "refreshed", true, 1 + wantDir}, // in place: slot and directory
		{"p/other", "x", true, 1 + 1 + wantDir},   // frame, record, directory
	} {
		set := f.Set
		if !w.flush {
			set = f.SetUnflushed
		}
		before := atomicfile.Flushes()
		if err := set(w.key, []byte(w.value)); err != nil {
			t.Fatalf("%s = %q: %v", w.key, w.value, err)
		}
		if got := atomicfile.Flushes() - before; got != w.want {
			t.Errorf("%s = %q (flushed %t): %d flushes, want %d", w.key, w.value, w.flush, got, w.want)
		}
	}
	g := openFile(t, dir, rawKey(t, 1))
	if v, err := g.Get("p/new"); err != nil || string(v) != "refreshed" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	if got := listOf(t, g); !slices.Equal(got, []string{"p/first", "p/new", "p/other"}) {
		t.Fatalf("List = %q", got)
	}

	// A detached refresh: written, reported, then flushed by Sync.
	g.SyncLater()
	before := atomicfile.Flushes()
	if err := g.Set("p/new", []byte("refreshed again")); err != nil {
		t.Fatal(err)
	}
	if got := atomicfile.Flushes() - before; got != 0 {
		t.Errorf("a replace after SyncLater flushed %d times before Sync", got)
	}
	if err := g.Sync(); err != nil {
		t.Fatal(err)
	}
	if got := atomicfile.Flushes() - before; got != 1+wantDir {
		t.Errorf("Sync: %d flushes, want %d", got, 1+wantDir)
	}
}

// TestFileEmptyRecordIsNoValue: a record a crash of the machine left
// empty (written unflushed, its data never on disk) reads as no value,
// not as a damaged vault, and the next write replaces it.
func TestFileEmptyRecordIsNoValue(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	for _, k := range []string{"p/0", "p/1"} {
		if err := f.SetUnflushed(k, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(f.recordPath("p/1"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Get("p/1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an empty record = %q, %v; want ErrNotFound", v, err)
	}
	if err := f.Set("p/1", []byte("again")); err != nil {
		t.Fatal(err)
	}
	if v, err := openFile(t, dir, rawKey(t, 1)).Get("p/1"); err != nil || string(v) != "again" {
		t.Fatalf("Get after a new write = %q, %v", v, err)
	}
}

// TestFilePrepareNew: a new key's record takes the file PrepareNew made
// ahead, flushed as the usual way flushes; a key whose record file is
// there already (here one a crash left empty) is written the usual way,
// the spare left unused by it. Either way the value reads back in
// another process's File, and nothing is left behind.
func TestFilePrepareNew(t *testing.T) {
	wantDir := int64(1)
	if runtime.GOOS == "windows" {
		wantDir = 0
	}
	for _, tt := range []struct {
		name        string
		flush       bool
		emptyRecord bool
		want        int64 // flushes
	}{
		{"unflushed", false, false, 0},
		// The frame starts the additions file: it and its directory,
		// then the record and the directory again.
		{"flushed", true, false, 1 + wantDir + 1 + wantDir},
		{"record there", false, true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := openFile(t, dir, rawKey(t, 1))
			if err := f.Set("p/first", []byte("the index")); err != nil {
				t.Fatal(err)
			}
			if tt.emptyRecord {
				if err := os.WriteFile(f.recordPath("p/new"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f.PrepareNew()
			if f.spare == nil && runtime.GOOS == "linux" {
				t.Fatal("PrepareNew made no spare file")
			}
			set := f.SetUnflushed
			if tt.flush {
				set = f.Set
			}
			before := atomicfile.Flushes()
			if err := set("p/new", []byte("signed in")); err != nil {
				t.Fatal(err)
			}
			if got := atomicfile.Flushes() - before; got != tt.want {
				t.Errorf("%d flushes, want %d", got, tt.want)
			}
			if f.spare != nil {
				t.Error("the spare file is still waiting after a new record was written")
			}
			g := openFile(t, dir, rawKey(t, 1))
			if v, err := g.Get("p/new"); err != nil || string(v) != "signed in" {
				t.Fatalf("Get = %q, %v", v, err)
			}
			if got := listOf(t, g); !slices.Equal(got, []string{"p/first", "p/new"}) {
				t.Fatalf("List = %q", got)
			}
			if fi, err := os.Stat(f.recordPath("p/new")); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Fatalf("record: %v, %v", fi, err)
			}
			if left, _ := filepath.Glob(filepath.Join(f.recDir, "*.tmp")); len(left) != 0 {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
}

// PrepareNew before there is a vault directory makes none: it writes
// nothing.
func TestFilePrepareNewNoVault(t *testing.T) {
	dir := t.TempDir()
	f := openFile(t, dir, rawKey(t, 1))
	f.PrepareNew()
	if f.spare != nil {
		t.Error("a spare file without a vault directory")
	}
	if _, err := os.Lstat(f.recDir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("PrepareNew made the vault directory: %v", err)
	}
}
