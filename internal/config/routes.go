package config

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Route is one credential-helper table: which provider's identity answers
// a tool (git or docker) asking for credentials for one host.
//
//	[git."github.com"]
//	provider = "github"
//	username = "x-access-token" # optional: the preset's documented name
//	account = "work"            # optional: which local account's identity
//	id_token = false            # optional: hand out the ID token instead
//
// The table key is the host as the tool names it, with its port when it is
// not the scheme's default ("registry.corp.example:5000"), lower-cased.
type Route struct {
	Host     string // the table key, normalised
	Provider string // a [providers.NAME] table
	// Kind is the provider's kind, so that a helper can pick the preset's
	// default username without loading the rest of the file.
	Kind     string
	Account  string // "" means the identity's default account
	Username string // "" means the preset's default
	IDToken  bool
}

// Routes are the [git.*] and [docker.*] tables, by normalised host.
type Routes struct {
	Path   string
	Git    map[string]Route
	Docker map[string]Route
}

// Route tables the file may hold.
const (
	RouteGit    = "git"
	RouteDocker = "docker"
)

// LoadRoutes reads only the credential-helper tables of the config file
// (and the provider kinds they refer to), for `authcli git-credential` and
// docker-credential-authcli: those run for every fetch or pull and must not
// pay for validating every provider. kinds is the catalog, as for Load: it
// says which table names imply their kind (Route.Kind); nil leaves Kind to
// what the kind keys say. A missing file means no routes. Errors are *Error
// values naming the file, line and key, like Load's.
func LoadRoutes(path string, getenv func(string) string, kinds []Kind) (*Routes, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return &Routes{Path: path, Git: map[string]Route{}, Docker: map[string]Route{}}, nil
		}
		return nil, &Error{File: path, Problem: "cannot be read: " + pathErrReason(err), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Problem: "cannot be read: " + pathErrReason(err), Err: err}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Problem: fmt.Sprintf("is larger than %d bytes; is this the right file?", MaxFileSize)}
	}
	return ParseRoutes(path, data, getenv, kinds)
}

// routesOnly is the part of the document LoadRoutes decodes; other keys are
// not looked at (Load reports them).
type routesOnly struct {
	Providers map[string]struct {
		Kind *string `toml:"kind"`
	} `toml:"providers"`
	Git    map[string]*rawRoute `toml:"git"`
	Docker map[string]*rawRoute `toml:"docker"`
}

// ParseRoutes is LoadRoutes on a document already read.
func ParseRoutes(path string, data []byte, getenv func(string) string, kinds []Kind) (*Routes, error) {
	getenv = orEmptyEnv(getenv)
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cat := newCatalog(kinds)
	var raw routesOnly
	if err := toml.Unmarshal(data, &raw); err != nil {
		// Strict decoding finds the line and key of the problem.
		if _, derr := decode(path, data, indexKeys(data), cat); derr != nil {
			return nil, derr
		}
		return nil, &Error{File: path, Problem: "cannot be decoded as TOML"}
	}
	tableKinds := make(map[string]string, len(raw.Providers))
	for name, p := range raw.Providers {
		tableKinds[name] = rawKind(name, p.Kind, cat)
	}
	// Line numbers are only worth indexing when there is an error to place.
	build := func(keys keyLines) (*Routes, []*Error) {
		v := &validator{file: path, keys: keys, getenv: getenv}
		r := v.routes(raw.Git, raw.Docker, tableKinds)
		return r, v.errs
	}
	r, errs := build(keyLines{})
	if len(errs) > 0 {
		_, errs = build(indexKeys(data))
		return nil, earliest(errs)
	}
	r.Path = path
	return r, nil
}

// routes validates the [git.*] and [docker.*] tables; kinds holds every
// provider table's name and its kind ("" when unknown).
func (v *validator) routes(git, docker map[string]*rawRoute, kinds map[string]string) *Routes {
	return &Routes{
		Git:    v.routeTable(RouteGit, git, kinds),
		Docker: v.routeTable(RouteDocker, docker, kinds),
	}
}

func (v *validator) routeTable(table string, raw map[string]*rawRoute, kinds map[string]string) map[string]Route {
	out := make(map[string]Route, len(raw))
	written := make(map[string]string, len(raw)) // normalised host → key as written
	for _, key := range slices.Sorted(maps.Keys(raw)) {
		path := []string{table, key}
		host, problem := NormalizeHost(key)
		if problem != "" {
			v.fail(path, problem)
			continue
		}
		if prev, dup := written[host]; dup {
			v.fail(path, "names the same host as "+formatKey([]string{table, prev})+"; keep one")
			continue
		}
		written[host] = key
		rr := raw[key]
		if rr == nil {
			rr = &rawRoute{}
		}
		r := Route{Host: host}
		at := func(k string) []string { return append(slices.Clip(path), k) }
		if rr.Provider == nil {
			v.fail(path, `needs provider = "NAME", the provider whose token answers for this host`)
			continue
		}
		name, ok := v.expandString(at("provider"), *rr.Provider, "; name a [providers.NAME] table")
		if !ok {
			continue
		}
		kind, known := kinds[name]
		if !known {
			names := slices.Sorted(maps.Keys(kinds))
			problem := quoteValue(name) + " is not a configured provider"
			if len(names) > 0 {
				problem += "; configured providers: " + strings.Join(names, ", ")
				if s := suggest(name, names); s != "" {
					problem += "; did you mean " + s + "?"
				}
			}
			v.fail(at("provider"), problem)
			continue
		}
		r.Provider, r.Kind = name, kind
		if rr.Account != nil {
			if r.Account, ok = v.expandString(at("account"), *rr.Account, "; remove the line to use the default account"); !ok {
				continue
			}
		}
		if rr.Username != nil {
			u, ok := v.expandString(at("username"), *rr.Username, "; remove the line to use the preset's default")
			if !ok {
				continue
			}
			if strings.ContainsAny(u, ":") || strings.ContainsFunc(u, isControl) {
				v.fail(at("username"), "must not contain a colon or control characters (it is sent as an HTTP Basic user name)")
				continue
			}
			r.Username = u
		}
		r.IDToken = rr.IDToken != nil && *rr.IDToken
		out[host] = r
	}
	return out
}

// rawKind is a provider table's kind before validation: the kind key, else
// the table name when it is a preset's; "" when neither says.
func rawKind(name string, kind *string, cat *catalog) string {
	switch {
	case kind != nil:
		return *kind
	case cat.preset(name) != nil:
		return name
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// NormalizeHost checks a route's host (a DNS name or IP address with an
// optional port, no scheme or path) and returns it lower-cased, with IPv6
// addresses in brackets. The problem is "" when host is usable.
func NormalizeHost(host string) (string, string) {
	const want = `must be a host name with an optional port, like "github.com" or "registry.corp.example:5000"`
	if host == "" || strings.ContainsAny(host, "/@?# \t") || strings.ContainsFunc(host, isControl) {
		return "", want
	}
	name, port := host, ""
	if h, p, err := net.SplitHostPort(host); err == nil {
		name, port = h, p
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p != strconv.Itoa(n) {
			return "", want + "; the port must be 1 to 65535"
		}
	} else if strings.Contains(strings.Trim(host, "[]"), ":") {
		if strings.HasPrefix(host, "[") != strings.HasSuffix(host, "]") {
			return "", want
		}
		name = strings.Trim(host, "[]") // a bare IPv6 address
	}
	if ip := net.ParseIP(strings.Trim(name, "[]")); ip != nil {
		name = ip.String()
		if ip.To4() == nil {
			name = "[" + name + "]"
		}
	} else if !validHostName(name) {
		return "", want
	}
	name = strings.ToLower(name)
	if port != "" {
		return name + ":" + port, ""
	}
	return name, ""
}

func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
