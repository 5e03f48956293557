// Command authcli signs developers in to OAuth 2.0 and OpenID Connect
// providers from the terminal. See README.md and internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/authcli/authcli/internal/cli"
	"github.com/authcli/authcli/internal/nodump"
)

// Stamped by goreleaser through -ldflags "-X main.version=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	// Before anything reads the vault key or a token. Failing is not fatal:
	// some sandboxes forbid prctl, and refusing to run there helps nobody.
	_ = nodump.Apply()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.OSEnv(cli.BuildInfo{Version: version, Commit: commit, Date: date}), os.Args[1:])
	stop()
	os.Exit(code)
}
