package tui

import "charm.land/bubbles/v2/key"

// keyMap holds every binding; each screen picks the ones that apply, and
// help (`?`) is generated from the same bindings.
type keyMap struct {
	Up, Down, PageUp, PageDown key.Binding

	Details, Back, Choose key.Binding

	Link, Unlink, Refresh, SignIn, Default, Copy key.Binding

	Yes, No key.Binding

	Cancel, CopyURL key.Binding

	Help, Quit key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "f", "space"), key.WithHelp("pgdn/f", "page down")),

		Details: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
		Back:    key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Choose:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),

		Link:    key.NewBinding(key.WithKeys("l", "a"), key.WithHelp("l", "link")),
		Unlink:  key.NewBinding(key.WithKeys("u", "delete"), key.WithHelp("u", "unlink")),
		Refresh: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		SignIn:  key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "sign in again")),
		Default: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "make default")),
		Copy:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy token")),

		Yes: key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:  key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no")),

		Cancel:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		CopyURL: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy the URL")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}

// helpKeys is one screen's bindings for helpView: one line of the main
// ones, and columns of them all for ?.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

// listHelp offers "sign in again" instead of "refresh" in the short help
// when the selected identity cannot be refreshed.
func (k keyMap) listHelp(needsSignIn bool) helpKeys {
	renew := k.Refresh
	if needsSignIn {
		renew = k.SignIn
	}
	return helpKeys{
		short: []key.Binding{k.Details, k.Link, k.Unlink, renew, k.Copy, k.Help, k.Quit},
		full: [][]key.Binding{
			{k.Up, k.Down, k.Details},
			{k.Link, k.Unlink, k.SignIn},
			{k.Refresh, k.Copy, k.Default},
			{k.Help, k.Quit},
		},
	}
}

func (k keyMap) emptyHelp() helpKeys {
	signIn := key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "sign in"))
	return helpKeys{
		short: []key.Binding{signIn, k.Help, k.Quit},
		full:  [][]key.Binding{{signIn}, {k.Help, k.Quit}},
	}
}

func (k keyMap) detailsHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Back, k.Refresh, k.SignIn, k.Copy, k.Help, k.Quit},
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown},
			{k.Refresh, k.SignIn, k.Copy},
			{k.Unlink, k.Default},
			{k.Back, k.Help, k.Quit},
		},
	}
}

func (k keyMap) pickerHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Up, k.Down, k.Choose, k.Back, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down}, {k.Choose, k.Back}, {k.Help, k.Quit}},
	}
}

func (k keyMap) confirmHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Yes, k.No},
		full:  [][]key.Binding{{k.Yes, k.No}},
	}
}

func (k keyMap) busyHelp(hasURL bool) helpKeys {
	short := []key.Binding{k.Cancel}
	if hasURL {
		short = append(short, k.CopyURL)
	}
	short = append(short, k.Quit)
	return helpKeys{short: short, full: [][]key.Binding{short}}
}
