// Package noprobe keeps bubbletea v1 from querying the terminal when the
// authcli binary starts.
//
// bubbletea v1's package init asks lipgloss whether the terminal has a dark
// background. When stdout is a terminal, that sends an OSC 11 query, puts
// the terminal in non-canonical mode and waits up to five seconds for an
// answer: a cost every command would pay (`authcli token` included), and
// it eats typed-ahead input. Importing this package first settles the
// answer without asking, so that init returns at once.
//
// It works because Go initialises packages in import-path order among those
// whose imports are ready: this package (github.com/authcli/…) needs only
// lipgloss and sorts before github.com/charmbracelet/bubbletea, so its init
// runs between lipgloss's and bubbletea's. Import it, blank, next to every
// import of bubbletea. The authcli TUI never relies on the default renderer:
// it builds its own, which never queries either.
package noprobe

import "github.com/charmbracelet/lipgloss"

// init is the one deliberate init side effect in authcli: it removes a
// slower, terminal-touching one from a dependency.
func init() {
	lipgloss.SetHasDarkBackground(true)
}
