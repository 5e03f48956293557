package cli

import (
	"github.com/spf13/cobra"
)

func newAccountsCmd(env *Env, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "accounts",
		Short: "Manage accounts interactively: link, unlink, refresh, choose the default",
		Long: `Opens the accounts screen: every account with its identities and their token
health. From there you can link a provider to an account, unlink an identity,
refresh tokens now, sign in again, make an account the default, and copy an
access token to the clipboard (OSC 52; it is never shown). Press ? for keys.
Bare authcli opens it too when run on a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAccounts(cmd.Context(), env, g)
		},
	}
}
