package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"
)

// The spinner turns while an action runs: one frame every spinInterval.
const spinInterval = 100 * time.Millisecond

// spinFrames are the spinner's frames, one byte each.
const spinFrames = `|/-\`

// spinTickedMsg: time for the next frame of operation op's spinner. Ticks
// of an operation that ended are dropped, so only one chain of ticks runs.
type spinTickedMsg struct{ op int }

func spinTick(op int) tea.Cmd {
	return tea.Tick(spinInterval, func(time.Time) tea.Msg { return spinTickedMsg{op: op} })
}
