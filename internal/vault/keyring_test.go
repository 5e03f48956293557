package vault

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zalando/go-keyring"

	"github.com/authcli/authcli/internal/atomicfile"
)

// memBackend is an in-memory keyring with an optional per-item size limit
// (like Windows' credential blob limit) and injectable failures.
type memBackend struct {
	mu      sync.Mutex
	items   map[string]string
	limit   int
	failSet func(user string) error
	failGet func(user string) error
	gets    int
}

func newMemBackend() *memBackend { return &memBackend{items: map[string]string{}} }

func (m *memBackend) Get(service, user string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gets++
	if m.failGet != nil {
		if err := m.failGet(user); err != nil {
			return "", err
		}
	}
	v, ok := m.items[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (m *memBackend) Set(service, user, pass string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failSet != nil {
		if err := m.failSet(user); err != nil {
			return err
		}
	}
	if m.limit > 0 && len(pass) > m.limit {
		return keyring.ErrSetDataTooBig
	}
	m.items[service+"\x00"+user] = pass
	return nil
}

func (m *memBackend) Delete(service, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := service + "\x00" + user
	if _, ok := m.items[k]; !ok {
		return keyring.ErrNotFound
	}
	delete(m.items, k)
	return nil
}

// users lists the stored account names, sorted.
func (m *memBackend) users() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for k := range m.items {
		out = append(out, k[strings.IndexByte(k, 0)+1:])
	}
	slices.Sort(out)
	return out
}

func (m *memBackend) raw(user string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.items[Service+"\x00"+user]
}

func (m *memBackend) put(user, v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[Service+"\x00"+user] = v
}

func (m *memBackend) del(user string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, Service+"\x00"+user)
}

// dirBackend keeps each item in its own file, so several processes share one
// fake keyring. Writes are atomic renames, like a real keyring's items.
type dirBackend struct{ dir string }

func (d dirBackend) file(service, user string) string {
	return filepath.Join(d.dir, hex.EncodeToString([]byte(service+"\x00"+user)))
}

func (d dirBackend) Get(service, user string) (string, error) {
	b, err := os.ReadFile(d.file(service, user))
	if errors.Is(err, os.ErrNotExist) {
		return "", keyring.ErrNotFound
	}
	return string(b), err
}

func (d dirBackend) Set(service, user, pass string) error {
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return err
	}
	return atomicfile.Write(d.file(service, user), "*.tmp", []byte(pass))
}

func (d dirBackend) Delete(service, user string) error {
	err := os.Remove(d.file(service, user))
	if errors.Is(err, os.ErrNotExist) {
		return keyring.ErrNotFound
	}
	return err
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

const testChunk = 256 // item strings; 192 value bytes per chunk

func TestKeyringRoundTripAroundChunkLimit(t *testing.T) {
	per := testChunk / 4 * 3
	whole := (testChunk - 3) / 4 * 3 // largest value that fits "w0:" + base64
	tests := []struct {
		size   int
		chunks int // 0 = stored whole
	}{
		{0, 0},
		{1, 0},
		{whole - 1, 0},
		{whole, 0},
		{whole + 1, 1},
		{per, 1},
		{per + 1, 2},
		{2 * per, 2},
		{2*per + 1, 3},
		{10*per - 1, 10},
		{64 << 10, (64<<10 + per - 1) / per},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.size), func(t *testing.T) {
			mem := newMemBackend()
			mem.limit = testChunk
			k := NewKeyring(Service, WithBackend(mem), WithChunkSize(testChunk))
			value := randomBytes(t, tt.size)
			if err := k.Set("prov/sub", value); err != nil {
				t.Fatal(err)
			}
			got, err := k.Get("prov/sub")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, value) {
				t.Fatalf("got %d bytes, want the %d stored", len(got), len(value))
			}
			want := []string{keyListName, "prov/sub"}
			for i := 0; i < tt.chunks; i++ {
				want = append(want, chunkName("prov/sub", 1, i))
			}
			slices.Sort(want)
			if users := mem.users(); !slices.Equal(users, want) {
				t.Fatalf("items %q, want %q", users, want)
			}
			if first := mem.raw("prov/sub"); (first[0] == 'c') != (tt.chunks > 0) {
				t.Fatalf("first item %.20q: chunked=%v, want %v", first, first[0] == 'c', tt.chunks > 0)
			}
		})
	}
}

func TestKeyringGetIsOneLookup(t *testing.T) {
	mem := newMemBackend()
	k := NewKeyring(Service, WithBackend(mem), WithChunkSize(DefaultChunkSize("linux")))
	bundle := randomBytes(t, 6<<10) // a large token bundle
	if err := k.Set("google/1", bundle); err != nil {
		t.Fatal(err)
	}
	before := mem.gets
	if _, err := k.Get("google/1"); err != nil {
		t.Fatal(err)
	}
	if n := mem.gets - before; n != 1 {
		t.Fatalf("Get made %d keyring lookups, want 1", n)
	}
}

func TestDefaultChunkSizeFitsPlatformLimits(t *testing.T) {
	// Windows: the credential blob is the item string, at most 2560 bytes.
	if n := DefaultChunkSize("windows"); n > 2560 {
		t.Errorf("windows chunk %d exceeds 2560", n)
	}
	// macOS: go-keyring's `security -i` command must stay within 4096 bytes
	// for the longest key name (plus chunk suffix) and service.
	n := DefaultChunkSize("darwin")
	account := strings.Repeat("a", MaxNameLen) + "#18446744073709551615.99999"
	secret := "go-keyring-base64:" + strings.Repeat("A", (n+2)/3*4)
	cmd := fmt.Sprintf("add-generic-password -U -s '%s' -a '%s' -w '%s'\n", Service, account, secret)
	if len(cmd) > 4096 {
		t.Errorf("darwin command for a %d-byte item is %d bytes, over 4096", n, len(cmd))
	}
}

func TestKeyringOverwriteAndDeleteLeaveNoOrphans(t *testing.T) {
	mem := newMemBackend()
	k := NewKeyring(Service, WithBackend(mem), WithChunkSize(testChunk))
	sizes := []int{5000, 9000, 1000, 10, 3000, 3000}
	for _, size := range sizes {
		value := randomBytes(t, size)
		if err := k.Set("p/s", value); err != nil {
			t.Fatal(err)
		}
		got, err := k.Get("p/s")
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("after setting %d bytes: got %d bytes, %v", size, len(got), err)
		}
		it, err := decodeKeyringItem(mem.raw("p/s"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(mem.users()) - 2; n != it.chunks {
			t.Fatalf("after setting %d bytes: %d chunk items, index names %d: %q", size, n, it.chunks, mem.users())
		}
	}
	if err := k.Delete("p/s"); err != nil {
		t.Fatal(err)
	}
	if users := mem.users(); len(users) != 0 {
		t.Fatalf("items left after Delete: %q", users)
	}
	if err := k.Delete("p/s"); err != nil {
		t.Fatalf("deleting an absent key: %v", err)
	}
	if _, err := k.Get("p/s"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func TestKeyringTornWrites(t *testing.T) {
	old := randomBytes(t, 1000)
	next := randomBytes(t, 2000)
	setup := func(t *testing.T) (*memBackend, *Keyring) {
		mem := newMemBackend()
		k := NewKeyring(Service, WithBackend(mem), WithChunkSize(testChunk))
		if err := k.Set("p/s", old); err != nil {
			t.Fatal(err)
		}
		return mem, k
	}

	t.Run("chunks without index", func(t *testing.T) {
		mem, k := setup(t)
		crash := errors.New("crash")
		mem.failSet = func(user string) error {
			if user == "p/s" {
				return crash
			}
			return nil
		}
		if err := k.Set("p/s", next); !errors.Is(err, crash) {
			t.Fatalf("Set with a failing index write: %v", err)
		}
		got, err := k.Get("p/s")
		if err != nil || !bytes.Equal(got, old) {
			t.Fatalf("after a torn write Get = %d bytes, %v; want the old value", len(got), err)
		}
		leftovers := len(mem.users())
		mem.failSet = nil
		small := []byte("small")
		if err := k.Set("p/s", small); err != nil {
			t.Fatal(err)
		}
		if users := mem.users(); !slices.Equal(users, []string{keyListName, "p/s"}) {
			t.Fatalf("torn chunks not cleaned up (had %d items): %q", leftovers, users)
		}
		if got, _ := k.Get("p/s"); !bytes.Equal(got, small) {
			t.Fatalf("Get = %q", got)
		}
	})

	t.Run("index without chunks", func(t *testing.T) {
		for _, missing := range []int{0, 2, 5} {
			mem, k := setup(t)
			mem.del(chunkName("p/s", 1, missing))
			got, err := k.Get("p/s")
			if !errors.Is(err, ErrCorrupt) || got != nil {
				t.Fatalf("chunk %d missing: Get = %d bytes, %v; want nil, ErrCorrupt", missing, len(got), err)
			}
			if err := k.Delete("p/s"); err != nil {
				t.Fatal(err)
			}
			if users := mem.users(); len(users) != 0 {
				t.Fatalf("Delete of a damaged value left %q", users)
			}
		}
	})

	t.Run("chunk replaced", func(t *testing.T) {
		mem, k := setup(t)
		c := chunkName("p/s", 1, 1)
		mem.put(c, mem.raw(chunkName("p/s", 1, 0)))
		if got, err := k.Get("p/s"); !errors.Is(err, ErrCorrupt) || got != nil {
			t.Fatalf("swapped chunk: Get = %d bytes, %v; want nil, ErrCorrupt", len(got), err)
		}
	})

	t.Run("damaged first item is overwritten", func(t *testing.T) {
		mem, k := setup(t)
		mem.put("p/s", "garbage")
		if _, err := k.Get("p/s"); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Get of garbage: %v", err)
		}
		if err := k.Set("p/s", next); err != nil {
			t.Fatal(err)
		}
		if got, err := k.Get("p/s"); err != nil || !bytes.Equal(got, next) {
			t.Fatalf("Get = %d bytes, %v", len(got), err)
		}
	})
}

func TestKeyringConcurrentReadersNeverMix(t *testing.T) {
	mem := newMemBackend()
	k := NewKeyring(Service, WithBackend(mem), WithChunkSize(testChunk))
	a := bytes.Repeat([]byte{'a'}, 3000)
	b := bytes.Repeat([]byte{'b'}, 2500)
	if err := k.Set("p/s", a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(stop)
		for i := 0; i < 200; i++ {
			v := a
			if i%2 == 0 {
				v = b
			}
			if err := k.Set("p/s", v); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var mu sync.Mutex
	whole := 0
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				got, err := k.Get("p/s")
				switch {
				case err == nil && (bytes.Equal(got, a) || bytes.Equal(got, b)):
					mu.Lock()
					whole++
					mu.Unlock()
				case err == nil:
					t.Errorf("reader got a mixed or partial value of %d bytes", len(got))
					return
				case !errors.Is(err, ErrCorrupt) || got != nil:
					t.Errorf("reader: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if whole == 0 {
		t.Fatal("no reader ever saw a whole value")
	}
}

func TestKeyringList(t *testing.T) {
	mem := newMemBackend()
	mem.limit = testChunk
	k := NewKeyring(Service, WithBackend(mem), WithChunkSize(testChunk), WithLockDir(t.TempDir()))
	if keys, err := k.List(""); err != nil || len(keys) != 0 {
		t.Fatalf("empty List = %q, %v", keys, err)
	}
	// Enough keys that the key list itself is chunked.
	var want []string
	for i := 0; i < 40; i++ {
		key := fmt.Sprintf("prov%d/subject-%02d", i%3, 39-i)
		want = append(want, key)
		if err := k.Set(key, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Set(want[0], []byte("again")); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if keys, err := k.List(""); err != nil || !slices.Equal(keys, want) {
		t.Fatalf("List = %q, %v\nwant %q", keys, err, want)
	}
	if !strings.HasPrefix(mem.raw(keyListName), "c") {
		t.Fatalf("key list should be chunked at this size")
	}
	var want1 []string
	for _, key := range want {
		if strings.HasPrefix(key, "prov1/") {
			want1 = append(want1, key)
		}
	}
	if keys, err := k.List("prov1/"); err != nil || !slices.Equal(keys, want1) {
		t.Fatalf("List(prov1/) = %q, %v", keys, err)
	}
	for _, key := range want {
		if err := k.Delete(key); err != nil {
			t.Fatal(err)
		}
	}
	if keys, err := k.List(""); err != nil || len(keys) != 0 {
		t.Fatalf("List after deleting all = %q, %v", keys, err)
	}
	if users := mem.users(); len(users) != 0 {
		t.Fatalf("items left: %q", users)
	}
}

func TestKeyringDamagedKeyListIsRebuilt(t *testing.T) {
	mem := newMemBackend()
	k := NewKeyring(Service, WithBackend(mem))
	if err := k.Set("a/1", []byte("x")); err != nil {
		t.Fatal(err)
	}
	mem.put(keyListName, "w0:"+"bm90CnNvcnRlZApfCg==") // "not\nsorted\n_\n"
	if _, err := k.List(""); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("List of a damaged key list: %v, want ErrCorrupt", err)
	}
	if err := k.Set("b/2", []byte("y")); err != nil {
		t.Fatal(err)
	}
	if keys, err := k.List(""); err != nil || !slices.Equal(keys, []string{"b/2"}) {
		t.Fatalf("List = %q, %v", keys, err)
	}
	if v, err := k.Get("a/1"); err != nil || string(v) != "x" {
		t.Fatalf("value behind a damaged key list: %q, %v", v, err)
	}
}

func TestKeyringErrorMapping(t *testing.T) {
	dbusDown := errors.New("dbus: couldn't connect to session bus")
	tests := []struct {
		name    string
		failGet error
		failSet error
		limit   int
		op      string
		want    error
	}{
		{"not found", nil, nil, 0, "get", ErrNotFound},
		{"no session bus on get", dbusDown, nil, 0, "get", ErrUnavailable},
		{"locked collection on set", nil, errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), 0, "set", ErrUnavailable},
		{"unsupported platform", keyring.ErrUnsupportedPlatform, nil, 0, "get", ErrUnavailable},
		{"unavailable on list", dbusDown, nil, 0, "list", ErrUnavailable},
		{"unavailable on delete", dbusDown, nil, 0, "delete", ErrUnavailable},
		{"platform item limit", nil, nil, 100, "set", ErrTooLarge},
		{"bad name", nil, nil, 0, "badname", ErrInvalidName},
		{"value over MaxValueSize", nil, nil, 0, "huge", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := newMemBackend()
			mem.limit = tt.limit
			mem.failGet = func(string) error { return tt.failGet }
			mem.failSet = func(string) error { return tt.failSet }
			k := NewKeyring(Service, WithBackend(mem), WithChunkSize(1024))
			var err error
			switch tt.op {
			case "get":
				_, err = k.Get("p/s")
			case "set":
				err = k.Set("p/s", make([]byte, 500))
			case "list":
				_, err = k.List("")
			case "delete":
				err = k.Delete("p/s")
			case "badname":
				err = k.Set("p#s", nil)
			case "huge":
				err = k.Set("p/s", make([]byte, MaxValueSize+1))
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == ErrUnavailable && !strings.Contains(err.Error(), "dbus") && !strings.Contains(err.Error(), "unlock") && !strings.Contains(err.Error(), "unsupported") {
				t.Fatalf("error %q lost its cause", err)
			}
		})
	}
}

// TestKeyringWritersAcrossProcesses runs several processes that write to one
// fake keyring at once; the lock in the lock directory must keep every key in
// the key list and every value whole.
func TestKeyringWritersAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	const procs, each = 4, 8
	runChildren(t, procs, "keyring-writer", childDirEnv+"="+dir, childNEnv+"="+fmt.Sprint(each))
	k := NewKeyring(Service, WithBackend(dirBackend{dir: dir + "/items"}), WithLockDir(dir+"/lock"), WithChunkSize(256))
	keys, err := k.List("")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != procs*each {
		t.Fatalf("key list has %d keys, want %d (lost updates): %q", len(keys), procs*each, keys)
	}
	for p := 0; p < procs; p++ {
		for i := 0; i < each; i++ {
			id := fmt.Sprint(p)
			got, err := k.Get(workerKey(id, i))
			if err != nil || !bytes.Equal(got, workerValue(id, i)) {
				t.Fatalf("%s: %d bytes, %v", workerKey(id, i), len(got), err)
			}
		}
	}
}
