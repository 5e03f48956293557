package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/flow"
)

type loginOptions struct {
	*globalOptions
	Provider string
}

func newLoginCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &loginOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "login [PROVIDER]",
		Short: "Sign in to a provider in the browser",
		Long: `Sign in to a configured provider: authcli opens the provider's page in your
browser (authorization code with PKCE) and receives the answer on a loopback
address of this machine. PROVIDER defaults to default_provider in the config.`,
		Example: "  authcli login corp\n  authcli login --no-browser corp\n  authcli login corp --device",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			return runLogin(cmd.Context(), env, opts)
		},
	}
	addDeviceFlag(cmd, g)
	return cmd
}

func addDeviceFlag(cmd *cobra.Command, g *globalOptions) {
	cmd.Flags().BoolVar(&g.Device, "device", false, "sign in with a code entered on another device (RFC 8628), for SSH sessions and machines without a browser")
}

func runLogin(ctx context.Context, env *Env, opts *loginOptions) error {
	return signInAndSave(ctx, env, opts.globalOptions, opts.Provider, "")
}

// signInAndSave is login and link: one use-case call, then the summary.
// linkTo names the account for an explicit link.
func signInAndSave(ctx context.Context, env *Env, g *globalOptions, provider, linkTo string) error {
	if err := g.validate(); err != nil {
		return err
	}
	svc, err := newService(env, g)
	if err != nil {
		return err
	}
	in := signInRequest(env, g, signInPlan{device: g.Device, autoDevice: env.Open == nil})
	if !g.NoBrowser {
		in.Open = env.opener()
	}
	in.Provider, in.Account, in.LinkTo = provider, g.Account, linkTo
	in.Confirm = confirmLink(env, g)
	done, err := svc.SignIn(ctx, in)
	if err != nil {
		return err
	}
	printSignedIn(env.Out, done.Provider.DisplayName, done.Result, env.now())
	if done.NoOfflineToken {
		fmt.Fprintf(env.Err, "Warning: the provider gave no refresh token although offline access was asked for, so authcli token will need a new sign-in when this access token expires; allow offline access for the client at the provider (or set auth_params.prompt = \"consent\" for %s).\n", done.Provider.Name)
	}
	fmt.Fprintln(env.Err, describeOutcome(done.Resolution, done.Provider.Name, done.State))
	return nil
}

// printSignedIn writes the human summary of a sign-in. Never a token.
func printSignedIn(w io.Writer, providerName string, res *flow.Result, now time.Time) {
	p := res.Profile
	who := oneLine(p.Name)
	if p.Email != "" {
		if who != "" {
			who += " <" + oneLine(p.Email) + ">"
		} else {
			who = oneLine(p.Email)
		}
	}
	if who == "" {
		who = "subject " + oneLine(p.Subject)
	}
	fmt.Fprintf(w, "Signed in to %s as %s.\n", providerName, who)
	fmt.Fprintf(w, "  subject:  %s\n", oneLine(p.Subject))
	if p.Email != "" {
		verified := "not verified"
		if p.EmailVerified {
			verified = "verified"
		}
		fmt.Fprintf(w, "  email:    %s (%s)\n", oneLine(p.Email), verified)
	}
	if p.AvatarURL != "" {
		fmt.Fprintf(w, "  avatar:   %s\n", oneLine(p.AvatarURL))
	}
	if len(res.Scopes) > 0 {
		fmt.Fprintf(w, "  scopes:   %s\n", oneLine(strings.Join(res.Scopes, " ")))
	}
	if exp := res.Token.Expiry; !exp.IsZero() {
		fmt.Fprintf(w, "  expires:  %s (in %s)\n", exp.UTC().Format(time.RFC3339), exp.Sub(now).Round(time.Second))
	} else {
		fmt.Fprintln(w, "  expires:  never (the provider gave no expiry)")
	}
	refresh := "no"
	if res.Token.RefreshToken != "" {
		refresh = "yes"
	}
	fmt.Fprintf(w, "  refresh:  %s\n", refresh)
}
