package config

import (
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
)

// validator turns raw tables into Providers, collecting every problem so that
// Parse can report the first one in the file.
type validator struct {
	file   string
	keys   keyLines
	getenv func(string) string
	kinds  *catalog
	errs   []*Error
}

func (v *validator) fail(path []string, problem string) {
	v.errs = append(v.errs, &Error{File: v.file, Line: v.keys.nearest(path), Key: formatKey(path), Problem: problem})
}

// expandString expands one value; an explicitly empty value is refused
// because it would otherwise silently mean "use the default". hint ends the
// "is empty" sentence.
func (v *validator) expandString(path []string, s, hint string) (string, bool) {
	out, problem := expand(s, v.getenv)
	if problem != "" {
		v.fail(path, problem)
		return "", false
	}
	if out == "" {
		v.fail(path, "is empty"+hint)
		return "", false
	}
	return out, true
}

// reservedAuthParams are authorization request parameters authcli sets
// itself. Letting the file override them would switch off PKCE or state
// checking, or put the client secret in the browser's history.
var reservedAuthParams = map[string]string{
	"response_type":         "is set by authcli",
	"response_mode":         "is set by authcli",
	"client_id":             "is set by authcli from client_id",
	"client_secret":         "must never be sent to the browser",
	"redirect_uri":          "is set by authcli from the redirect settings",
	"state":                 "is set by authcli",
	"nonce":                 "is set by authcli",
	"code_challenge":        "is set by authcli (PKCE)",
	"code_challenge_method": "is set by authcli (PKCE S256)",
	"scope":                 "is set from scopes; list them there",
	"request":               "would override the parameters authcli sets",
	"request_uri":           "would override the parameters authcli sets",
}

// provider validates one [providers.NAME] table. It returns nil when the
// table has a problem (recorded in v.errs).
func (v *validator) provider(name string, raw *rawProvider) *Provider {
	before := len(v.errs)
	base := []string{"providers", name}
	at := func(keys ...string) []string { return append(slices.Clone(base), keys...) }

	if !validProviderName(name) {
		v.fail(base, "is not a valid provider name; use lowercase letters, digits, - and _, starting with a letter or digit")
	}
	if raw == nil {
		raw = &rawProvider{}
	}

	// Expand every string first, so that the checks below see final values.
	for _, f := range raw.stringFields() {
		v.expandField(at(f.key), f.ptr)
	}
	if raw.Claims != nil {
		for _, f := range raw.Claims.stringFields() {
			v.expandField(at("claims", f.key), f.ptr)
		}
	}
	settings := make(map[string]string, len(raw.Settings))
	for _, k := range sortedKeys(raw.Settings) {
		if out, ok := v.expandString(at(k), raw.Settings[k], "; set a value or remove the line"); ok {
			settings[k] = out
		}
	}
	for i, s := range raw.Scopes {
		out, problem := expand(s, v.getenv)
		if problem != "" {
			v.fail(at("scopes"), problem)
		}
		raw.Scopes[i] = out
	}
	params := make(map[string]string, len(raw.AuthParams))
	for _, k := range sortedKeys(raw.AuthParams) {
		if out, ok := v.expandString(at("auth_params", k), raw.AuthParams[k], "; remove the parameter if it is not needed"); ok {
			params[k] = out
		}
	}
	if len(v.errs) > before {
		// A value that did not expand would surface again below as
		// "is required" and hide the real cause.
		return nil
	}

	p := &Provider{
		Name:               name,
		Issuer:             deref(raw.Issuer),
		ClientID:           deref(raw.ClientID),
		ClientSecret:       deref(raw.ClientSecret),
		Scopes:             raw.Scopes,
		AuthURL:            deref(raw.AuthURL),
		TokenURL:           deref(raw.TokenURL),
		UserinfoURL:        deref(raw.UserinfoURL),
		RevocationURL:      deref(raw.RevocationURL),
		DeviceAuthURL:      deref(raw.DeviceAuthURL),
		JWKSURL:            deref(raw.JWKSURL),
		RedirectHost:       orDefault(raw.RedirectHost, DefaultRedirectHost),
		RedirectPath:       orDefault(raw.RedirectPath, DefaultRedirectPath(name)),
		RedirectURI:        deref(raw.RedirectURI),
		TrustEmailVerified: raw.TrustEmailVerified != nil && *raw.TrustEmailVerified,
		RequireIss:         raw.RequireIss != nil && *raw.RequireIss,
		Grant:              orDefault(raw.Grant, GrantAuthorizationCode),
	}
	if len(params) > 0 {
		p.AuthParams = params
	}
	if len(settings) > 0 {
		p.Settings = settings
	}

	kind := v.kind(p, raw, at("kind"))
	p.DisplayName = orDefault(raw.DisplayName, defaultDisplayName(name, kind))

	switch p.Grant {
	case GrantAuthorizationCode:
	case GrantClientCredentials:
		if raw.ClientSecret == nil {
			v.fail(at("client_secret"), "is required for the client_credentials grant")
		}
	default:
		v.fail(at("grant"), "must be authorization_code or client_credentials")
	}
	if raw.ClientID == nil {
		v.fail(at("client_id"), "is required")
	}

	v.endpoints(p, at)
	v.redirect(p, raw, at)
	v.scopes(p, at("scopes"))
	for _, k := range sortedKeys(params) {
		if why, ok := reservedAuthParams[strings.ToLower(k)]; ok {
			v.fail(at("auth_params", k), "cannot be set here: it "+why)
		}
	}
	if raw.AuthParams != nil {
		if _, ok := raw.AuthParams[""]; ok {
			v.fail(at("auth_params"), "has a parameter with an empty name")
		}
	}

	if kind != nil {
		v.kindRules(p, raw, kind, at)
	}
	if len(v.errs) > before {
		return nil
	}
	return p
}

// expandField expands *ptr in place.
func (v *validator) expandField(path []string, ptr **string) {
	if *ptr == nil {
		return
	}
	if out, ok := v.expandString(path, **ptr, "; set a value or remove the line"); ok {
		*ptr = &out
	}
}

// kind settles p.Kind and returns its Kind, or nil when it is not valid.
func (v *validator) kind(p *Provider, raw *rawProvider, path []string) *Kind {
	names := v.kinds.names()
	switch {
	case raw.Kind != nil:
		p.Kind = *raw.Kind
	case v.kinds.preset(p.Name) != nil:
		p.Kind = p.Name
	default:
		v.fail(path, "is required (one of "+strings.Join(names, ", ")+")")
		return nil
	}
	if k := v.kinds.byName[p.Kind]; k != nil {
		return k
	}
	problem := "unknown kind " + quoteValue(p.Kind) + "; valid kinds: " + strings.Join(names, ", ")
	if s := suggest(p.Kind, names); s != "" {
		problem += "; did you mean " + s + "?"
	}
	v.fail(path, problem)
	return nil
}

// kindRules checks what depends on the kind: what the catalog says of it,
// the settings only other kinds understand, and the kind's own Check.
func (v *validator) kindRules(p *Provider, raw *rawProvider, k *Kind, at func(...string) []string) {
	if p.RequireIss && !k.OpenID {
		v.fail(at("require_iss"), "applies only to OpenID providers: the iss parameter is compared with the issuer, which kind "+p.Kind+" does not have")
	}
	if raw.Claims != nil && !k.Claims {
		v.fail(at("claims"), "applies only to kind "+v.kinds.claimKinds()+"; other kinds read the profile from the ID token or their preset")
	}
	if k.Claims {
		p.Claims = Claims{
			Subject:       orDefault(nilClaims(raw.Claims).Subject, DefaultSubjectClaim),
			Email:         deref(nilClaims(raw.Claims).Email),
			EmailVerified: deref(nilClaims(raw.Claims).EmailVerified),
			Name:          deref(nilClaims(raw.Claims).Name),
			AvatarURL:     deref(nilClaims(raw.Claims).AvatarURL),
		}
		if raw.Claims != nil {
			for _, f := range raw.Claims.stringFields() {
				if *f.ptr != nil && !validClaimPath(**f.ptr) {
					v.fail(at("claims", f.key), "must be a dotted path into the userinfo JSON, like data.user.id")
				}
			}
		}
	}

	for _, key := range sortedKeys(p.Settings) {
		if k.setting(key) == nil {
			v.fail(at(key), "applies only to kind "+v.kinds.owners(key))
		}
	}
	for _, s := range k.Settings {
		if _, set := p.Settings[s.Key]; !set && s.Default != "" {
			if p.Settings == nil {
				p.Settings = map[string]string{}
			}
			p.Settings[s.Key] = s.Default
		}
	}

	before := len(v.errs)
	if k.Check != nil {
		v.checkErrors(k.Check(p), at)
	}
	if len(v.errs) > before {
		return
	}
	for _, s := range k.Settings {
		if value, set := p.Settings[s.Key]; set && s.Path {
			path, problem := v.filePath(value)
			if problem != "" {
				v.fail(at(s.Key), problem)
			}
			p.Settings[s.Key] = path
		}
	}
}

// checkErrors records what a Kind's Check returned: *KeyError values,
// alone or joined with errors.Join. Anything else is a bug in the kind,
// reported against the table so that it is still an *Error.
func (v *validator) checkErrors(err error, at func(...string) []string) {
	switch e := err.(type) {
	case nil:
	case interface{ Unwrap() []error }:
		for _, err := range e.Unwrap() {
			v.checkErrors(err, at)
		}
	case *KeyError:
		v.fail(at(strings.Split(e.Key, ".")...), e.Problem)
	default:
		v.fail(at(), e.Error())
	}
}

// filePath expands "~/" from $HOME and resolves a relative path against
// the config file's directory, where a user keeps a file they mention in it.
func (v *validator) filePath(path string) (string, string) {
	switch {
	case path == "~" || strings.HasPrefix(path, "~/") || strings.HasPrefix(path, `~\`):
		home := v.getenv("HOME")
		if home == "" {
			home = v.getenv("USERPROFILE")
		}
		if home == "" {
			return "", "starts with ~/ but HOME is not set; write the full path"
		}
		return filepath.Join(home, path[1:]), ""
	case strings.HasPrefix(path, "~"):
		return "", "only ~/ is expanded; write the full path"
	case filepath.IsAbs(path) || v.file == "":
		return filepath.Clean(path), ""
	default:
		return filepath.Join(filepath.Dir(v.file), path), ""
	}
}

func (v *validator) endpoints(p *Provider, at func(...string) []string) {
	if p.Issuer != "" {
		if problem := checkURL(p.Issuer, false); problem != "" {
			v.fail(at("issuer"), problem)
		} else if u, _ := url.Parse(p.Issuer); u.RawQuery != "" || u.ForceQuery {
			v.fail(at("issuer"), "must not have a ?query; an OpenID issuer is a plain https URL")
		}
	}
	for _, e := range []struct{ key, value string }{
		{"auth_url", p.AuthURL},
		{"token_url", p.TokenURL},
		{"userinfo_url", p.UserinfoURL},
		{"revocation_url", p.RevocationURL},
		{"device_auth_url", p.DeviceAuthURL},
		{"jwks_url", p.JWKSURL},
	} {
		if e.value == "" {
			continue
		}
		if problem := checkURL(e.value, false); problem != "" {
			v.fail(at(e.key), problem)
		}
	}
	if p.RedirectURI != "" {
		if problem := checkURL(p.RedirectURI, true); problem != "" {
			v.fail(at("redirect_uri"), problem)
		}
	}
}

func (v *validator) redirect(p *Provider, raw *rawProvider, at func(...string) []string) {
	if p.RedirectHost != "127.0.0.1" && p.RedirectHost != "localhost" {
		v.fail(at("redirect_host"), "must be 127.0.0.1 or localhost; authcli listens on the loopback interface only")
	}
	if raw.RedirectPort != nil {
		if port := *raw.RedirectPort; port < 0 || port > 65535 {
			v.fail(at("redirect_port"), "must be between 0 and 65535 (0 picks a free port)")
		} else {
			p.RedirectPort = int(port)
		}
	}
	switch path := p.RedirectPath; {
	case !strings.HasPrefix(path, "/"):
		v.fail(at("redirect_path"), "must start with /")
	case strings.ContainsAny(path, "?#"):
		v.fail(at("redirect_path"), "must be a plain path without ? or #")
	case strings.IndexFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		v.fail(at("redirect_path"), "must not contain spaces or control characters")
	}
}

func (v *validator) scopes(p *Provider, path []string) {
	if p.Scopes == nil {
		return
	}
	if len(p.Scopes) == 0 {
		v.fail(path, "is an empty list; remove it to use the provider's default scopes")
		return
	}
	seen := make(map[string]bool, len(p.Scopes))
	for _, s := range p.Scopes {
		switch {
		case s == "":
			v.fail(path, "holds an empty scope")
		case !validScope(s):
			v.fail(path, "scope "+quoteValue(s)+" holds a space, quote, backslash or control character; list each scope as its own string")
		case seen[s]:
			v.fail(path, "lists "+quoteValue(s)+" twice")
		}
		seen[s] = true
	}
}

// checkURL returns a problem sentence for an unusable endpoint URL, or "".
// Plain http is refused unless the host is loopback (a local test provider):
// anything else would send codes and tokens in clear text. The URL itself is
// never quoted, since it may embed credentials.
func checkURL(raw string, httpsOnly bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "is not a valid URL"
	}
	if !u.IsAbs() || u.Hostname() == "" {
		return "must be an absolute URL like https://host/path"
	}
	if u.User != nil {
		return "must not hold a user name or password"
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "must not have a #fragment"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return ""
	case "http":
		if httpsOnly {
			return "must use https"
		}
		if !isLoopbackHost(u.Hostname()) {
			return "uses http, which is only allowed for a loopback host; use https"
		}
		return ""
	default:
		return "must be an https URL"
	}
}

// isLoopbackHost accepts "localhost" and literal loopback addresses
// (127.0.0.0/8, ::1); a name that merely resolves to loopback does not count.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validProviderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '-' && c != '_') {
			return false
		}
	}
	return true
}

// validScope follows RFC 6749 §3.3: printable ASCII except space, " and \.
func validScope(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func validClaimPath(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if part == "" || strings.TrimSpace(part) != part {
			return false
		}
	}
	return true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orDefault(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

func nilClaims(c *rawClaims) *rawClaims {
	if c == nil {
		return &rawClaims{}
	}
	return c
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
