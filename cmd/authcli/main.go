// Command authcli signs developers in to OAuth 2.0 and OpenID Connect
// providers from the terminal. See README.md and internal/cli.
package main

import (
	"context"
	"os"

	"github.com/authcli/authcli/internal/cli"
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
	code := cli.Run(context.Background(), cli.OSEnv(cli.BuildInfo{Version: version, Commit: commit, Date: date}), os.Args[1:])
	os.Exit(code)
}
