package tokens

import (
	"strings"
	"testing"
	"time"

	"github.com/authcli/authcli/internal/vault"
)

// BenchmarkFreshCached is the hot path of `authcli token` after process
// start: one vault read and decode, no lock, no network.
func BenchmarkFreshCached(b *testing.B) {
	key, _ := vault.KeyFromBytes(make([]byte, 32))
	v, err := vault.OpenFile(b.TempDir(), key)
	if err != nil {
		b.Fatal(err)
	}
	rec := Record{AccessToken: strings.Repeat("a", 1200), RefreshToken: "rt", IDToken: strings.Repeat("i", 1500), Expiry: time.Now().Add(time.Hour)}
	enc, _ := rec.Encode()
	if err := v.Set("bench/user", enc); err != nil {
		b.Fatal(err)
	}
	src := &Source{Vault: v, LockDir: b.TempDir()}
	b.ReportAllocs()
	for b.Loop() {
		rec, err := src.Read("bench/user")
		if err != nil || !src.Usable(rec, Want{MinTTL: time.Minute}) {
			b.Fatal("not usable", err)
		}
	}
}
