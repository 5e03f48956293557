// Package credhelper is what authcli's credential-helper protocols share:
// the token a helper hands to a tool, and the table of which provider
// answers for which host. The protocols themselves live in gitcred (git's
// credential helpers), dockercred (docker's credential helpers) and
// execcred (kubectl's exec plugins); setup edits the tools' own config
// files to point at authcli.
//
// None of these packages know how a token is obtained: the CLI injects a
// Tokens function (the same locked refresh as `authcli token`), so each
// protocol is parsed, answered and tested on its own.
package credhelper

import (
	"context"
	"net"
	"strings"
	"time"
)

// Token is what a tool receives: the secret and, when the provider said,
// when it stops working.
type Token struct {
	Value  string
	Expiry time.Time // zero: unknown or never
}

// String never shows the secret: tokens travel through code that logs.
func (t Token) String() string { return "credhelper.Token{redacted}" }

// GoString matches String so %#v cannot leak it either.
func (t Token) GoString() string { return t.String() }

// Route says which identity answers for one host.
type Route struct {
	Host     string // normalised host[:port]
	Provider string
	Account  string // "" means the default account
	Username string // the user name the host expects with a token
	IDToken  bool   // hand out the ID token instead of the access token
}

// Tokens returns a fresh token for route's identity, refreshing it first
// when it is about to expire. Its errors are the caller's: the protocols
// pass them through unchanged.
type Tokens func(ctx context.Context, route Route) (Token, error)

// Routes are the configured routes by normalised host.
type Routes map[string]Route

// Lookup finds the route for host as a tool names it ("GitHub.com",
// "registry:5000"). defaultPort is the port the tool's scheme implies
// ("443"): "host:443" finds a route written as "host".
func (r Routes) Lookup(host, defaultPort string) (Route, bool) {
	host = strings.ToLower(host)
	if route, ok := r[host]; ok {
		return route, true
	}
	if h, p, err := net.SplitHostPort(host); err == nil && p == defaultPort {
		if strings.Contains(h, ":") {
			h = "[" + h + "]"
		}
		route, ok := r[h]
		return route, ok
	}
	return Route{}, false
}
