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
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		expr := p.Expression()
		switch expr.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = idx.addKey(lines, nil, expr.Key())
		case unstable.KeyValue:
			idx.addKeyValue(lines, table, expr, 0)
		}
	}
	return idx
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

func (idx keyLines) addKeyValue(lines lineTable, table []string, kv *unstable.Node, depth int) {
	path := idx.addKey(lines, table, kv.Key())
	v := kv.Value()
	if v == nil || v.Kind != unstable.InlineTable || depth >= maxInlineDepth {
		return
	}
	children := v.Children()
	for children.Next() {
		if c := children.Node(); c.Kind == unstable.KeyValue {
			idx.addKeyValue(lines, path, c, depth+1)
		}
	}
}

// addKey records prefix+key and each dotted prefix of it at the key's line,
// and returns the full path.
func (idx keyLines) addKey(lines lineTable, prefix []string, it unstable.Iterator) []string {
	path := append([]string(nil), prefix...)
	line := 0
	for it.Next() {
		n := it.Node()
		if line == 0 {
			line = lines.line(int(n.Raw.Offset))
		}
		path = append(path, string(n.Data))
		k := strings.Join(path, pathSep)
		if _, seen := idx[k]; !seen {
			idx[k] = line
		}
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
