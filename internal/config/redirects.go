package config

import (
	"net"
	"slices"
	"strconv"
	"strings"
)

// sharedRedirects refuses providers that would share a loopback redirect
// URI unless every one of them has require_iss set.
//
// The mix-up attack (RFC 9700 §4.4): while authcli waits for a hostile
// provider's answer, that provider bounces the browser to an honest
// provider's authorization endpoint with authcli's redirect URI, state and
// PKCE challenge. If the honest provider accepts that redirect URI (it is
// registered there too), its code comes back to the listener and authcli
// hands it, with the PKCE verifier, to the hostile token endpoint. A
// redirect URI of each provider's own stops that (§4.4.2): the honest
// provider will not redirect to the hostile one's URI, and the listener
// answers only its own. Where URIs are shared, only the RFC 9207 iss
// parameter tells the answers apart, so it must be required.
//
// The port does not count: providers match loopback redirect URIs on any
// port (RFC 8252 §7.3), so an attacker can always name the port authcli
// listens on. The host does, because the listener refuses a Host header
// other than its own.
func (v *validator) sharedRedirects(f *File) {
	type key struct{ host, path string }
	groups := map[key][]string{}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range f.Providers {
			if !yield(n) {
				return
			}
		}
	}) {
		p := f.Providers[name]
		if p.Grant != GrantAuthorizationCode {
			continue
		}
		k := key{p.RedirectHost, p.RedirectPath}
		groups[k] = append(groups[k], name)
	}
	for _, names := range groups {
		if len(names) < 2 {
			continue
		}
		allRequireIss := true
		for _, n := range names {
			allRequireIss = allRequireIss && f.Providers[n].RequireIss
		}
		if allRequireIss {
			continue
		}
		for _, n := range names {
			others := slices.DeleteFunc(slices.Clone(names), func(o string) bool { return o == n })
			path := []string{"providers", n, "redirect_path"}
			f.Problems[n] = &Error{
				File: v.file, Line: v.keys.nearest(path), Key: formatKey(path),
				Problem: "is shared with " + strings.Join(others, ", ") + " (" + f.Providers[n].RedirectPath +
					"), so one provider's answer could be taken for another's (a mix-up attack); give each provider its own redirect_path, or set require_iss = true on all of them if their issuers send the RFC 9207 iss parameter",
			}
		}
		for _, n := range names {
			delete(f.Providers, n)
		}
	}
}

// RegisteredRedirect is the redirect URI to register with the provider for
// the browser sign-in: the HTTPS relay when one is set, else the loopback
// address with the port only when it is fixed (providers match loopback
// redirects on any port, RFC 8252 §7.3). "" for the client credentials
// grant, which has no redirect.
func (p *Provider) RegisteredRedirect() string {
	switch {
	case p.Grant == GrantClientCredentials:
		return ""
	case p.RedirectURI != "":
		return p.RedirectURI
	}
	host := p.RedirectHost
	if p.RedirectPort != 0 {
		host = net.JoinHostPort(host, strconv.Itoa(p.RedirectPort))
	}
	return "http://" + host + p.RedirectPath
}
