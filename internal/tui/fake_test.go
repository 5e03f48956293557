package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/authcli/authcli/internal/accounts"
)

// testNow is the fixed clock of every test.
var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// fakeBackend keeps the accounts in memory and applies changes with the
// accounts package's own rules, like the real one. Hooks let a test block
// an action, fail it, or play the sign-in.
type fakeBackend struct {
	mu        sync.Mutex
	state     *accounts.State
	providers []Provider
	loadErr   error
	token     string
	calls     []string

	// link and signIn play the browser sign-in; nil succeeds at once.
	link    func(ctx context.Context, show func(SignInPrompt)) error
	signIn  func(ctx context.Context, show func(SignInPrompt)) error
	unlink  func(ctx context.Context) error // runs after the state changed
	refresh func(ctx context.Context) error
	// unlinkErr replaces the accounts rule's answer (a race with another
	// authcli, or a revocation failure).
	unlinkErr error
}

func (f *fakeBackend) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeBackend) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Load() (*accounts.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loadErr != nil {
		return nil, f.loadErr
	}
	return f.state.Clone(), nil
}

func (f *fakeBackend) Providers() ([]Provider, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Provider(nil), f.providers...), nil
}

func (f *fakeBackend) Link(ctx context.Context, provider, account string, show func(SignInPrompt)) error {
	f.mu.Lock()
	f.record("link %s %s", provider, account)
	hook := f.link
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, show); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state.Link(signInFor(provider, "linked-"+provider, "grace@example.com", testNow.Add(time.Hour)), account, testNow)
}

func (f *fakeBackend) SignIn(ctx context.Context, provider, account string, show func(SignInPrompt)) error {
	f.mu.Lock()
	f.record("signin %s %s", provider, account)
	hook := f.signIn
	f.mu.Unlock()
	if hook != nil {
		return hook(ctx, show)
	}
	return nil
}

func (f *fakeBackend) Unlink(ctx context.Context, account, provider, subject string) error {
	f.mu.Lock()
	f.record("unlink %s %s %s", account, provider, subject)
	if f.unlinkErr != nil && !errors.Is(f.unlinkErr, errRevocationForTest) {
		defer f.mu.Unlock()
		return f.unlinkErr
	}
	_, err := f.state.Unlink(account, provider, subject)
	hook := f.unlink
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if hook != nil {
		return hook(ctx)
	}
	return f.unlinkErr
}

func (f *fakeBackend) Refresh(ctx context.Context, provider, account string) error {
	f.mu.Lock()
	f.record("refresh %s %s", provider, account)
	hook := f.refresh
	f.mu.Unlock()
	if hook != nil {
		if err := hook(ctx); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, id, err := f.state.Find(provider, account)
	if err != nil {
		return err
	}
	return f.state.RecordRefresh(provider, id.Subject, testNow.Add(2*time.Hour), true, nil, testNow)
}

func (f *fakeBackend) SetDefault(account string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("default %s", account)
	return f.state.SetDefault(account)
}

func (f *fakeBackend) AccessToken(_ context.Context, provider, account string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("token %s %s", provider, account)
	return f.token, nil
}

// errRevocationForTest marks an unlinkErr that the fake returns after
// unlinking, like a failed revocation.
var errRevocationForTest = errors.New("test revocation failure")

func signInFor(provider, subject, email string, expiry time.Time) accounts.SignIn {
	return accounts.SignIn{
		Provider: provider,
		Profile: accounts.Profile{
			Subject: subject, Email: email, EmailVerified: true, Name: "Test Person",
			Claims: map[string]any{"email": email, "sub": subject, "email_verified": true},
		},
		Scopes:      []string{"openid", "email", "profile", "offline_access"},
		TokenExpiry: expiry,
		Refreshable: true,
	}
}

// testState is two accounts: ada (default) with a valid identity at first
// and an expiring one at second; bob with one identity that needs a
// sign-in and one whose token expired.
func testState(t *testing.T) *accounts.State {
	t.Helper()
	st := &accounts.State{Version: accounts.SchemaVersion}
	create := func(in accounts.SignIn, account string) {
		in.Account = account
		if err := st.Apply(in, st.Resolve(in), testNow.Add(-24*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	link := func(in accounts.SignIn, account string) {
		if err := st.Link(in, account, testNow.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	create(signInFor("first", "ada-1", "ada@example.com", testNow.Add(59*time.Minute)), "ada")
	link(signInFor("second", "ada-2", "ada@example.com", testNow.Add(4*time.Minute)), "ada")
	create(signInFor("first", "bob-1", "bob@example.com", testNow.Add(time.Hour)), "bob")
	expired := signInFor("second", "bob-2", "bob@example.com", testNow.Add(-time.Minute))
	expired.Refreshable = false
	link(expired, "bob")
	if err := st.MarkNeedsSignIn("first", "bob-1"); err != nil {
		t.Fatal(err)
	}
	return st
}

func testProviders() []Provider {
	return []Provider{
		{Name: "first", DisplayName: "First IdP", Ready: true},
		{Name: "second", DisplayName: "Second IdP", Ready: true},
		{Name: "third", DisplayName: "Third IdP", Ready: false, Problem: "client_id is not set"},
		{Name: "fourth", DisplayName: "Fourth IdP", Ready: true},
	}
}

func newFake(t *testing.T) *fakeBackend {
	return &fakeBackend{state: testState(t), providers: testProviders(), token: "tok-SECRET-123"}
}

// syncBuffer is a clipboard the test reads while commands write to it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testOptions(clip *syncBuffer) Options {
	return Options{
		Out:       &strings.Builder{},
		Clipboard: clip,
		Getenv:    func(k string) string { return map[string]string{"NO_COLOR": "1"}[k] },
		Now:       func() time.Time { return testNow },
	}
}

// harness drives the root model the way bubbletea does, without a
// terminal: Update on the test goroutine, commands on their own
// goroutines, their messages back through a channel. Spinner frames are
// dropped so the views are stable.
type harness struct {
	t     *testing.T
	m     *Model
	f     *fakeBackend
	clip  *syncBuffer
	msgs  chan tea.Msg
	quit  bool
	loads int      // accountsLoadedMsg delivered
	views []string // every view drawn, to check nothing secret ever was
}

func newHarness(t *testing.T, f *fakeBackend) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	clip := &syncBuffer{}
	h := &harness{t: t, f: f, clip: clip, msgs: make(chan tea.Msg, 64)}
	h.m = New(ctx, f, testOptions(clip))
	h.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.run(h.m.load())
	h.waitFor("the accounts to load", func() bool { return h.m.loaded })
	return h
}

func (h *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	go func() {
		msg := cmd()
		if batch, ok := msg.(tea.BatchMsg); ok {
			for _, c := range batch {
				h.run(c)
			}
			return
		}
		if msg != nil {
			h.msgs <- msg
		}
	}()
}

func (h *harness) send(msg tea.Msg) {
	if _, ok := msg.(spinTickedMsg); ok {
		return
	}
	if _, ok := msg.(tea.QuitMsg); ok {
		h.quit = true
		return
	}
	if _, ok := msg.(accountsLoadedMsg); ok {
		h.loads++
	}
	_, cmd := h.m.Update(msg)
	h.views = append(h.views, h.m.View().Content)
	h.run(cmd)
}

// key sends one key press: a character, or a special key by its name.
func (h *harness) key(k string) {
	h.send(keyPress(k))
}

// keyPress is the message Bubble Tea v2 sends for one key: a character,
// or a special key by its name.
func keyPress(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	if len(r) != 1 {
		panic("keyPress: one character or a key name, not " + k)
	}
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// waitFor delivers messages until cond holds, failing after a bounded wait.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	poll := time.NewTicker(5 * time.Millisecond) // for conditions no message announces
	defer poll.Stop()
	for !cond() {
		select {
		case msg := <-h.msgs:
			h.send(msg)
		case <-poll.C:
		case <-deadline:
			h.t.Fatalf("timed out waiting for %s; screen:\n%s", what, h.view())
		}
	}
}

// waitIdle waits until the running action ended and the accounts were
// read again to show its result.
func (h *harness) waitIdle() {
	h.t.Helper()
	start := h.loads
	h.waitFor("the action to end", func() bool { return h.m.busy == nil && h.loads > start })
}

func (h *harness) view() string { return h.m.View().Content }

func (h *harness) mustShow(wants ...string) {
	h.t.Helper()
	v := h.view()
	flat := strings.Join(strings.Fields(v), " ")
	for _, w := range wants {
		if !strings.Contains(v, w) && !strings.Contains(flat, strings.Join(strings.Fields(w), " ")) {
			h.t.Errorf("the screen does not show %q:\n%s", w, v)
		}
	}
}

func (h *harness) mustNotShow(wants ...string) {
	h.t.Helper()
	v := h.view()
	for _, w := range wants {
		if strings.Contains(v, w) {
			h.t.Errorf("the screen shows %q:\n%s", w, v)
		}
	}
}

// listed reports whether the list shows the identity.
func (h *harness) listed(account, provider, subject string) bool {
	want := identityRef{account: account, provider: provider, subject: subject}
	for _, r := range h.m.list.rows {
		if !r.header && r.ref() == want {
			return true
		}
	}
	return false
}

// selectIdentity puts the cursor on one identity.
func (h *harness) selectIdentity(account, provider, subject string) {
	h.t.Helper()
	want := identityRef{account: account, provider: provider, subject: subject}
	for i, r := range h.m.list.rows {
		if !r.header && r.ref() == want {
			h.m.list.cursor = i
			return
		}
	}
	h.t.Fatalf("identity %v is not in the list:\n%s", want, h.view())
}
