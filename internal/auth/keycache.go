package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/authcli/authcli/internal/atomicfile"
)

// fileKeyCache keeps providers' JWKS documents in the state directory, one
// file per URL, so a refresh in a new process needs no key fetch while the
// provider's cache headers allow. Keys are public; the cache only saves a
// round trip, and a damaged or unreadable entry is a miss, never an error.
// A key the cache lacks is still found: an unknown kid fetches again.
type fileKeyCache struct {
	dir string
}

type keyCacheEntry struct {
	URL     string          `json:"url"`
	Expires time.Time       `json:"expires"`
	Doc     json.RawMessage `json:"doc"`
}

func (c *fileKeyCache) path(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(c.dir, "jwks-"+hex.EncodeToString(sum[:16])+".json")
}

func (c *fileKeyCache) Get(url string, now time.Time) ([]byte, bool) {
	b, err := os.ReadFile(c.path(url))
	if err != nil {
		return nil, false
	}
	var e keyCacheEntry
	if json.Unmarshal(b, &e) != nil || e.URL != url || !now.Before(e.Expires) {
		return nil, false
	}
	return e.Doc, true
}

func (c *fileKeyCache) Put(url string, doc []byte, expires time.Time) {
	if !json.Valid(doc) {
		return
	}
	b, err := json.Marshal(keyCacheEntry{URL: url, Expires: expires.UTC(), Doc: doc})
	if err != nil || os.MkdirAll(c.dir, 0o700) != nil {
		return
	}
	_ = atomicfile.Write(c.path(url), "jwks-*.tmp", b)
}
