package setup

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/authcli/authcli/internal/config"
)

// AuthcliRoute writes route as the [TABLE."HOST"] table of authcli's config
// (table is config.RouteGit or config.RouteDocker), replacing the table of
// that host when there is one and appending otherwise; every other byte of
// the file stays. A table that already says the same is left alone, its
// comments included; a replaced table loses its own comments.
func AuthcliRoute(data []byte, table string, route config.Route) ([]byte, Change, error) {
	// No catalog: Route.Kind is derived, and sameRoute does not compare it.
	cur, err := config.ParseRoutes("config.toml", data, nil, nil)
	if err != nil {
		return nil, Unchanged, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	existing := cur.Git
	if table == config.RouteDocker {
		existing = cur.Docker
	}
	if old, ok := existing[route.Host]; ok && sameRoute(old, route) {
		return data, Unchanged, nil
	}
	rendered := renderRoute(table, route)
	lines := strings.SplitAfter(string(data), "\n")
	start, end, found := findTable(data, table, route.Host)
	var out string
	change := Added
	switch {
	case found:
		out = strings.Join(lines[:start], "") + rendered + strings.Join(lines[end:], "")
		change = Updated
	case existing[route.Host] != (config.Route{}):
		return nil, Unchanged, fmt.Errorf("%w: %s.%q is not written as its own [%s.%q] table; change it by hand", ErrUnsupported, table, route.Host, table, route.Host)
	default:
		out = string(data)
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		if out != "" {
			out += "\n"
		}
		out += rendered
	}
	got, err := config.ParseRoutes("config.toml", []byte(out), nil, nil)
	if err != nil {
		return nil, Unchanged, fmt.Errorf("%w: the edited file would not load (%w); add the table by hand", ErrUnsupported, err)
	}
	after := got.Git
	if table == config.RouteDocker {
		after = got.Docker
	}
	if !sameRoute(after[route.Host], route) {
		return nil, Unchanged, fmt.Errorf("%w: the edited table would not read back as written; add it by hand", ErrUnsupported)
	}
	return []byte(out), change, nil
}

// sameRoute compares what the file says (Kind is derived, not written).
func sameRoute(a, b config.Route) bool {
	return a.Host == b.Host && a.Provider == b.Provider && a.Account == b.Account && a.Username == b.Username && a.IDToken == b.IDToken
}

func renderRoute(table string, r config.Route) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[%s.%s]\n", table, tomlString(r.Host))
	fmt.Fprintf(&b, "provider = %s\n", tomlString(r.Provider))
	if r.Username != "" {
		fmt.Fprintf(&b, "username = %s\n", tomlString(r.Username))
	}
	if r.Account != "" {
		fmt.Fprintf(&b, "account = %s\n", tomlString(r.Account))
	}
	if r.IDToken {
		b.WriteString("id_token = true\n")
	}
	return b.String()
}

// tomlString is a TOML basic string: only \\, \" and \uXXXX escapes.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// findTable locates the [table."host"] header and the lines up to the next
// header, without trailing blank or comment lines (those introduce what
// follows). Line indexes are 0-based, end exclusive.
func findTable(data []byte, table, host string) (start, end int, found bool) {
	var p unstable.Parser
	p.Reset(data)
	lineOf := func(off int) int { return bytes.Count(data[:off], []byte("\n")) }
	start = -1
	for p.NextExpression() {
		expr := p.Expression()
		if expr.Kind != unstable.Table && expr.Kind != unstable.ArrayTable {
			continue
		}
		var parts []string
		line := -1
		it := expr.Key()
		for it.Next() {
			n := it.Node()
			if line < 0 {
				line = lineOf(int(n.Raw.Offset))
			}
			parts = append(parts, string(n.Data))
		}
		if start >= 0 {
			end = line
			break
		}
		if len(parts) == 2 && parts[0] == table {
			if h, problem := config.NormalizeHost(parts[1]); problem == "" && h == host {
				start = line
			}
		}
	}
	if start < 0 {
		return 0, 0, false
	}
	lines := strings.SplitAfter(string(data), "\n")
	if end <= start {
		end = len(lines)
	}
	for end > start+1 {
		t := strings.TrimSpace(lines[end-1])
		if t != "" && !strings.HasPrefix(t, "#") {
			break
		}
		end--
	}
	return start, end, true
}
