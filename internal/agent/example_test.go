package agent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/authcli/authcli/internal/agent"
	"github.com/authcli/authcli/internal/tokens"
	"github.com/authcli/authcli/internal/vault"
)

// An agent holding a file vault, and a client asking it for a token. The
// refresh is the caller's: here a function that makes one up; authcli
// passes its sign-in use case.
func Example() {
	dir, _ := os.MkdirTemp("", "agex")
	defer os.RemoveAll(dir)
	key, _ := vault.KeyFromBytes(make([]byte, vault.KeySize))
	v, _ := vault.OpenFile(filepath.Join(dir, "state"), key)

	srv := agent.NewServer(agent.Config{
		Open: func(agent.Secret) (vault.Vault, error) { return v, nil },
		Fresh: func(_ context.Context, _ vault.Vault, w agent.Want) (tokens.Record, error) {
			return tokens.Record{AccessToken: "token-for-" + w.Provider, Expiry: time.Now().Add(time.Hour)}, nil
		},
	}, v)
	sock := filepath.Join(dir, "run", agent.SocketName)
	ln, err := agent.Listen(sock) // 0600, in a 0700 directory
	if err != nil {
		fmt.Println(err)
		return
	}
	go srv.Serve(ln, false)
	defer srv.Close()

	c := &agent.Client{Path: sock}
	rec, err := c.Fresh(context.Background(), agent.Want{Provider: "github", MinTTL: time.Minute})
	fmt.Println(rec.AccessToken, err, rec.RefreshToken == "")

	_ = c.Vault().Set("github/1", []byte("kept by the agent"))
	b, _ := c.Vault().Get("github/1")
	fmt.Println(string(b))
	// Output:
	// token-for-github <nil> true
	// kept by the agent
}
