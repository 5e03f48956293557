package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// confirmModel asks a yes/no question before a change that cannot be
// undone; no is the answer to everything but y.
type confirmModel struct {
	question string
	detail   string
	yes      func() tea.Cmd
	back     screen // where "no" returns
}

// view draws the question in a box: a plain line border, one space of
// padding, the text wrapped inside.
func (c confirmModel) view(width int) string {
	inner := min(max(width-8, 20), 70)
	var body []string
	body = append(body, wrap(c.question, inner)...)
	if c.detail != "" {
		body = append(body, "")
		body = append(body, wrap(c.detail, inner)...)
	}
	body = append(body, "", "y: yes   n/esc: no")
	rule := strings.Repeat("─", inner+2)
	lines := []string{"  ┌" + rule + "┐"}
	for _, l := range body {
		lines = append(lines, "  │ "+fit(l, inner)+" │")
	}
	lines = append(lines, "  └"+rule+"┘")
	return strings.Join(lines, "\n")
}
