package accounts

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// Child processes: the test binary re-executed with childEnv set runs one of
// these instead of the tests.
const (
	childEnv    = "AUTHCLI_ACCOUNTS_TEST_CHILD"
	childDirEnv = "AUTHCLI_ACCOUNTS_TEST_DIR"
	childIDEnv  = "AUTHCLI_ACCOUNTS_TEST_ID"
	childN      = 15  // updates per process in the concurrency test
	churnIDs    = 150 // identities per generation in the crash test (a ~50 KB file)
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "link":
		os.Exit(childLink(os.Getenv(childDirEnv), os.Getenv(childIDEnv)))
	case "churn":
		os.Exit(childChurn(os.Getenv(childDirEnv)))
	default:
		fmt.Fprintln(os.Stderr, "unknown child mode")
		os.Exit(2)
	}
}

// childLink links childN new identities to account "shared", one Update each.
func childLink(dir, id string) int {
	s := OpenStore(dir)
	for j := range childN {
		err := s.Update(func(st *State) error {
			return st.Link(signIn("p", fmt.Sprintf("w%s-%d", id, j), "", false, false), "shared", t0)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// childChurn rewrites the store with ever newer generations (every identity
// of account "gen" carries the generation number) and reports each one on
// stdout, until killed or after a bounded number of writes.
func childChurn(dir string) int {
	s := OpenStore(dir)
	for range 10000 {
		var gen int
		err := s.Update(func(st *State) error {
			g, err := generation(st)
			if err != nil {
				return err
			}
			gen = g + 1
			*st = genState(gen)
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("gen %d\n", gen)
	}
	return 0
}

func genState(gen int) State {
	acc := Account{Name: "gen", CreatedAt: t0}
	for k := range churnIDs {
		id := ident("p", fmt.Sprintf("g%d-%d", gen, k), fmt.Sprintf("user%d@example.com", k))
		id.Claims = map[string]any{"generation": strconv.Itoa(gen)}
		acc.Identities = append(acc.Identities, id)
	}
	return State{Version: SchemaVersion, Default: "gen", Accounts: []Account{acc}}
}

// generation checks st is one whole generation and returns its number (0
// for the empty state).
func generation(st *State) (int, error) {
	if len(st.Accounts) == 0 {
		return 0, nil
	}
	ids := st.Accounts[0].Identities
	if len(st.Accounts) != 1 || len(ids) != churnIDs {
		return 0, fmt.Errorf("torn state: %d accounts, %d identities", len(st.Accounts), len(ids))
	}
	gen, err := strconv.Atoi(strings.TrimPrefix(strings.Split(ids[0].Subject, "-")[0], "g"))
	if err != nil {
		return 0, fmt.Errorf("torn state: subject %q", ids[0].Subject)
	}
	want := genState(gen)
	if !reflect.DeepEqual(*st, want) {
		return 0, fmt.Errorf("torn state: generation %d differs from what was written", gen)
	}
	return gen, nil
}

func child(ctx context.Context, t *testing.T, mode, dir, id string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+mode, childDirEnv+"="+dir, childIDEnv+"="+id)
	return cmd
}

func TestStoreRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := OpenStore(dir)
	st, err := s.Load()
	if err != nil {
		t.Fatalf("Load of a missing file: %v", err)
	}
	if st.Version != SchemaVersion || len(st.Accounts) != 0 || st.Default != "" {
		t.Fatalf("missing file loaded as %+v, want empty", st)
	}
	in := signIn("google", "g-1", "alice@example.com", true, true)
	in.Profile.Claims = map[string]any{"hd": "example.com", "groups": []any{"a", "b"}}
	var want *State
	err = s.Update(func(st *State) error {
		if err := st.Apply(in, st.Resolve(in), t0); err != nil {
			return err
		}
		if err := st.Link(signIn("github", "gh-1", "", false, false), "alice", t0.Add(time.Second)); err != nil {
			return err
		}
		want = st.Clone()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if got.Accounts[0].Identities[0].Key() != "google/g-1" || got.Default != "alice" {
		t.Errorf("loaded %+v", got)
	}
}

// TestStoreParsesOnceWhileUnchanged: a Store that read accounts.json
// reuses what it read while the file is the same one (a sign-in reads,
// then updates), sees at once a file another writer replaced, and hands
// out copies, so a caller's changes never leak into the next read.
func TestStoreParsesOnceWhileUnchanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := OpenStore(dir)
	in := signIn("google", "g-1", "alice@example.com", true, true)
	if err := s.Update(func(st *State) error { return st.Apply(in, st.Resolve(in), t0) }); err != nil {
		t.Fatal(err)
	}
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	st.Accounts[0].Name = "changed by the caller"
	st.Accounts[0].Identities[0].Email = "mallory@example.com"
	again, err := s.Load()
	if err != nil || again.Accounts[0].Name != "alice" || again.Accounts[0].Identities[0].Email != "alice@example.com" {
		t.Fatalf("a caller's change reached the next Load: %+v, %v", again, err)
	}

	// The same file, its bytes damaged in place and its times put back:
	// this Store does not read it again (that is the reuse); a Store of
	// another process does, and refuses it.
	damageInPlace(t, s.Path(), "{{")
	if _, err := s.Load(); err != nil {
		t.Errorf("the unchanged file was parsed again: %v", err)
	}
	if _, err := OpenStore(dir).Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("another Store read the damaged file as %v, want ErrCorrupt", err)
	}

	// Another writer replaces the file: the next read is of the new one.
	other := OpenStore(dir)
	if err := os.Remove(s.Path()); err != nil {
		t.Fatal(err)
	}
	bob := signIn("github", "gh-2", "bob@example.com", true, true)
	if err := other.Update(func(st *State) error { return st.Apply(bob, st.Resolve(bob), t0) }); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil || len(got.Accounts) != 1 || got.Accounts[0].Identities[0].Subject != "gh-2" {
		t.Fatalf("after another writer: %+v, %v; want only bob's identity", got, err)
	}
}

// damageInPlace overwrites the start of path with junk keeping its size,
// inode and modification time, which no writer does: only a reader that
// parses the file again sees it.
func damageInPlace(t *testing.T, path, junk string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte(junk), 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

func TestStorePermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions do not apply on Windows")
	}
	dir := filepath.Join(t.TempDir(), "nested", "state")
	s := OpenStore(dir)
	if err := s.Update(func(st *State) error {
		in := signIn("google", "g-1", "a@example.com", true, true)
		return st.Apply(in, st.Resolve(in), t0)
	}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{
		dir:                0o700 | fs.ModeDir,
		s.Path():           0o600,
		s.Path() + ".lock": 0o600,
		filepath.Dir(dir):  0o700 | fs.ModeDir,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s mode = %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestStoreCorruptFile(t *testing.T) {
	valid := func(mut func(*State)) string {
		st := fixture(t)
		mut(st)
		data, err := encodeStateUnchecked(st)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	tests := map[string]string{
		"garbage":            "not json at all",
		"empty file":         "",
		"truncated":          valid(func(*State) {})[:40],
		"trailing data":      valid(func(*State) {}) + "{}",
		"null":               "null",
		"array":              "[]",
		"no version":         `{"default":"","accounts":[]}`,
		"newer version":      `{"version":2,"default":"","accounts":[]}`,
		"missing default":    valid(func(st *State) { st.Default = "" }),
		"unknown default":    valid(func(st *State) { st.Default = "ghost" }),
		"empty account":      valid(func(st *State) { st.Accounts[1].Identities = nil }),
		"duplicate account":  valid(func(st *State) { st.Accounts[1].Name = "alice" }),
		"identity twice":     valid(func(st *State) { st.Accounts[1].Identities[0] = st.Accounts[0].Identities[0] }),
		"bad account name":   valid(func(st *State) { st.Accounts[1].Name = "../etc" }),
		"empty subject":      valid(func(st *State) { st.Accounts[1].Identities[0].Subject = "" }),
		"control in subject": valid(func(st *State) { st.Accounts[1].Identities[0].Subject = "a\u001b[2J" }),
		"bad time":           `{"version":1,"default":"a","accounts":[{"name":"a","identities":[{"provider":"p","subject":"s","linked_at":"yesterday"}]}]}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s := OpenStore(dir)
			if err := os.WriteFile(s.Path(), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := s.Load()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s.Path()) {
				t.Fatalf("Load = %v, want ErrCorrupt naming %s", err, s.Path())
			}
			called := false
			err = s.Update(func(*State) error { called = true; return nil })
			if !errors.Is(err, ErrCorrupt) || called {
				t.Fatalf("Update on a corrupt file = %v (fn called %v), want ErrCorrupt before fn", err, called)
			}
			after, _ := os.ReadFile(s.Path())
			if string(after) != content {
				t.Error("Update rewrote a corrupt file")
			}
		})
	}
}

// encodeStateUnchecked renders a state without the invariant check, to
// build broken files.
func encodeStateUnchecked(st *State) ([]byte, error) {
	return json.MarshalIndent(st, "", "  ")
}

func TestStoreUpdateRefusals(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	in := signIn("google", "g-1", "a@example.com", true, true)
	if err := s.Update(func(st *State) error { return st.Apply(in, st.Resolve(in), t0) }); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(*State) error
		want error
	}{
		{"fn error", func(st *State) error {
			st.Default = "changed-but-failed"
			return boom
		}, boom},
		{"needs link", func(st *State) error {
			in := signIn("gitlab", "gl", "a@example.com", true, true)
			return st.Apply(in, st.Resolve(in), t0)
		}, ErrNeedsLink},
		{"broken invariant", func(st *State) error {
			st.Accounts[0].Identities = nil
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Update(tt.fn)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Update = %v, want %v", err, tt.want)
			}
			after, _ := os.ReadFile(s.Path())
			if !bytes.Equal(after, before) {
				t.Error("failed Update changed the file")
			}
		})
	}
}

func TestStoreRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	stale := filepath.Join(dir, tempPrefix+"123.tmp")
	if err := os.WriteFile(stale, []byte("{half"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale temp file still there: %v", err)
	}
	assertNoTemps(t, dir)
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, tempPattern))
	if len(left) > 0 {
		t.Errorf("temp files left behind: %v", left)
	}
}

func TestStoreUpdateContextLockHeld(t *testing.T) {
	dir := t.TempDir()
	s := OpenStore(dir)
	if err := s.Update(func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	other := flock.New(s.Path() + ".lock")
	if err := other.Lock(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	called := false
	err := s.UpdateContext(ctx, func(*State) error { called = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || called {
		t.Fatalf("UpdateContext with the lock held = %v (fn called %v), want deadline exceeded", err, called)
	}
	if err := other.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateContext(context.Background(), func(*State) error { called = true; return nil }); err != nil || !called {
		t.Fatalf("UpdateContext after unlock = %v, called %v", err, called)
	}
}

func seedShared(t *testing.T, dir string) {
	t.Helper()
	err := OpenStore(dir).Update(func(st *State) error {
		in := withAccount(signIn("p", "seed", "", false, false), "shared")
		return st.Apply(in, st.Resolve(in), t0)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestStoreConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	seedShared(t, dir)
	shared := OpenStore(dir)
	const workers, per = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*per)
	for w := range workers {
		s := shared
		if w%2 == 1 {
			s = OpenStore(dir) // separate Store: only the file lock serialises
		}
		wg.Go(func() {
			for j := range per {
				errs <- s.Update(func(st *State) error {
					return st.Link(signIn("p", fmt.Sprintf("g%d-%d", w, j), "", false, false), "shared", t0)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, err := shared.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(st.Accounts[0].Identities); got != 1+workers*per {
		t.Errorf("identities = %d, want %d (lost updates)", got, 1+workers*per)
	}
}

func TestStoreConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	seedShared(t, dir)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const procs = 4
	cmds := make([]*exec.Cmd, procs)
	outs := make([]*bytes.Buffer, procs)
	for i := range cmds {
		cmds[i] = child(ctx, t, "link", dir, strconv.Itoa(i))
		outs[i] = new(bytes.Buffer)
		cmds[i].Stderr = outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %d: %v: %s", i, err, outs[i])
		}
	}
	st, err := OpenStore(dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, id := range st.Accounts[0].Identities {
		seen[id.Subject] = true
	}
	for i := range procs {
		for j := range childN {
			if sub := fmt.Sprintf("w%d-%d", i, j); !seen[sub] {
				t.Errorf("update %s lost", sub)
			}
		}
	}
	if len(seen) != 1+procs*childN {
		t.Errorf("identities = %d, want %d", len(seen), 1+procs*childN)
	}
}

// TestStoreCrashSafety kills a writer in the middle of its write loop, either
// as soon as a temp file shows a write in progress or after a random delay
// following a reported write. Every time, the file must parse and hold one
// whole generation, at least the last one the writer reported as written.
func TestStoreCrashSafety(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill semantics differ on Windows")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	rng := rand.New(rand.NewPCG(1, 2))
	const rounds = 16
	last, midWrite := 0, 0
	for round := range rounds {
		cmd := child(ctx, t, "churn", dir, "")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		readGen := func() {
			if !sc.Scan() {
				t.Fatalf("round %d: child stopped: %s", round, stderr.String())
			}
			gen, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "gen "))
			if err != nil || gen <= last {
				t.Fatalf("round %d: child reported %q after generation %d", round, sc.Text(), last)
			}
			last = gen
		}
		readGen()
		if round%2 == 0 {
			// Wait (bounded) for a temp file: a write is in flight.
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				if m, _ := filepath.Glob(filepath.Join(dir, tempPattern)); len(m) > 0 {
					midWrite++
					break
				}
				time.Sleep(100 * time.Microsecond) // poll interval; leave the CPU to the writer
			}
		} else {
			// Jitter, not a wait: it moves the kill to a random point of
			// the child's read-decode-encode-write cycle.
			time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		}
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait() // killed: a non-nil error is expected
		if ctx.Err() != nil {
			t.Fatalf("round %d: timed out; child stderr: %s", round, stderr.String())
		}
		if strings.TrimSpace(stderr.String()) != "" {
			t.Fatalf("round %d: child failed: %s", round, stderr.String())
		}
		st, err := OpenStore(dir).Load()
		if err != nil {
			t.Fatalf("round %d: store unreadable after kill: %v", round, err)
		}
		gen, err := generation(st)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if gen < last {
			t.Fatalf("round %d: store holds generation %d, older than the reported %d", round, gen, last)
		}
		last = gen
	}
	t.Logf("%d of %d kills aimed at an in-flight write", midWrite, rounds)
	if err := OpenStore(dir).Update(func(*State) error { return nil }); err != nil {
		t.Fatal(err)
	}
	assertNoTemps(t, dir)
}

func FuzzDecode(f *testing.F) {
	st := &State{Version: SchemaVersion, Default: "alice", Accounts: []Account{
		{Name: "alice", CreatedAt: t0, Identities: []Identity{
			ident("google", "g-alice", "alice@example.com"),
			{Provider: "github", Subject: "1", TokenExpiry: t0, Refreshable: true, NeedsSignIn: true,
				Claims: map[string]any{"n": 1.5, "list": []any{"x", true, nil}}},
		}},
	}}
	seed, err := encodeState(st)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{string(seed), `{"version":1,"default":"","accounts":[]}`, `{}`, `null`, `{"version":1}`,
		`{"version":1,"default":"a","accounts":[{"name":"a","identities":[{"provider":"p","subject":"s","linked_at":"2026-01-02T03:04:05.123+01:00","claims":{"big":123456789012345678901234567890}}]}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			if st != nil {
				t.Fatal("state returned with an error")
			}
			return
		}
		enc, err := encodeState(st)
		if err != nil {
			t.Fatalf("accepted state does not encode: %v", err)
		}
		st2, err := decodeState(enc)
		if err != nil {
			t.Fatalf("re-encoded state does not decode: %v\n%s", err, enc)
		}
		enc2, err := encodeState(st2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable: %v\n%s\n%s", err, enc, enc2)
		}
		if _, err := st.StatusJSON(t0); err != nil {
			t.Fatalf("StatusJSON: %v", err)
		}
	})
}
