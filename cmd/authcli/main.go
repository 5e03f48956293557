// Command authcli signs developers in to OAuth 2.0 and OpenID Connect
// providers from the terminal. See README.md and internal/cli.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/authcli/authcli/internal/cli"
)

// Stamped by goreleaser through -ldflags "-X main.version=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := cli.OSEnv(cli.BuildInfo{Version: version, Commit: commit, Date: date})
	var code int
	// One binary: installed as docker-credential-authcli (a link), it is
	// docker's credential helper.
	if cli.IsDockerCredentialHelper(os.Args[0]) {
		code = cli.RunDockerCredential(ctx, env, os.Args[1:])
	} else {
		code = cli.Run(ctx, env, os.Args[1:])
	}
	stop()
	os.Exit(code)
}
