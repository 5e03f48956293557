package cli

import (
	"time"

	"github.com/spf13/cobra"
)

type demoOptions struct {
	*globalOptions
	User  string
	Serve bool
	Addr  string
	TTL   time.Duration
}

func newDemoCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &demoOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Try a real sign-in offline, against an embedded OpenID provider",
		Long: `Starts an OpenID provider inside authcli, on 127.0.0.1 only, and runs the real
browser sign-in against it: PKCE, state, nonce, the loopback redirect, the code
exchange, ID token and userinfo verification.

The browser opens the demo provider's page, where you pick a demo user and
allow access. With no browser on this machine, authcli plays the browser's
part itself and says so.`,
		Example: "  authcli demo\n  authcli demo --user grace@example.com\n  authcli demo --device\n  authcli demo --no-browser",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), env, opts)
		},
	}
	cmd.Flags().StringVar(&opts.User, "user", "", "demo user to sign in as when authcli plays the browser (ada@example.com, grace@example.com, alan@example.com); with --serve, approve every device code as this user")
	addDeviceFlag(cmd, g)
	cmd.Flags().BoolVar(&opts.Serve, "serve", false, "only run the demo provider until Ctrl-C, to try login, status and logout with a config")
	cmd.Flags().StringVar(&opts.Addr, "addr", "127.0.0.1:0", "with --serve: loopback address for the demo provider")
	cmd.Flags().DurationVar(&opts.TTL, "access-token-ttl", time.Hour, "lifetime of the demo provider's access tokens (short ones let you watch refreshes)")
	return cmd
}
