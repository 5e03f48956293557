package cli

import (
	"github.com/spf13/cobra"
)

func newLinkCmd(env *Env, g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "link PROVIDER --account NAME",
		Short: "Sign in to a provider and add that identity to an existing account",
		Long: `Runs the browser sign-in and links the resulting identity to account NAME.
An identity already linked to another account is refused: unlink it there first.`,
		Example: "  authcli link github --account alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.Account == "" {
				return usageErrorf("link needs --account NAME: the account the new identity joins (see authcli status)")
			}
			return signInAndSave(cmd.Context(), env, g, args[0], g.Account)
		},
	}
	addDeviceFlag(cmd, g)
	return cmd
}
