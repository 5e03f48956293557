package auth

import (
	"os"
	"testing"
	"time"
)

func TestFileKeyCache(t *testing.T) {
	c := &fileKeyCache{dir: t.TempDir() + "/cache"}
	now := time.Now()
	url := "https://login.example/jwks"
	if _, ok := c.Get(url, now); ok {
		t.Fatal("hit in an empty cache")
	}
	c.Put(url, []byte(`{"keys":[]}`), now.Add(time.Minute))
	if doc, ok := c.Get(url, now); !ok || string(doc) != `{"keys":[]}` {
		t.Fatalf("Get after Put: %q %t", doc, ok)
	}
	if _, ok := c.Get(url, now.Add(2*time.Minute)); ok {
		t.Error("an expired entry was served")
	}
	if _, ok := c.Get("https://other.example/jwks", now); ok {
		t.Error("another URL's entry was served")
	}
	c.Put("https://bad.example/jwks", []byte("not json"), now.Add(time.Minute))
	if _, ok := c.Get("https://bad.example/jwks", now); ok {
		t.Error("a document that is not JSON was cached")
	}
	if err := os.WriteFile(c.path(url), []byte("{damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(url, now); ok {
		t.Error("a damaged entry was served")
	}
	fi, err := os.Stat(c.dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode %v, %v; want 0700", fi.Mode().Perm(), err)
	}
}
