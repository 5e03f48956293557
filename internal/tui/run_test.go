package tui

import (
	"bytes"
	"context"
	"errors"
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
