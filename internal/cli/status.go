package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/termtext"
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
	// Status reads accounts.json only: it holds no secrets, so a locked
	// keyring is no reason to fail.
	dir, err := config.StateDir(env.Getenv)
	if err != nil {
		return &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	st, err := accounts.OpenStore(dir).Load()
	if err != nil {
		return err
	}
	now := env.now()
	if opts.JSON {
		b, err := st.StatusJSON(now)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(env.Out, string(b))
		return err
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", id.Provider, termtext.Line(orSubject(id)), healthText(id, now))
		}
	}
	return tw.Flush()
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
