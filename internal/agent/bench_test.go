package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFreshCached is one cached `fresh` round trip over the socket:
// dial, request, the server's flight, answer. The refresh function is a
// cached read of an in-memory vault, so this is the agent's own cost.
func BenchmarkFreshCached(b *testing.B) {
	idp := &fakeIdP{}
	srv := NewServer(Config{Fresh: idp.fresh, Open: nil}, newMemVault())
	d, err := os.MkdirTemp("", "agb")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(d) })
	ln, err := Listen(filepath.Join(d, "s", SocketName))
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln, false)
	b.Cleanup(func() { srv.Close() })
	c := &Client{Path: ln.Addr().String()}
	ctx := context.Background()
	if _, err := c.Fresh(ctx, Want{Provider: "corp", MinTTL: time.Minute}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Fresh(ctx, Want{Provider: "corp", MinTTL: time.Minute}); err != nil {
			b.Fatal(err)
		}
	}
}
