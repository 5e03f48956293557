package cli

import (
	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/credhelper/gitcred"
)

func newGitCredentialCmd(env *Env, g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "git-credential get|store|erase",
		Short: "Answer git's credential-helper protocol (set up by authcli setup-git)",
		Long: `git runs this as its credential helper once authcli setup-git has configured
it. For get it answers the hosts of the [git."HOST"] tables of the config with
the provider's fresh token, and stays silent for every other host so git asks
its next helper. store and erase never change authcli's tokens; an erase of
the token authcli handed out (the server refused it) refreshes it. Other
operations are ignored, as git asks of helpers.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"get", "store", "erase"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGitCredential(cmd, env, g, args[0])
		},
	}
}

func runGitCredential(cmd *cobra.Command, env *Env, g *globalOptions, action string) error {
	switch action {
	case "get", "store", "erase":
	default:
		return nil // gitcredentials(7): ignore operations added after us
	}
	routes, err := loadRoutes(env, g)
	if err != nil {
		return err
	}
	h := &gitcred.Helper{
		Routes:   helperRoutes(routes.Git),
		Tokens:   helperTokens(env, g),
		Rejected: rejectedToken(env, g),
	}
	return h.Serve(cmd.Context(), action, env.In, env.Out)
}
