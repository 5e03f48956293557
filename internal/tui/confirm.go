package tui

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
)

// confirmModel asks a yes/no question before a change that cannot be
// undone; no is the answer to everything but y.
type confirmModel struct {
	question string
	detail   string
	yes      func() tea.Cmd
	back     screen // where "no" returns
}

func (c confirmModel) view(width int, s styles) string {
	inner := min(max(width-8, 20), 70)
	var body []string
	body = append(body, wrap(c.question, inner)...)
	if c.detail != "" {
		body = append(body, "")
		body = append(body, wrap(c.detail, inner)...)
	}
	body = append(body, "", "y: yes   n/esc: no")
	box := s.dialog.Width(inner + 2).Render(strings.Join(body, "\n"))
	lines := strings.Split(box, "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}
