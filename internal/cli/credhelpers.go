package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authcli/authcli/internal/auth"
	"github.com/authcli/authcli/internal/config"
	"github.com/authcli/authcli/internal/credhelper"
	"github.com/authcli/authcli/internal/provider"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/authcli/authcli/internal/tokens"
)

// helperMinTTL is how long a token handed to git or docker must still
// live: they use it for a whole clone, push or pull, not one request.
const helperMinTTL = 5 * time.Minute

// fallbackUsername is sent with a token to hosts of providers that are not
// forges, unless the route table sets username: most servers that take a
// token as an HTTP Basic password ignore the user name, and GitLab-style
// servers want exactly this one.
const fallbackUsername = "oauth2"

// configPath is --config, $AUTHCLI_CONFIG or the XDG default.
func (g *globalOptions) configPath(env *Env) (string, error) {
	if g.ConfigPath != "" {
		return g.ConfigPath, nil
	}
	p, err := config.DefaultPath(env.Getenv)
	if err != nil {
		return "", &exitError{code: ExitUsage, msg: sentence(err), err: err}
	}
	return p, nil
}

// loadRoutes reads only the [git.*] and [docker.*] tables: the helpers'
// whole config cost.
func loadRoutes(env *Env, g *globalOptions) (*config.Routes, error) {
	path, err := g.configPath(env)
	if err != nil {
		return nil, err
	}
	return config.LoadRoutes(path, env.Getenv, provider.Kinds())
}

// helperRoutes turns a route table into what the protocols take, with each
// preset's documented user name where the table sets none.
func helperRoutes(table map[string]config.Route) credhelper.Routes {
	out := make(credhelper.Routes, len(table))
	for host, r := range table {
		out[host] = credhelper.Route{Host: host, Provider: r.Provider, Account: r.Account, Username: routeUsername(r), IDToken: r.IDToken}
	}
	return out
}

func routeUsername(r config.Route) string {
	if r.Username != "" {
		return r.Username
	}
	if u := provider.GitUsername(r.Kind); u != "" {
		return u
	}
	return fallbackUsername
}

// helperTokens is the protocols' token source: `authcli token`'s locked
// refresh, for the route's provider and account.
func helperTokens(env *Env, g *globalOptions) credhelper.Tokens {
	return func(ctx context.Context, r credhelper.Route) (credhelper.Token, error) {
		return routeToken(ctx, env, g, r, helperMinTTL)
	}
}

// routeToken is the route's identity's fresh token. Errors come back as
// the CLI's sentence (what happened, what to type), because the docker
// protocol shows an error's text to the person as it is.
func routeToken(ctx context.Context, env *Env, g *globalOptions, r credhelper.Route, minTTL time.Duration) (credhelper.Token, error) {
	account := g.Account
	if account == "" {
		account = r.Account
	}
	rec, err := freshToken(ctx, env, g, auth.Want{Provider: r.Provider, Account: account, MinTTL: minTTL, IDToken: r.IDToken})
	if err == nil {
		var tok credhelper.Token
		if tok, err = tokenOf(rec, r.Provider, r.IDToken); err == nil {
			return tok, nil
		}
	}
	code, msg := describe(err)
	return credhelper.Token{}, &exitError{code: code, msg: msg, err: err}
}

// tokenOf picks the access or the ID token out of a record.
func tokenOf(rec tokens.Record, providerName string, idToken bool) (credhelper.Token, error) {
	if !idToken {
		return credhelper.Token{Value: rec.AccessToken, Expiry: rec.Expiry}, nil
	}
	if rec.IDToken == "" {
		return credhelper.Token{}, usageErrorf("the %s identity has no ID token (the provider is not OpenID Connect, or openid was not requested); drop the ID-token setting to use its access token", providerName)
	}
	return credhelper.Token{Value: rec.IDToken, Expiry: rec.IDTokenExpiry}, nil
}

// rejectedToken is told that a server refused the token authcli handed out
// (git's erase after a 401): it refreshes now, so that the next attempt
// gets a new token instead of the refused one again.
func rejectedToken(env *Env, g *globalOptions) func(context.Context, credhelper.Route, credhelper.Token) error {
	return func(ctx context.Context, r credhelper.Route, tok credhelper.Token) error {
		if tok.Expiry.IsZero() {
			// A token without expiry cannot be refreshed into a better one.
			fmt.Fprintf(env.Err, "authcli: %s refused the %s token; if it was revoked, sign in again with: authcli login %s.\n", r.Host, r.Provider, r.Provider)
			return nil
		}
		// A minimum life longer than the token's makes the refresh due.
		ttl := tok.Expiry.Sub(env.now()) + time.Minute
		_, err := routeToken(ctx, env, g, r, max(ttl, helperMinTTL))
		return err
	}
}

// executable is how the tools' config files name authcli: plain "authcli"
// when that is what PATH finds (so an upgrade that moves the binary keeps
// working), else the absolute path of this binary.
func executable(self func() (string, error), lookPath func(string) (string, error)) (string, error) {
	me, err := self()
	if err != nil {
		return "", fmt.Errorf("find the authcli binary: %w", err)
	}
	me = leanSibling(me)
	if found, err := lookPath("authcli"); err == nil && sameFile(found, me) {
		return "authcli", nil
	}
	if abs, err := filepath.Abs(me); err == nil {
		me = abs
	}
	return me, nil
}

// leanSibling is the lean authcli beside path when path is its companion
// (companion.go): authcli-ui runs setup-kubectl for it, and the tools it
// configures are to run the program whose start-up is the shorter, as
// they would had the lean one done the edit. Anything else is path.
func leanSibling(path string) string {
	resolved, err := filepath.EvalSymlinks(path)
	if err != nil {
		return path
	}
	ext := ""
	if runtime.GOOS == "windows" {
		ext = ".exe"
	}
	if !strings.EqualFold(filepath.Base(resolved), companionName+ext) {
		return path
	}
	lean := filepath.Join(filepath.Dir(resolved), "authcli"+ext)
	if fi, err := os.Stat(lean); err != nil || !fi.Mode().IsRegular() {
		return path
	}
	return lean
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// routeInfo is one entry of `providers --json`'s "git" and "docker" lists.
type routeInfo struct {
	Host     string `json:"host"`
	Provider string `json:"provider"`
	Username string `json:"username"`
	Account  string `json:"account,omitempty"`
	IDToken  bool   `json:"id_token"`
}

func routeInfos(cfg *config.File) (git, docker []routeInfo) {
	list := func(table map[string]config.Route) []routeInfo {
		out := []routeInfo{}
		for _, host := range slices.Sorted(maps.Keys(table)) {
			r := table[host]
			out = append(out, routeInfo{Host: host, Provider: r.Provider, Username: routeUsername(r), Account: r.Account, IDToken: r.IDToken})
		}
		return out
	}
	return list(cfg.Git), list(cfg.Docker)
}

// printRoutes is `authcli providers`' second table: which provider answers
// git and docker for which host.
func printRoutes(w io.Writer, cfg *config.File) error {
	git, docker := routeInfos(cfg)
	if len(git)+len(docker) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOOL\tHOST\tPROVIDER\tUSER NAME")
	for _, t := range []struct {
		tool   string
		routes []routeInfo
	}{{"git", git}, {"docker", docker}} {
		for _, r := range t.routes {
			p := r.Provider
			if r.Account != "" {
				p += " (account " + termtext.Line(r.Account) + ")"
			}
			if r.IDToken {
				p += ", ID token"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.tool, r.Host, p, termtext.Line(r.Username))
		}
	}
	return tw.Flush()
}
