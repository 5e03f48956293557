package tui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/tui"
)

// memoryBackend is the smallest Backend: one account, nothing to change.
type memoryBackend struct{ st *accounts.State }

func (b memoryBackend) Load() (*accounts.State, error) { return b.st.Clone(), nil }
func (b memoryBackend) Providers() ([]tui.Provider, error) {
	return []tui.Provider{{Name: "corp", DisplayName: "Corp SSO", Ready: true}}, nil
}
func (memoryBackend) Link(context.Context, string, string, func(tui.SignInPrompt)) error { return nil }
func (memoryBackend) SignIn(context.Context, string, string, func(tui.SignInPrompt)) error {
	return nil
}
func (memoryBackend) Unlink(context.Context, string, string, string) error { return nil }
func (memoryBackend) Refresh(context.Context, string, string) error        { return nil }
func (memoryBackend) SetDefault(string) error                              { return nil }
func (memoryBackend) AccessToken(context.Context, string, string) (string, error) {
	return "", nil
}

// screen records what the TUI draws and reports when text first shows up.
type screen struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  []byte
	shown chan struct{}
	once  sync.Once
}

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	if bytes.Contains(s.buf.Bytes(), s.want) {
		s.once.Do(func() { close(s.shown) })
	}
	return len(p), nil
}

// keysAfter types keys once the screen has shown what the person waits for.
type keysAfter struct {
	shown <-chan struct{}
	keys  io.Reader
}

func (k keysAfter) Read(p []byte) (int, error) {
	<-k.shown
	return k.keys.Read(p)
}

// Run drives the accounts screen with any Backend; here a person waits for
// their account to be listed and presses q.
func ExampleRun() {
	st := &accounts.State{Version: accounts.SchemaVersion}
	in := accounts.SignIn{Provider: "corp", Profile: accounts.Profile{Subject: "42", Email: "alice@example.com"}, Account: "alice"}
	if err := st.Apply(in, st.Resolve(in), time.Now()); err != nil {
		fmt.Println(err)
		return
	}
	out := &screen{want: []byte("alice@example.com"), shown: make(chan struct{})}
	err := tui.Run(context.Background(), memoryBackend{st}, tui.Options{
		In:     keysAfter{shown: out.shown, keys: bytes.NewBufferString("q")},
		Out:    out,
		Getenv: func(string) string { return "" },
	})
	fmt.Println("listed with the provider's display name:", bytes.Contains(out.buf.Bytes(), []byte("Corp SSO")))
	fmt.Println("quit:", err)
	// Output:
	// listed with the provider's display name: true
	// quit: <nil>
}
