package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

type unlinkOptions struct {
	*globalOptions
	Provider string
	Subject  string
}

func newUnlinkCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &unlinkOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "unlink PROVIDER [--subject SUB] [--account NAME]",
		Short: "Remove an identity from its account and revoke its tokens",
		Long: `Removes one identity from an account, revokes its tokens at the provider when
the provider allows it, and deletes them locally (even if the revocation fails).
An account's last identity cannot be unlinked: use logout instead.`,
		Example: "  authcli unlink github --account alice",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Provider = args[0]
			return runUnlink(cmd.Context(), env, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Subject, "subject", "", "subject of the identity, when the account has several of that provider")
	return cmd
}

func runUnlink(ctx context.Context, env *Env, opts *unlinkOptions) error {
	svc, err := newService(env, opts.globalOptions)
	if err != nil {
		return err
	}
	id, err := svc.Unlink(ctx, opts.Account, opts.Provider, opts.Subject)
	if id.Provider == "" {
		return err
	}
	who := id.Email
	if who == "" {
		who = id.Subject
	}
	fmt.Fprintf(env.Err, "Unlinked the %s identity %s; its local tokens were deleted.\n", id.Provider, oneLine(who))
	warnRevocation(env, err)
	return nil
}
