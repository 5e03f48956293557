package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Child processes: the tests re-run this test binary with childEnv set to
// exercise several real processes (concurrent writers, a reader in another
// process, a keyring with no D-Bus session).
const (
	childEnv    = "AUTHCLI_VAULT_TEST_CHILD"
	childDirEnv = "AUTHCLI_VAULT_TEST_DIR"
	childIDEnv  = "AUTHCLI_VAULT_TEST_ID"
	childNEnv   = "AUTHCLI_VAULT_TEST_N"
	childKeyEnv = "AUTHCLI_VAULT_TEST_KEY"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := runChild(mode); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(mode string) error {
	dir := os.Getenv(childDirEnv)
	switch mode {
	case "file-writer", "keyring-writer":
		id := os.Getenv(childIDEnv)
		n, err := strconv.Atoi(os.Getenv(childNEnv))
		if err != nil {
			return err
		}
		var v Vault
		if mode == "file-writer" {
			key, err := KeyFromEnv(os.Getenv)
			if err != nil {
				return err
			}
			if v, err = OpenFile(dir, key, WithArgon2Params(testArgon2)); err != nil {
				return err
			}
		} else {
			v = NewKeyring(Service, WithBackend(dirBackend{dir: dir + "/items"}), WithLockDir(dir+"/lock"), WithChunkSize(256))
		}
		for i := 0; i < n; i++ {
			if err := v.Set(workerKey(id, i), workerValue(id, i)); err != nil {
				return err
			}
		}
		return nil
	case "get":
		v, err := Open(os.Getenv, dir)
		if err != nil {
			return err
		}
		b, err := v.Get(os.Getenv(childKeyEnv))
		if err != nil {
			return err
		}
		fmt.Print(base64.StdEncoding.EncodeToString(b))
		return nil
	case "unavailable":
		_, err := NewKeyring(Service).Get("probe/unavailable")
		switch {
		case errors.Is(err, ErrUnavailable):
			fmt.Print("unavailable")
			return nil
		case err == nil:
			return errors.New("keyring read succeeded without a D-Bus session")
		default:
			return fmt.Errorf("want ErrUnavailable, got: %w", err)
		}
	default:
		return fmt.Errorf("unknown child mode %q", mode)
	}
}

func workerKey(id string, i int) string { return fmt.Sprintf("worker%s/key%03d", id, i) }

// workerValue is long enough to be chunked by the keyring writers.
func workerValue(id string, i int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("value of %s/%d;", id, i)), 40)
}

// runChildren starts n copies of this test binary in mode and waits, bounded,
// for all of them to succeed.
func runChildren(t *testing.T, n int, mode string, env ...string) {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + mode, childIDEnv + "=" + strconv.Itoa(i)}, env...)...)
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[i] = cmd
	}
	deadline := time.AfterFunc(45*time.Second, func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
		}
	})
	defer deadline.Stop()
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("child %d: %v\n%s", i, err, outs[i])
		}
	}
}

// runChild1 runs one child and returns its stdout.
func runChild1(t *testing.T, mode string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{childEnv + "=" + mode}, env...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer done.Stop()
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%w: %s", err, stderr.String())
	}
	return string(out), nil
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var testRawKey = bytes.Repeat([]byte{0x42}, KeySize)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"provider and subject", "github/12345", true},
		{"unicode", "apple/001234.abcé", true},
		{"max length", strings.Repeat("a", MaxNameLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("a", MaxNameLen+1), false},
		{"hash reserved for chunks", "github/1#2.0", false},
		{"newline", "github/1\n2", false},
		{"nul", "github/1\x002", false},
		{"c1 control", "github/1\u00852", false},
		{"invalid utf8", "github/\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName(tt.key)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckName(%q) = %v, want ok=%v", tt.key, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidName) {
				t.Fatalf("error %v is not ErrInvalidName", err)
			}
		})
	}
}

func TestKeyFromEnv(t *testing.T) {
	key32 := base64.StdEncoding.EncodeToString(testRawKey)
	tests := []struct {
		name    string
		env     map[string]string
		wantErr error
		mention string // the error must name this variable
		kind    string // String() of the key on success
	}{
		{"raw key", map[string]string{EnvVaultKey: key32}, nil, "", "vault.Key(raw, redacted)"},
		{"raw key with newline", map[string]string{EnvVaultKey: key32 + "\n"}, nil, "", "vault.Key(raw, redacted)"},
		{"raw key unpadded url", map[string]string{EnvVaultKey: base64.RawURLEncoding.EncodeToString(testRawKey)}, nil, "", "vault.Key(raw, redacted)"},
		{"passphrase", map[string]string{EnvVaultPassphrase: "correct horse"}, nil, "", "vault.Key(passphrase, redacted)"},
		{"neither", map[string]string{}, ErrNoKey, "", ""},
		{"both", map[string]string{EnvVaultKey: key32, EnvVaultPassphrase: "p"}, ErrInvalidConfig, EnvVaultPassphrase, ""},
		{"bad base64", map[string]string{EnvVaultKey: "not*base64!"}, ErrInvalidConfig, EnvVaultKey, ""},
		{"short key", map[string]string{EnvVaultKey: base64.StdEncoding.EncodeToString(testRawKey[:16])}, ErrInvalidConfig, EnvVaultKey, ""},
		{"long key", map[string]string{EnvVaultKey: base64.StdEncoding.EncodeToString(append(testRawKey, 1))}, ErrInvalidConfig, EnvVaultKey, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := KeyFromEnv(envFunc(tt.env))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("error %q does not name %s", err, tt.mention)
				}
				if v := tt.env[EnvVaultKey]; v != "" && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q reveals the key", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := k.String(); got != tt.kind {
				t.Fatalf("key kind %q, want %q", got, tt.kind)
			}
		})
	}
}

func TestKeyNeverPrinted(t *testing.T) {
	raw, err := KeyFromBytes(testRawKey)
	if err != nil {
		t.Fatal(err)
	}
	pass, err := KeyFromPassphrase("hunter2-very-secret")
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%q"} {
		for _, k := range []Key{raw, pass} {
			out := fmt.Sprintf(verb, k) + fmt.Sprintf(verb, struct{ K Key }{k})
			if strings.Contains(out, "hunter2") || strings.Contains(out, "66") || strings.Contains(out, "42") || strings.Contains(out, "BBBB") {
				t.Errorf("%s of a key prints %q", verb, out)
			}
		}
	}
	if _, err := KeyFromPassphrase(""); !errors.Is(err, ErrNoKey) {
		t.Errorf("empty passphrase: %v, want ErrNoKey", err)
	}
	if _, err := KeyFromBytes(testRawKey[:31]); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("31-byte key: %v, want ErrInvalidConfig", err)
	}
}

func TestOpen(t *testing.T) {
	key32 := base64.StdEncoding.EncodeToString(testRawKey)
	tests := []struct {
		name     string
		env      map[string]string
		wantType string
		wantErr  error
		mention  string
	}{
		{"default is keyring", map[string]string{}, "*vault.Keyring", nil, ""},
		{"keyring", map[string]string{EnvVault: "keyring"}, "*vault.Keyring", nil, ""},
		{"file with key", map[string]string{EnvVault: "file", EnvVaultKey: key32}, "*vault.File", nil, ""},
		{"file with passphrase", map[string]string{EnvVault: "file", EnvVaultPassphrase: "pw"}, "*vault.File", nil, ""},
		{"file without key", map[string]string{EnvVault: "file"}, "", ErrNoKey, ""},
		{"file with bad key", map[string]string{EnvVault: "file", EnvVaultKey: "%%"}, "", ErrInvalidConfig, EnvVaultKey},
		{"unknown backend", map[string]string{EnvVault: "plaintext"}, "", ErrInvalidConfig, `"plaintext"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Open(envFunc(tt.env), t.TempDir())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.mention) {
					t.Fatalf("err = %v, want %v naming %s", err, tt.wantErr, tt.mention)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%T", v); got != tt.wantType {
				t.Fatalf("Open returned %s, want %s", got, tt.wantType)
			}
		})
	}
	if _, err := Open(envFunc(nil), ""); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("empty state dir: %v, want ErrInvalidConfig", err)
	}
}

func ExampleOpenFile() {
	dir, err := os.MkdirTemp("", "vault-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)

	key, err := KeyFromEnv(func(name string) string {
		if name == EnvVaultKey {
			return "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=" // 32 bytes
		}
		return ""
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, err := OpenFile(dir+"/state", key)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := v.Set("github/12345", []byte(`{"refresh_token":"..."}`)); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := v.Get("github/12345")
	keys, _ := v.List("github/")
	_, err = v.Get("google/999")
	fmt.Println(string(b))
	fmt.Println(keys)
	fmt.Println(errors.Is(err, ErrNotFound))
	// Output:
	// {"refresh_token":"..."}
	// [github/12345]
	// true
}

// TestWithoutSecrets: children (a browser, authcli exec's command) get
// everything but the key that opens every stored token.
func TestWithoutSecrets(t *testing.T) {
	in := []string{"PATH=/bin", "AUTHCLI_VAULT_KEY=c2VjcmV0", "AUTHCLI_VAULT=file", "AUTHCLI_VAULT_PASSPHRASE=pw", "AUTHCLI_VAULT_KEYS=x", "DISPLAY=:0"}
	got := WithoutSecrets(in)
	want := []string{"PATH=/bin", "AUTHCLI_VAULT=file", "AUTHCLI_VAULT_KEYS=x", "DISPLAY=:0"}
	if !slices.Equal(got, want) {
		t.Errorf("WithoutSecrets = %q, want %q", got, want)
	}
}
