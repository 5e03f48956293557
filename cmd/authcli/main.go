// Command authcli signs developers in to OAuth 2.0 and OpenID Connect
// providers from the terminal. See README.md and internal/cli.
package main

import (
	"context"
	"os"

	"github.com/authcli/authcli/internal/cli"
	"github.com/authcli/authcli/internal/nodump"
)

// Stamped by goreleaser through -ldflags "-X main.version=…".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// main installs no signal handler: the cached `authcli token` path cannot
// afford one, and each command that has something to finish watches for
// signals itself (cli.Run).
func main() {
	// Before anything reads the vault key or a token. Failing is not fatal:
	// some sandboxes forbid prctl, and refusing to run there helps nobody.
	_ = nodump.Apply()
	env := cli.OSEnv(cli.BuildInfo{Version: version, Commit: commit, Date: date})
	var code int
	// One binary: installed as docker-credential-authcli (a link), it is
	// docker's credential helper.
	if cli.IsDockerCredentialHelper(os.Args[0]) {
		code = cli.RunDockerCredential(context.Background(), env, os.Args[1:])
	} else {
		code = cli.Run(context.Background(), env, os.Args[1:])
	}
	os.Exit(code)
}
