package cli

import (
	"testing"
	"time"

	"github.com/authcli/authcli/internal/config"
)

// TestPreload: the detached refresh's config load starts before anyone
// asks for it, runs once, and every caller gets its result.
func TestPreload(t *testing.T) {
	started := make(chan struct{})
	calls := 0
	want := &config.File{Path: "config.toml"}
	get := preload(func() (*config.File, error) {
		calls++
		close(started)
		return want, nil
	})
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the load had not started 10 s after preload returned")
	}
	for range 2 {
		if f, err := get(); f != want || err != nil {
			t.Fatalf("get = %v, %v; want the loaded file", f, err)
		}
	}
	if calls != 1 {
		t.Errorf("the config was loaded %d times", calls)
	}
}
