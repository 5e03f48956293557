// Package kubeconfig adds or replaces a kubeconfig user whose credentials
// come from an exec plugin (authcli token --format exec-credential),
// changing no other byte of the file: setup's kubeconfig editor, in a
// package of its own because it parses YAML, and the YAML library's
// initialisers (two regular expressions) would otherwise run in every
// authcli process; only authcli-ui links it (internal/cli/companion.go).
package kubeconfig

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"

	"github.com/authcli/authcli/internal/credhelper/setup"

	yaml "go.yaml.in/yaml/v3"
)

// User is a kubeconfig user whose credentials come from an exec plugin.
type User struct {
	Name       string
	APIVersion string // client.authentication.k8s.io/v1
	Command    string
	Args       []string
	// InteractiveMode is "IfAvailable", "Always" or "Never"; required by v1.
	InteractiveMode string
}

// render writes the user as a block-style sequence item indented by indent
// spaces.
func (u User) render(indent int) string {
	p := strings.Repeat(" ", indent)
	var b strings.Builder
	fmt.Fprintf(&b, "%s- name: %s\n", p, yamlString(u.Name))
	fmt.Fprintf(&b, "%s  user:\n", p)
	fmt.Fprintf(&b, "%s    exec:\n", p)
	fmt.Fprintf(&b, "%s      apiVersion: %s\n", p, yamlString(u.APIVersion))
	fmt.Fprintf(&b, "%s      command: %s\n", p, yamlString(u.Command))
	fmt.Fprintf(&b, "%s      args:\n", p)
	for _, a := range u.Args {
		fmt.Fprintf(&b, "%s      - %s\n", p, yamlString(a))
	}
	fmt.Fprintf(&b, "%s      interactiveMode: %s\n", p, yamlString(u.InteractiveMode))
	fmt.Fprintf(&b, "%s      provideClusterInfo: false\n", p)
	return b.String()
}

// yamlString is s as a YAML scalar that reads back as the same string.
func yamlString(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return `""`
	}
	return strings.TrimSuffix(string(out), "\n")
}

// Edit adds the user to a kubeconfig, or replaces the user of the
// same name, changing no other byte of the file. An empty file becomes a
// minimal kubeconfig. The result is checked by parsing it again: every
// other user, cluster, context and setting must read back unchanged.
func Edit(data []byte, u User) ([]byte, setup.Change, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		out := []byte("apiVersion: v1\nkind: Config\nusers:\n" + u.render(0))
		return out, setup.Added, nil
	}
	// The YAML library ends a line at a lone carriage return, NEL (U+0085),
	// LS (U+2028) and PS (U+2029) too; the line-based edit below would then
	// count lines differently from the parser.
	if otherLineBreak(data) {
		return nil, setup.Unchanged, fmt.Errorf("%w: it holds a line break other than LF or CRLF (a lone carriage return, U+0085, U+2028 or U+2029); add the user with kubectl config set-credentials instead", setup.ErrUnsupported)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, setup.Unchanged, fmt.Errorf("%w: %v", setup.ErrInvalid, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode || doc.Content[0].Style&yaml.FlowStyle != 0 {
		return nil, setup.Unchanged, fmt.Errorf("%w: it is not a block-style YAML mapping (a JSON kubeconfig?); add the user with kubectl config set-credentials instead", setup.ErrUnsupported)
	}
	root := doc.Content[0]
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var out string
	change := setup.Added
	usersAt := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "users" {
			usersAt = i
		}
	}
	switch {
	case usersAt < 0:
		out = strings.Join(lines, "")
		if !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += "users:\n" + u.render(0)
	default:
		key, val := root.Content[usersAt], root.Content[usersAt+1]
		empty := val.Kind == yaml.ScalarNode && val.Tag == "!!null" ||
			val.Kind == yaml.SequenceNode && len(val.Content) == 0
		switch {
		case empty:
			if val.Line != key.Line && val.Kind != yaml.ScalarNode {
				return nil, setup.Unchanged, fmt.Errorf("%w: its users list is written across lines; add the user by hand", setup.ErrUnsupported)
			}
			at := key.Line - 1
			repl := strings.Repeat(" ", key.Column-1) + "users:\n" + u.render(key.Column-1)
			out = strings.Join(lines[:at], "") + repl + strings.Join(lines[at+1:], "")
		case val.Kind == yaml.SequenceNode && val.Style&yaml.FlowStyle == 0:
			var err error
			out, change, err = editUsers(lines, val, u)
			if err != nil {
				return nil, setup.Unchanged, err
			}
		default:
			return nil, setup.Unchanged, fmt.Errorf("%w: its users list is not a block-style list; add the user with kubectl config set-credentials instead", setup.ErrUnsupported)
		}
	}
	if change != setup.Unchanged {
		if err := checkKubeconfig(data, []byte(out), u); err != nil {
			return nil, setup.Unchanged, err
		}
	}
	return []byte(out), change, nil
}

// otherLineBreak reports whether data holds a line break the YAML library
// knows but a split at "\n" does not.
func otherLineBreak(data []byte) bool {
	return bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\r")) ||
		bytes.ContainsRune(data, '\u0085') || bytes.ContainsRune(data, '\u2028') || bytes.ContainsRune(data, '\u2029')
}

// editUsers replaces the item named u.Name in a block sequence, or adds u
// after the last item, at the items' indentation.
func editUsers(lines []string, seq *yaml.Node, u User) (string, setup.Change, error) {
	type span struct{ start, end int } // line indexes, end exclusive
	var spans []span
	dash := -1
	found := -1
	for i, item := range seq.Content {
		start := item.Line - 1
		if item.Kind == yaml.MappingNode && !strings.HasPrefix(strings.TrimSpace(lines[start]), "-") && start > 0 && strings.TrimSpace(lines[start-1]) == "-" {
			start-- // "-" alone, the mapping on the next line
		}
		text := strings.TrimLeft(lines[start], " ")
		if !strings.HasPrefix(text, "-") {
			return "", setup.Unchanged, fmt.Errorf("%w: users item on line %d is not a plain list item; edit it by hand", setup.ErrUnsupported, start+1)
		}
		col := len(lines[start]) - len(text)
		if dash < 0 {
			dash = col
		}
		end := start + 1
		for j := start + 1; j < len(lines); j++ {
			t := strings.TrimRight(lines[j], "\r\n")
			// Blank and comment-only lines do not extend an item: a
			// comment after it belongs to what follows, and must stay.
			if trimmed := strings.TrimSpace(t); trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if len(t)-len(strings.TrimLeft(t, " ")) <= col {
				break
			}
			end = j + 1
		}
		spans = append(spans, span{start, end})
		if item.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(item.Content); k += 2 {
				if item.Content[k].Value == "name" && item.Content[k+1].Value == u.Name && found < 0 {
					found = i
				}
			}
		}
	}
	rendered := u.render(dash)
	if found >= 0 {
		s := spans[found]
		old := strings.Join(lines[s.start:s.end], "")
		if old == rendered {
			return strings.Join(lines, ""), setup.Unchanged, nil
		}
		return strings.Join(lines[:s.start], "") + rendered + strings.Join(lines[s.end:], ""), setup.Updated, nil
	}
	last := spans[len(spans)-1].end
	before := strings.Join(lines[:last], "")
	if !strings.HasSuffix(before, "\n") {
		before += "\n"
	}
	return before + rendered + strings.Join(lines[last:], ""), setup.Added, nil
}

// checkKubeconfig parses both versions: all but the user must read back
// the same, and the user must read back as written.
func checkKubeconfig(before, after []byte, u User) error {
	var a, b map[string]any
	if err := yaml.Unmarshal(before, &a); err != nil {
		return fmt.Errorf("%w: %v", setup.ErrInvalid, err)
	}
	if err := yaml.Unmarshal(after, &b); err != nil {
		return fmt.Errorf("%w: the edit would not parse (%v); add the user by hand", setup.ErrUnsupported, err)
	}
	others := func(m map[string]any) ([]any, any) {
		users, _ := m["users"].([]any)
		var rest []any
		var mine any
		for _, it := range users {
			if e, ok := it.(map[string]any); ok && e["name"] == u.Name && mine == nil {
				mine = e
				continue
			}
			rest = append(rest, it)
		}
		return rest, mine
	}
	ra, _ := others(a)
	rb, mine := others(b)
	delete(a, "users")
	delete(b, "users")
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ra, rb) {
		return fmt.Errorf("%w: the edit would change more than user %s; add it by hand", setup.ErrUnsupported, u.Name)
	}
	var want []any
	if err := yaml.Unmarshal([]byte(u.render(0)), &want); err != nil || len(want) != 1 || !reflect.DeepEqual(mine, want[0]) {
		return fmt.Errorf("%w: user %s would not read back as written; add it by hand", setup.ErrUnsupported, u.Name)
	}
	return nil
}
