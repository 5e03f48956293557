package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// memVault is a vault.Vault in memory that can be forgotten like a File.
type memVault struct {
	mu        sync.Mutex
	m         map[string][]byte
	forgotten bool
}

func newMemVault() *memVault { return &memVault{m: map[string][]byte{}} }

func (v *memVault) Get(k string) ([]byte, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.forgotten {
		return nil, vault.ErrNoKey
	}
	b, ok := v.m[k]
	if !ok {
		return nil, vault.ErrNotFound
	}
	return slices.Clone(b), nil
}

func (v *memVault) Set(k string, b []byte) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.forgotten {
		return vault.ErrNoKey
	}
	if err := vault.CheckName(k); err != nil {
		return err
	}
	v.m[k] = slices.Clone(b)
	return nil
}

func (v *memVault) Delete(k string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, k)
	return nil
}

func (v *memVault) List(prefix string) ([]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for k := range v.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (v *memVault) isForgotten() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.forgotten
}

func (v *memVault) Forget() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.forgotten = true
}

// fakeIdP is the refresh the server runs: it stores a record per
// identity in the vault, refreshes when the token is within MinTTL of
// expiry, and counts refreshes. Each refresh takes delay, during which
// callers can be killed.
type fakeIdP struct {
	refreshes atomic.Int32
	delay     time.Duration
	ttl       time.Duration
	started   chan struct{} // receives when a refresh begins, if set
}

func (p *fakeIdP) fresh(ctx context.Context, v vault.Vault, w Want) (tokens.Record, error) {
	if w.Provider == "unknown" {
		return tokens.Record{}, fmt.Errorf("%w: no identity", tokens.ErrSignInRequired)
	}
	key := w.Provider + "/sub"
	rec := tokens.Record{}
	if b, err := v.Get(key); err == nil {
		rec, _ = tokens.Decode(b)
	}
	if rec.AccessToken != "" && rec.Expiry.After(time.Now().Add(w.MinTTL)) {
		return rec, nil
	}
	if p.started != nil {
		p.started <- struct{}{}
	}
	select {
	case <-time.After(p.delay):
	case <-ctx.Done():
		return tokens.Record{}, ctx.Err()
	}
	n := p.refreshes.Add(1)
	ttl := p.ttl
	if ttl == 0 {
		ttl = time.Hour
	}
	rec = tokens.Record{AccessToken: fmt.Sprintf("at-%d", n), RefreshToken: fmt.Sprintf("rt-%d", n), Expiry: time.Now().Add(ttl), UpdatedAt: time.Now()}
	b, _ := rec.Encode()
	if err := v.Set(key, b); err != nil {
		return tokens.Record{}, err
	}
	return rec, nil
}

type testAgent struct {
	srv    *Server
	client *Client
	fwd    *Client
	dir    string
	logs   *logLines
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// shortDir is a private directory with a path short enough for a unix
// socket (t.TempDir's can exceed the 108-byte limit).
func shortDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ag")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return filepath.Join(d, "s")
}

func startAgent(t *testing.T, cfg Config, v vault.Vault) *testAgent {
	t.Helper()
	dir := shortDir(t)
	logs := &logLines{}
	cfg.Logf = logs.logf
	if cfg.Open == nil {
		cfg.Open = func(Secret) (vault.Vault, error) { return newMemVault(), nil }
	}
	srv := NewServer(cfg, v)
	ln, err := Listen(filepath.Join(dir, SocketName))
	if err != nil {
		t.Fatal(err)
	}
	fl, err := Listen(filepath.Join(dir, ForwardSocketName))
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln, false)
	go srv.Serve(fl, true)
	t.Cleanup(func() { srv.Close() })
	return &testAgent{srv: srv, dir: dir, logs: logs,
		client: &Client{Path: filepath.Join(dir, SocketName)}, fwd: &Client{Path: filepath.Join(dir, ForwardSocketName)}}
}

func TestVaultThroughAgent(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	v := a.client.Vault()
	if _, err := v.Get("github/1"); !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want vault.ErrNotFound", err)
	}
	if err := v.Set("github/1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := v.Set("google/2", []byte{0, 1, 2, '\n'}); err != nil {
		t.Fatal(err)
	}
	if b, err := v.Get("google/2"); err != nil || string(b) != "\x00\x01\x02\n" {
		t.Errorf("Get = %q, %v", b, err)
	}
	if keys, err := v.List("g"); err != nil || !slices.Equal(keys, []string{"github/1", "google/2"}) {
		t.Errorf("List = %v, %v", keys, err)
	}
	if keys, err := v.List("none/"); err != nil || keys == nil || len(keys) != 0 {
		t.Errorf("List of nothing = %#v, %v; want an empty list", keys, err)
	}
	if err := v.Set("bad#name", []byte("x")); !errors.Is(err, ErrUsage) {
		t.Errorf("Set of an invalid name: %v, want ErrUsage", err)
	}
	if err := v.Delete("github/1"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get("github/1"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
}

func TestSocketModes(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	for path, want := range map[string]os.FileMode{
		a.dir: 0o700, filepath.Join(a.dir, SocketName): 0o600, filepath.Join(a.dir, ForwardSocketName): 0o600,
	} {
		fi, err := os.Lstat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
}

func TestPrepareDirRefusesUnsafe(t *testing.T) {
	base := shortDir(t)
	if err := os.Mkdir(base, 0o700); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(base, "open")
	if err := os.Mkdir(open, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "link")
	if err := os.Symlink(t.TempDir(), link); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{open, link} {
		if err := PrepareDir(dir); !errors.Is(err, ErrUnsafeDir) {
			t.Errorf("PrepareDir(%s) = %v, want ErrUnsafeDir", filepath.Base(dir), err)
		}
	}
	if _, err := Listen(filepath.Join(open, SocketName)); !errors.Is(err, ErrUnsafeDir) {
		t.Errorf("Listen in a 0755 directory: %v", err)
	}
}

func TestListenRefusesRunningAgent(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	if _, err := Listen(filepath.Join(a.dir, SocketName)); !errors.Is(err, ErrRunning) {
		t.Errorf("second Listen: %v, want ErrRunning", err)
	}
}

// TestOneRefreshForManyCallers: 100 callers of an expired token make one
// refresh and all get its token.
func TestOneRefreshForManyCallers(t *testing.T) {
	idp := &fakeIdP{delay: 200 * time.Millisecond}
	a := startAgent(t, Config{Fresh: idp.fresh}, newMemVault())
	const n = 100
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			rec, err := a.client.Fresh(context.Background(), Want{Provider: "corp", MinTTL: time.Minute})
			got[i], errs[i] = rec.AccessToken, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != "at-1" {
			t.Fatalf("caller %d: %q, %v", i, got[i], errs[i])
		}
	}
	if r := idp.refreshes.Load(); r != 1 {
		t.Errorf("%d refreshes, want 1", r)
	}
}

// TestKilledCallerDoesNotStopRefresh: every caller gives up mid-refresh;
// the refresh still completes and its rotated token is stored.
func TestKilledCallerDoesNotStopRefresh(t *testing.T) {
	idp := &fakeIdP{delay: 300 * time.Millisecond, started: make(chan struct{}, 1)}
	v := newMemVault()
	a := startAgent(t, Config{Fresh: idp.fresh}, v)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.client.Fresh(ctx, Want{Provider: "corp"})
		errc <- err
	}()
	<-idp.started
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("the canceled caller got %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for idp.refreshes.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	b, err := v.Get("corp/sub")
	if err != nil {
		t.Fatalf("the refresh did not store its result: %v", err)
	}
	if rec, _ := tokens.Decode(b); rec.RefreshToken != "rt-1" {
		t.Errorf("stored %v", rec)
	}
	// The next caller uses it rather than refreshing again.
	if rec, err := a.client.Fresh(context.Background(), Want{Provider: "corp"}); err != nil || rec.AccessToken != "at-1" {
		t.Errorf("next caller: %v, %v", rec, err)
	}
	if idp.refreshes.Load() != 1 {
		t.Errorf("%d refreshes, want 1", idp.refreshes.Load())
	}
}

func TestFreshNeverHandsOutRefreshToken(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	resp, err := a.client.Do(context.Background(), Request{Op: OpFresh, Provider: "corp"})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := encodeLine(resp)
	if strings.Contains(string(line), "rt-") || resp.Token.AccessToken != "at-1" {
		t.Errorf("fresh response: %s", line)
	}
}

func TestFreshErrors(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	_, err := a.client.Fresh(context.Background(), Want{Provider: "unknown"})
	if !errors.Is(err, tokens.ErrSignInRequired) {
		t.Errorf("unknown identity: %v, want tokens.ErrSignInRequired", err)
	}
}

func TestLockUnlock(t *testing.T) {
	opened := 0
	first := newMemVault()
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh, Open: func(s Secret) (vault.Vault, error) {
		if s.Passphrase != "right" {
			return nil, fmt.Errorf("open: %w", vault.ErrDecrypt)
		}
		opened++
		return newMemVault(), nil
	}}, first)
	ctx := context.Background()
	if err := a.client.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if !first.isForgotten() {
		t.Error("lock did not make the vault forget its key")
	}
	if _, err := a.client.Vault().Get("x"); !errors.Is(err, ErrLocked) {
		t.Errorf("Get while locked: %v, want ErrLocked", err)
	}
	if _, err := a.client.Fresh(ctx, Want{Provider: "corp"}); !errors.Is(err, ErrLocked) {
		t.Errorf("Fresh while locked: %v, want ErrLocked", err)
	}
	if st, _ := a.client.Status(ctx); !st.Locked {
		t.Error("status does not say locked")
	}
	var ae *Error
	if err := a.client.Unlock(ctx, Secret{Passphrase: "wrong"}); !errors.As(err, &ae) || ae.Code != CodeVault {
		t.Errorf("unlock with a wrong passphrase: %v", err)
	}
	if err := a.client.Unlock(ctx, Secret{Passphrase: "right"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.Fresh(ctx, Want{Provider: "corp"}); err != nil {
		t.Errorf("Fresh after unlock: %v", err)
	}
	if opened != 1 {
		t.Errorf("opened %d times", opened)
	}
}

// TestLifetime: the vault is forgotten when the lifetime ends, and status
// said when that would be.
func TestLifetime(t *testing.T) {
	v := newMemVault()
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh, Lifetime: 300 * time.Millisecond}, v)
	st, err := a.client.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Locked || st.LocksAt.IsZero() || st.LocksAt.Sub(st.UnlockedAt) != 300*time.Millisecond {
		t.Errorf("status before the lifetime ends: %+v", st)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ = a.client.Status(context.Background())
		if (st.Locked && v.isForgotten()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !st.Locked || !v.isForgotten() {
		t.Fatalf("not locked after its lifetime: %+v", st)
	}
	if !strings.Contains(a.logs.String(), "locked: its lifetime ended") {
		t.Errorf("no log line for the lock:\n%s", a.logs)
	}
}

// TestLockWaitsForRefresh: a lock during a refresh lets it store the
// rotated token before the vault is forgotten.
func TestLockWaitsForRefresh(t *testing.T) {
	idp := &fakeIdP{delay: 300 * time.Millisecond, started: make(chan struct{}, 1)}
	v := newMemVault()
	a := startAgent(t, Config{Fresh: idp.fresh}, v)
	done := make(chan error, 1)
	go func() {
		_, err := a.client.Fresh(context.Background(), Want{Provider: "corp"})
		done <- err
	}()
	<-idp.started
	if err := a.client.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("the refresh running during the lock failed: %v", err)
	}
	v.mu.Lock()
	_, stored := v.m["corp/sub"]
	v.mu.Unlock()
	if !stored {
		t.Error("the rotated token was lost to the lock")
	}
}

func TestForwardingRules(t *testing.T) {
	var mu sync.Mutex
	confirmed := []string{}
	answer := true
	a := startAgent(t, Config{
		Fresh: (&fakeIdP{}).fresh, ForwardAllow: []string{"corp"}, ConfirmForwarded: true,
		Confirm: func(_ context.Context, prompt string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			confirmed = append(confirmed, prompt)
			return answer, nil
		},
	}, newMemVault())
	ctx := context.Background()
	if rec, err := a.fwd.Fresh(ctx, Want{Provider: "corp"}); err != nil || rec.AccessToken == "" {
		t.Errorf("forwarded corp token: %v", err)
	}
	if _, err := a.fwd.Fresh(ctx, Want{Provider: "github"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("forwarded github token: %v, want ErrForbidden", err)
	}
	if _, err := a.fwd.Fresh(ctx, Want{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("forwarded default provider: %v, want ErrForbidden", err)
	}
	mu.Lock()
	answer = false
	mu.Unlock()
	if _, err := a.fwd.Fresh(ctx, Want{Provider: "corp"}); !errors.Is(err, ErrDenied) {
		t.Errorf("unconfirmed: %v, want ErrDenied", err)
	}
	for _, op := range []Op{OpGet, OpSet, OpDelete, OpList, OpLock, OpUnlock, OpStop} {
		if _, err := a.fwd.Do(ctx, Request{Op: op, Key: "corp/sub"}); !errors.Is(err, ErrForbidden) {
			t.Errorf("forwarded %s: %v, want ErrForbidden", op, err)
		}
	}
	st, err := a.fwd.Status(ctx)
	if err != nil || !st.Forwarded || len(st.Identities) != 0 {
		t.Errorf("forwarded status: %+v, %v", st, err)
	}
	// The local socket is not restricted.
	if _, err := a.client.Fresh(ctx, Want{Provider: "github"}); err != nil {
		t.Errorf("local github token: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(confirmed) != 2 || !strings.Contains(confirmed[0], `"corp"`) {
		t.Errorf("confirmations asked: %q", confirmed)
	}
	logs := a.logs.String()
	for _, want := range []string{"forwarded request", "allowed", "refused", `provider "github"`, "denied", "not allowed over a forwarded connection"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestConfirmWithoutAsker: --confirm with no way to ask denies.
func TestConfirmWithoutAsker(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh, ConfirmForwarded: true}, newMemVault())
	if _, err := a.fwd.Fresh(context.Background(), Want{Provider: "corp"}); !errors.Is(err, ErrDenied) {
		t.Errorf("%v, want ErrDenied", err)
	}
}

// TestRefreshAhead: an identity in use is refreshed before its token
// stops satisfying the callers' MinTTL, without a caller waiting.
func TestRefreshAhead(t *testing.T) {
	idp := &fakeIdP{ttl: 6 * time.Second}
	a := startAgent(t, Config{Fresh: idp.fresh}, newMemVault())
	ctx := context.Background()
	first, err := a.client.Fresh(ctx, Want{Provider: "corp", MinTTL: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := a.client.Status(ctx)
	if len(st.Identities) != 1 || st.Identities[0].Ahead.IsZero() || !st.Identities[0].Ahead.Before(first.Expiry) {
		t.Fatalf("no refresh ahead scheduled: %+v", st.Identities)
	}
	deadline := time.Now().Add(10 * time.Second)
	for idp.refreshes.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if idp.refreshes.Load() < 2 {
		t.Fatal("no refresh ahead of expiry happened")
	}
	rec, err := a.client.Fresh(ctx, Want{Provider: "corp", MinTTL: time.Second})
	if err != nil || rec.AccessToken == first.AccessToken {
		t.Errorf("after the refresh ahead: %v, %v", rec, err)
	}
	if st, _ := a.client.Status(ctx); st.Refreshes < 2 {
		t.Errorf("status counts %d refreshes", st.Refreshes)
	}
}

func TestBadRequestsOnTheWire(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	for _, tt := range []struct{ send, code string }{
		{"not json\n", CodeBadRequest},
		{`{"v":9,"op":"get"}` + "\n", CodeVersion},
		{`{"v":1,"op":"rm -rf"}` + "\n", CodeBadRequest},
	} {
		c, err := net.Dial("unix", a.client.Path)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(tt.send)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		c.Close()
		var resp Response
		resp, _ = DecodeResponse([]byte(strings.TrimSpace(string(buf[:n]))))
		if resp.Error == nil || resp.Error.Code != tt.code || resp.V != Version {
			t.Errorf("%q answered %s", tt.send, buf[:n])
		}
	}
}

func TestStop(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	if err := a.client.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.srv.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not end the agent")
	}
	a.srv.Close()
	if _, err := a.client.Status(context.Background()); !errors.Is(err, ErrNotRunning) {
		t.Errorf("status after stop: %v, want ErrNotRunning", err)
	}
}

// TestShortLivedTokensNoStampede: tokens that live shorter than the
// callers' MinTTL are refreshed once for a burst of callers, not once per
// caller that just missed the refresh.
func TestShortLivedTokensNoStampede(t *testing.T) {
	idp := &fakeIdP{ttl: 30 * time.Second, delay: 50 * time.Millisecond}
	a := startAgent(t, Config{Fresh: idp.fresh}, newMemVault())
	for i := range 5 {
		rec, err := a.client.Fresh(context.Background(), Want{Provider: "corp", MinTTL: time.Minute})
		if err != nil || rec.AccessToken != "at-1" {
			t.Fatalf("caller %d: %v, %v", i, rec, err)
		}
	}
	if r := idp.refreshes.Load(); r != 1 {
		t.Errorf("%d refreshes for callers one after another, want 1", r)
	}
	// A write through the agent (a sign-in, a logout) makes that result
	// stale: the next caller reads the vault again.
	if err := a.client.Vault().Delete("corp/sub"); err != nil {
		t.Fatal(err)
	}
	if rec, err := a.client.Fresh(context.Background(), Want{Provider: "corp", MinTTL: time.Minute}); err != nil || rec.AccessToken != "at-2" {
		t.Errorf("after a delete: %v, %v; want a new refresh", rec, err)
	}
}

// TestForwardedRequestSize: a forwarded connection cannot make the agent
// buffer a vault-sized message.
func TestForwardedRequestSize(t *testing.T) {
	a := startAgent(t, Config{Fresh: (&fakeIdP{}).fresh}, newMemVault())
	big := Request{Op: OpStatus, Key: strings.Repeat("k", 2*maxForwardedMessage)} // status ignores the key
	if _, err := a.fwd.Do(context.Background(), big); !errors.Is(err, ErrUsage) {
		t.Errorf("a %d-byte forwarded request: %v, want a bad_request refusal", 2*maxForwardedMessage, err)
	}
	if _, err := a.client.Do(context.Background(), big); err != nil {
		t.Errorf("the same request locally: %v", err)
	}
}
