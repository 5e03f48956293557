package config

import (
	"bytes"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// keyLines maps every key path written in the document (tables, dotted keys,
// keys of inline tables) to the line where it first appears, so that
// validation errors found after decoding can still point at a line.
type keyLines map[string]int

// pathSep joins key parts in keyLines; it cannot appear in a TOML bare key
// and a quoted key containing it only costs a line number.
const pathSep = "\x00"

// indexKeys walks the document with go-toml's parser. A document that does not
// parse yields a partial index; decoding reports the syntax error itself.
func indexKeys(data []byte) keyLines {
	idx := keyLines{}
	lines := newLineTable(data)
	walkKeys(data, func(path []string, prefix, offset int) {
		// Each dotted prefix of the key is written on the key's line.
		line := lines.line(offset)
		for n := prefix + 1; n <= len(path); n++ {
			k := strings.Join(path[:n], pathSep)
			if _, seen := idx[k]; !seen {
				idx[k] = line
			}
		}
	})
	return idx
}

// keyPaths maps the position of every key the document writes to its full
// path, for keys whose position is known but whose path is not: go-toml's
// strict mode names a key inside an inline table without the tables around
// it.
type keyPaths struct {
	lines lineTable
	paths map[int][]string // by the offset of the key's first part
}

func indexKeyPaths(data []byte) keyPaths {
	kp := keyPaths{lines: newLineTable(data), paths: map[int][]string{}}
	walkKeys(data, func(path []string, _, offset int) {
		if _, seen := kp.paths[offset]; !seen {
			kp.paths[offset] = path
		}
	})
	return kp
}

// at is the full path of the key written at line and column (both 1-based,
// the column in bytes, as go-toml reports them), or nil.
func (kp keyPaths) at(line, column int) []string {
	offset := column - 1
	if line > 1 {
		if line-2 >= len(kp.lines) {
			return nil
		}
		offset += kp.lines[line-2] + 1
	}
	return kp.paths[offset]
}

// walkKeys calls visit for every key the document writes (table headers,
// dotted keys, keys of inline tables) with its full path, how many parts of
// it come from the table around it, and the offset of its first written
// part.
func walkKeys(data []byte, visit func(path []string, prefix, offset int)) {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		expr := p.Expression()
		switch expr.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = visitKey(nil, expr.Key(), visit)
		case unstable.KeyValue:
			walkKeyValue(table, expr, visit, 0)
		}
	}
}

// lineTable turns byte offsets into 1-based line numbers.
type lineTable []int // offsets of every '\n'

func newLineTable(data []byte) lineTable {
	var t lineTable
	for off := 0; ; {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return t
		}
		t = append(t, off+i)
		off += i + 1
	}
}

func (t lineTable) line(offset int) int {
	return sort.SearchInts(t, offset) + 1
}

// maxInlineDepth bounds recursion into nested inline tables; the schema is
// three tables deep, so anything deeper is an error decoding reports anyway.
const maxInlineDepth = 8

func walkKeyValue(table []string, kv *unstable.Node, visit func([]string, int, int), depth int) {
	path := visitKey(table, kv.Key(), visit)
	v := kv.Value()
	if v == nil || v.Kind != unstable.InlineTable || depth >= maxInlineDepth {
		return
	}
	children := v.Children()
	for children.Next() {
		if c := children.Node(); c.Kind == unstable.KeyValue {
			walkKeyValue(path, c, visit, depth+1)
		}
	}
}

// visitKey visits prefix+key and returns the full path.
func visitKey(prefix []string, it unstable.Iterator, visit func([]string, int, int)) []string {
	path := append([]string(nil), prefix...)
	offset := -1
	for it.Next() {
		n := it.Node()
		if offset < 0 {
			offset = int(n.Raw.Offset)
		}
		path = append(path, string(n.Data))
	}
	if offset >= 0 {
		visit(path, len(prefix), offset)
	}
	return path
}

// exact is the line of path, or 0 when the document does not write it.
func (idx keyLines) exact(path []string) int {
	return idx[strings.Join(path, pathSep)]
}

// nearest is the line of path or of its closest written ancestor (a default
// applied to a provider points at the provider's table), or 0.
func (idx keyLines) nearest(path []string) int {
	for n := len(path); n > 0; n-- {
		if l := idx.exact(path[:n]); l > 0 {
			return l
		}
	}
	return 0
}
