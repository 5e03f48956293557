package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/tokens"
)

type tokenOptions struct {
	*globalOptions
	Provider string
	Subject  string
	IDToken  bool
	Format   string
	MinTTL   time.Duration
}

func newTokenCmd(env *Env, g *globalOptions) *cobra.Command {
	opts := &tokenOptions{globalOptions: g}
	return newTokenCmdRun(env, opts, runToken)
}

// newTokenCmdRun builds the command around run, so tests check what the
// flags fill in apart from running it (cli/cli's runF).
func newTokenCmdRun(env *Env, opts *tokenOptions, run func(context.Context, *Env, *tokenOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token [PROVIDER]",
		Short: "Print a fresh access token for scripts",
		Long: `Prints the identity's access token on stdout and nothing else, refreshing it
first when it expires within --min-ttl. Safe to run from many processes at
once: one refreshes, the others use its result. A refresh runs in a process
of its own, so interrupting or killing the caller never loses a rotated
refresh token.`,
		Example: "  curl -H \"Authorization: Bearer $(authcli token github)\" https://api.github.com/user\n" +
			"  eval \"$(authcli token corp --format env)\"",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			return run(cmd.Context(), env, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.IDToken, "id-token", false, "print the ID token instead of the access token")
	f.StringVar(&opts.Format, "format", "raw", "output: raw, json, env or exec-credential (kubectl)")
	f.DurationVar(&opts.MinTTL, "min-ttl", 60*time.Second, "refresh first when the token expires within this")
	f.StringVar(&opts.Subject, "subject", "", "subject of the identity, when the account has several of that provider")
	return cmd
}

func runToken(ctx context.Context, env *Env, opts *tokenOptions) error {
	switch opts.Format {
	case "raw", "json", "env":
	case formatExecCredential:
		return runTokenExecCredential(ctx, env, opts)
	default:
		return usageErrorf("--format must be raw, json, env or exec-credential, not %q", opts.Format)
	}
	if opts.MinTTL < 0 {
		return usageErrorf("--min-ttl cannot be negative")
	}
	rec, err := freshToken(ctx, env, opts.globalOptions, auth.Want{
		Provider: opts.Provider, Account: opts.Account, Subject: opts.Subject,
		MinTTL: opts.MinTTL, IDToken: opts.IDToken,
	})
	if err != nil {
		return err
	}
	return printToken(env.Out, rec, opts.Format, opts.IDToken)
}

// freshToken is `token` and `exec`'s one use-case call.
func freshToken(ctx context.Context, env *Env, g *globalOptions, want auth.Want) (tokens.Record, error) {
	if c := agentClient(env); c != nil {
		return freshFromAgent(ctx, c, want)
	}
	svc, err := newService(env, g)
	if err != nil {
		return tokens.Record{}, err
	}
	return svc.Fresh(ctx, want)
}

// printToken writes the token in the chosen format; nothing else goes to
// stdout.
func printToken(w io.Writer, rec tokens.Record, format string, idToken bool) error {
	value := rec.AccessToken
	if idToken {
		if rec.IDToken == "" {
			return auth.ErrNoIDToken
		}
		value = rec.IDToken
	}
	tokenType := rec.TokenType
	if tokenType == "" {
		tokenType = "Bearer"
	}
	switch format {
	case "json":
		out := struct {
			AccessToken string   `json:"access_token"`
			TokenType   string   `json:"token_type"`
			Expiry      string   `json:"expiry,omitempty"`
			Scopes      []string `json:"scopes"`
			IDToken     string   `json:"id_token,omitempty"`
		}{AccessToken: rec.AccessToken, TokenType: tokenType, Scopes: rec.Scopes, IDToken: rec.IDToken}
		if !rec.Expiry.IsZero() {
			out.Expiry = rec.Expiry.UTC().Format(time.RFC3339)
		}
		if out.Scopes == nil {
			out.Scopes = []string{}
		}
		return json.NewEncoder(w).Encode(out)
	case "env":
		var b strings.Builder
		fmt.Fprintf(&b, "AUTHCLI_ACCESS_TOKEN=%s\n", shellQuote(rec.AccessToken))
		fmt.Fprintf(&b, "AUTHCLI_TOKEN_TYPE=%s\n", shellQuote(tokenType))
		if !rec.Expiry.IsZero() {
			fmt.Fprintf(&b, "AUTHCLI_TOKEN_EXPIRY=%s\n", rec.Expiry.UTC().Format(time.RFC3339))
		}
		if rec.IDToken != "" {
			fmt.Fprintf(&b, "AUTHCLI_ID_TOKEN=%s\n", shellQuote(rec.IDToken))
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		_, err := io.WriteString(w, value+"\n")
		return err
	}
}

// shellQuote makes a value safe for eval in POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
