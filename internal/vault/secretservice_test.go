package vault

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

const secretServiceEnv = "AUTHCLI_TEST_SECRET_SERVICE"

func requireSecretService(tb testing.TB) {
	tb.Helper()
	if os.Getenv(secretServiceEnv) != "1" {
		tb.Skipf("real Secret Service test: set %s=1, e.g. run scripts/with-secret-service.sh go test -run SecretService -v ./internal/vault/", secretServiceEnv)
	}
	if runtime.GOOS != "linux" {
		tb.Skipf("the Secret Service is a Linux keyring; GOOS=%s", runtime.GOOS)
	}
	if _, err := exec.LookPath("secret-tool"); err != nil {
		tb.Fatalf("%s=1 but secret-tool is missing (apt-get install libsecret-tools): %v", secretServiceEnv, err)
	}
}

// secretTool looks an item up the way a user would. go-keyring stores the
// attributes "service" and "username". ok is false when there is no item.
func secretTool(t *testing.T, account string) (string, bool) {
	t.Helper()
	cmd := exec.Command("secret-tool", "lookup", "service", Service, "username", account)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer done.Stop()
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() == 1 && len(out) == 0:
		return "", false
	case err != nil:
		t.Fatalf("secret-tool lookup %s: %v: %s", account, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), true
}

// TestKeyringSecretService stores an unchunked and a chunked value in the
// real Secret Service, checks them with secret-tool and from another
// process, and checks that Delete removes every item.
func TestKeyringSecretService(t *testing.T) {
	requireSecretService(t)
	k := NewKeyring(Service, WithLockDir(t.TempDir()))
	suffix := hex.EncodeToString(randomBytes(t, 6))
	small := "authcli-test/small-" + suffix
	big := "authcli-test/big-" + suffix
	smallValue := randomBytes(t, 3000) // a token bundle: one item on Linux
	bigValue := randomBytes(t, 80<<10) // over the 32 KiB item size: chunked
	t.Cleanup(func() {
		_ = k.Delete(small)
		_ = k.Delete(big)
	})

	for key, value := range map[string][]byte{small: smallValue, big: bigValue} {
		if err := k.Set(key, value); err != nil {
			t.Fatalf("Set %s: %v", key, err)
		}
		got, err := k.Get(key)
		if err != nil || !bytes.Equal(got, value) {
			t.Fatalf("Get %s: %d bytes, %v", key, len(got), err)
		}
		// A second process reads what this one wrote.
		out, err := runChild1(t, "get", childDirEnv+"="+t.TempDir(), childKeyEnv+"="+key, EnvVault+"=keyring")
		if err != nil {
			t.Fatalf("reading %s from another process: %v", key, err)
		}
		if out != base64.StdEncoding.EncodeToString(value) {
			t.Fatalf("another process read a different value for %s", key)
		}
	}

	// secret-tool sees the items under service "authcli" and the key as
	// the user name: the whole value, or an index and its chunks.
	first, ok := secretTool(t, small)
	if !ok {
		t.Fatalf("secret-tool finds no item for %s", small)
	}
	it, err := decodeKeyringItem(first)
	if err != nil || it.chunked || !bytes.Equal(it.value, smallValue) {
		t.Fatalf("secret-tool item for %s: chunked=%v, %v", small, it.chunked, err)
	}
	first, ok = secretTool(t, big)
	if !ok {
		t.Fatalf("secret-tool finds no item for %s", big)
	}
	it, err = decodeKeyringItem(first)
	if err != nil || !it.chunked || it.chunks < 3 {
		t.Fatalf("secret-tool item for %s: %q, %v; want an index of at least 3 chunks", big, first, err)
	}
	var joined []byte
	for i := 0; i < it.chunks; i++ {
		s, ok := secretTool(t, chunkName(big, it.gen, i))
		if !ok {
			t.Fatalf("secret-tool finds no chunk %d of %s", i, big)
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		joined = append(joined, b...)
	}
	if !bytes.Equal(joined, bigValue) {
		t.Fatal("the chunks secret-tool returns do not join into the value")
	}
	keys, err := k.List("authcli-test/")
	if err != nil || !slices.Contains(keys, small) || !slices.Contains(keys, big) {
		t.Fatalf("List = %q, %v", keys, err)
	}

	// Overwriting the chunked value with a short one removes its chunks.
	if err := k.Set(big, []byte("short")); err != nil {
		t.Fatal(err)
	}
	if _, ok := secretTool(t, chunkName(big, it.gen, 0)); ok {
		t.Fatalf("chunk 0 of %s survived an overwrite", big)
	}

	for _, key := range []string{small, big} {
		if err := k.Delete(key); err != nil {
			t.Fatalf("Delete %s: %v", key, err)
		}
		if _, err := k.Get(key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get %s after Delete: %v, want ErrNotFound", key, err)
		}
		if _, ok := secretTool(t, key); ok {
			t.Fatalf("secret-tool still finds %s after Delete", key)
		}
	}
	for i := 0; i < it.chunks; i++ {
		if _, ok := secretTool(t, chunkName(big, it.gen, i)); ok {
			t.Fatalf("chunk %d of %s survived Delete", i, big)
		}
	}
	if keys, err := k.List("authcli-test/"); err != nil || slices.Contains(keys, small) || slices.Contains(keys, big) {
		t.Fatalf("List after Delete = %q, %v", keys, err)
	}
}

// TestKeyringUnavailable points D-Bus at a socket that does not exist. It
// runs in a child process because godbus caches the session bus connection
// for the life of a process.
func TestKeyringUnavailable(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skipf("the D-Bus Secret Service is Linux's keyring; GOOS=%s", runtime.GOOS)
	}
	bus := "unix:path=" + filepath.Join(t.TempDir(), "no-such-bus")
	out, err := runChild1(t, "unavailable", "DBUS_SESSION_BUS_ADDRESS="+bus)
	if err != nil {
		t.Fatal(err)
	}
	if out != "unavailable" {
		t.Fatalf("child printed %q", out)
	}
}

func TestCheckSessionBus(t *testing.T) {
	tests := []struct {
		name   string
		goos   string
		env    string
		exists []string
		ok     bool
	}{
		{"address set", "linux", "unix:path=/run/user/1000/bus", nil, true},
		{"systemd user bus", "linux", "", []string{"/run/user/1000/bus"}, true},
		{"dbus-session file", "freebsd", "", []string{"/run/user/1000/dbus-session"}, true},
		{"nothing: no autolaunch", "linux", "", nil, false},
		{"explicit autolaunch", "linux", "autolaunch:", nil, false},
		{"other uid's bus", "linux", "", []string{"/run/user/0/bus"}, false},
		{"macOS needs no bus", "darwin", "", nil, true},
		{"Windows needs no bus", "windows", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := osKeyring{
				goos:   tt.goos,
				getenv: func(k string) string { return map[string]string{"DBUS_SESSION_BUS_ADDRESS": tt.env}[k] },
				exists: func(p string) bool { return slices.Contains(tt.exists, p) },
				uid:    1000,
			}
			err := o.checkSessionBus()
			if (err == nil) != tt.ok {
				t.Fatalf("checkSessionBus = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				k := NewKeyring(Service, WithBackend(o))
				if _, err := k.Get("a/b"); !errors.Is(err, ErrUnavailable) {
					t.Fatalf("Get without a bus: %v, want ErrUnavailable", err)
				}
			}
		})
	}
}
