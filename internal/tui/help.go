package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"
)

// Key help: one line ("enter details • l link • …") or, with ?, columns of
// keys and what they do. Either stops with an ellipsis at the first item
// that does not fit the width.
const (
	shortHelpSeparator = " • "
	fullHelpSeparator  = "    "
	helpEllipsis       = " …"
)

// helpView draws the help for one screen's keys within width cells.
func helpView(k helpKeys, width int, all bool, s styles) string {
	if all {
		return fullHelpView(k.full, width, s)
	}
	return shortHelpView(k.short, width, s)
}

// helpFits reports whether an item of itemWidth cells goes after used
// cells; when it does not, tail is the ellipsis to end the help with. An
// item goes when it fits, and also when not even the ellipsis would: the
// footer then cuts the line at the screen's edge, ellipsis included.
func helpFits(used, itemWidth, width int, s styles) (tail string, fits bool) {
	if width <= 0 || used+itemWidth <= width {
		return "", true
	}
	if used+ansi.StringWidth(helpEllipsis) < width {
		return s.helpSep.Render(helpEllipsis), false
	}
	return "", true
}

func shortHelpView(bindings []key.Binding, width int, s styles) string {
	var b strings.Builder
	used := 0
	for _, kb := range bindings {
		if !kb.Enabled() {
			continue
		}
		sep := ""
		if used > 0 {
			sep = shortHelpSeparator
		}
		h := kb.Help()
		itemWidth := ansi.StringWidth(sep + h.Key + " " + h.Desc)
		if tail, fits := helpFits(used, itemWidth, width, s); !fits {
			b.WriteString(tail)
			break
		}
		used += itemWidth
		b.WriteString(s.helpSep.Render(sep) + s.helpKey.Render(h.Key) + " " + h.Desc)
	}
	return b.String()
}

// fullHelpView lays each group out as a column of keys and a column of
// descriptions; columns are top-aligned and padded to their width.
func fullHelpView(groups [][]key.Binding, width int, s styles) string {
	var cols [][]string // each column's lines, padded to its width
	used, rows := 0, 0
	for _, group := range groups {
		var keys, descs []string
		for _, kb := range group {
			if kb.Enabled() {
				keys = append(keys, kb.Help().Key)
				descs = append(descs, kb.Help().Desc)
			}
		}
		if len(keys) == 0 {
			continue
		}
		sep := ""
		if used > 0 {
			sep = fullHelpSeparator
		}
		keyWidth, descWidth := maxWidth(keys), maxWidth(descs)
		colWidth := len(sep) + keyWidth + 1 + descWidth
		if tail, fits := helpFits(used, colWidth, width, s); !fits {
			cols = append(cols, []string{tail})
			break
		}
		used += colWidth
		col := make([]string, len(keys))
		for i := range keys {
			col[i] = sep + s.helpKey.Render(pad(keys[i], keyWidth)) + " " + pad(descs[i], descWidth)
		}
		cols = append(cols, col)
		rows = max(rows, len(col))
	}
	lines := make([]string, rows)
	for _, col := range cols {
		colWidth := maxWidth(col)
		for i := range lines {
			cell := ""
			if i < len(col) {
				cell = col[i]
			}
			lines[i] += pad(cell, colWidth)
		}
	}
	return strings.Join(lines, "\n")
}

func maxWidth(lines []string) int {
	w := 0
	for _, l := range lines {
		w = max(w, ansi.StringWidth(l))
	}
	return w
}

// pad fills s with spaces to width cells.
func pad(s string, width int) string {
	return s + strings.Repeat(" ", max(width-ansi.StringWidth(s), 0))
}
