package tui

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/accounts"
)

// panicBackend fails in the worst way on the first read.
type panicBackend struct{ fakeBackend }

func (*panicBackend) Load() (*accounts.State, error) { panic("backend bug") }

// lockedBuffer is the terminal's output, written by the program.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// blockingReader is a keyboard nobody types on.
type blockingReader struct{ done chan struct{} }

func (r blockingReader) Read([]byte) (int, error) {
	<-r.done
	return 0, errors.New("closed")
}

func TestRunRestoresTheTerminalAfterAPanic(t *testing.T) {
	out := &lockedBuffer{}
	keys := blockingReader{done: make(chan struct{})}
	defer close(keys.done)
	err := Run(context.Background(), &panicBackend{}, Options{In: keys, Out: out, Getenv: func(string) string { return "" }})
	if !errors.Is(err, ErrCrashed) || !strings.Contains(err.Error(), "(backend bug); the terminal was restored") {
		t.Fatalf("Run returned %v, want ErrCrashed naming the panic", err)
	}
	screen := out.String()
	enter, leave := strings.Index(screen, "\x1b[?1049h"), strings.LastIndex(screen, "\x1b[?1049l")
	if enter < 0 || leave < enter {
		t.Errorf("the alternate screen was not left: %q", screen)
	}
	if hide, show := strings.LastIndex(screen, "\x1b[?25l"), strings.LastIndex(screen, "\x1b[?25h"); show < 0 || show < hide {
		t.Errorf("the cursor was left hidden: %q", screen)
	}
}

func TestRunEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	keys := blockingReader{done: make(chan struct{})}
	defer close(keys.done)
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, newFake(t), Options{In: keys, Out: out, Getenv: func(string) string { return "" }, Now: func() time.Time { return testNow }})
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end with its context")
	}
}

// screenWatch is a terminal's output that tells when some text first
// shows up on it.
type screenWatch struct {
	lockedBuffer
	want  string
	shown chan struct{}
	once  sync.Once
}

func newScreenWatch(want string) *screenWatch {
	return &screenWatch{want: want, shown: make(chan struct{})}
}

func (s *screenWatch) Write(p []byte) (int, error) {
	n, err := s.lockedBuffer.Write(p)
	if strings.Contains(s.String(), s.want) {
		s.once.Do(func() { close(s.shown) })
	}
	return n, err
}

// typist types keys all at once, as one read, when the screen has shown
// what it waits for; then nobody types any more.
type typist struct {
	shown <-chan struct{}
	keys  string
	typed bool
	done  chan struct{}
}

func (k *typist) Read(p []byte) (int, error) {
	if k.typed {
		<-k.done
		return 0, errors.New("closed")
	}
	select {
	case <-k.shown:
	case <-k.done:
		return 0, errors.New("closed")
	}
	k.typed = true
	return copy(p, k.keys), nil
}

// TestKeysTypedTogether: keys that reach the program in one read (typed
// faster than it reads, or pasted by tmux send-keys) each count: j j moves
// to bob's first identity, l opens the picker for bob, q quits.
func TestKeysTypedTogether(t *testing.T) {
	out := newScreenWatch("needs sign-in")
	keys := &typist{shown: out.shown, keys: "jjlq", done: make(chan struct{})}
	defer close(keys.done)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := testOptions(&syncBuffer{})
	opts.In, opts.Out = keys, out
	if err := Run(ctx, newFake(t), opts); err != nil {
		t.Fatalf("Run: %v\n%q", err, out.String())
	}
	if !strings.Contains(out.String(), "Link a provider to account bob") {
		t.Errorf("the picker for bob was not drawn:\n%q", out.String())
	}
}

// TestRunColors: what reaches the terminal is coloured only when the
// environment allows it, and NO_COLOR wins even when colour is forced.
func TestRunColors(t *testing.T) {
	sgr := regexp.MustCompile(`\x1b\[[0-9;:]+m`) // a style with attributes
	tests := []struct {
		name    string
		env     map[string]string
		colored bool
	}{
		{"forced colour", map[string]string{"TERM": "xterm-256color", "CLICOLOR_FORCE": "1"}, true},
		{"NO_COLOR wins", map[string]string{"TERM": "xterm-256color", "CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, false},
		{"not a terminal", map[string]string{"TERM": "xterm-256color"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := newScreenWatch("needs sign-in")
			keys := &typist{shown: out.shown, keys: "q", done: make(chan struct{})}
			defer close(keys.done)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			opts := testOptions(&syncBuffer{})
			opts.In, opts.Out = keys, out
			opts.Getenv = func(k string) string { return tt.env[k] }
			if err := Run(ctx, newFake(t), opts); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := sgr.MatchString(out.String()); got != tt.colored {
				t.Errorf("styled output: %t, want %t:\n%q", got, tt.colored, out.String())
			}
		})
	}
}
