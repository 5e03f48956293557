package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/vault"
)

type statusOptions struct {
	*globalOptions
	JSON bool
}

func newStatusCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &statusOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show accounts, identities and token health",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return runStatus(env, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON for scripts (fields documented in README)")
	return cmd
}

func runStatus(env *Env, opts *statusOptions) error {
	// A config file that cannot be used breaks every other command, so
	// status says so too (exit 2); having none yet is fine.
	if _, err := opts.loadConfig(env); err != nil && !(errors.Is(err, config.ErrNotFound) && opts.usesDefaultConfig(env)) {
		return err
	}
	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	st, err := accounts.OpenStore(dir).Load()
	if err != nil {
		return err
	}
	// accounts.json holds the health; the vault holds the tokens. When the
	// vault cannot be read, no token works whatever the health says, and
	// signing in again would not help: say that, and exit 5.
	var vaultErr error
	if len(st.Accounts) > 0 {
		vaultErr = checkVault(env, dir)
	}
	now := env.now()
	if opts.JSON {
		b, err := st.StatusJSON(now)
		if err != nil {
			return err
		}
		if _, err = fmt.Fprintln(env.Out, string(b)); err != nil {
			return err
		}
		return vaultErr
	}
	if len(st.Accounts) == 0 {
		fmt.Fprintln(env.Err, "No accounts yet; sign in with: authcli login PROVIDER")
		return nil
	}
	tw := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
	for i, a := range st.Accounts {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		def := ""
		if a.Name == st.Default {
			def = " (default)"
		}
		fmt.Fprintf(tw, "%s%s\n", a.Name, def)
		for _, id := range a.Identities {
			health := healthText(id, now)
			if vaultErr != nil {
				health = "tokens unreadable: the token vault cannot be used"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", id.Provider, termtext.Line(orSubject(id)), health)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return vaultErr
}

// usesDefaultConfig says the config path is the XDG default, which need
// not exist; a file named by --config or $AUTHCLI_CONFIG must.
func (g *globalOptions) usesDefaultConfig(env *Env) bool {
	return g.ConfigPath == "" && env.Getenv("AUTHCLI_CONFIG") == ""
}

// checkVault opens the vault as the other commands do, without reading a
// token, and returns the vault error they would give. With an agent the
// vault is the agent's, and a forwarded agent answers token requests only:
// status then reads accounts.json alone, as it always did.
func checkVault(env *Env, dir string) error {
	if agentClient(env) != nil {
		return nil
	}
	v, err := vault.Open(env.Getenv, dir)
	if err == nil {
		_, err = v.List("")
	}
	if err != nil {
		return vaultError(err)
	}
	return nil
}

// healthText is token health for people: "valid, expires in 52m".
func healthText(id accounts.Identity, now time.Time) string {
	switch id.Health(now, accounts.DefaultExpiringWithin) {
	case accounts.HealthNeedsSignIn:
		return "needs sign-in: authcli login " + id.Provider
	case accounts.HealthExpired:
		if id.Refreshable {
			return "expired (refreshes on next use)"
		}
		return "expired: authcli login " + id.Provider
	case accounts.HealthExpiring:
		return "expires in " + id.TokenExpiry.Sub(now).Round(time.Second).String()
	}
	if id.TokenExpiry.IsZero() {
		return "valid, no expiry"
	}
	return "valid, expires in " + id.TokenExpiry.Sub(now).Round(time.Minute).String()
}
