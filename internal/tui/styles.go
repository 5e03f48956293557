package tui

import (
	"io"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles are built per program from its own renderer, never at package
// level: lipgloss's default renderer belongs to whatever os.Stdout is when
// the binary starts, and asking it about the terminal costs a round trip.
// Colours are plain ANSI ones that read on dark and light backgrounds
// alike, so the background never needs to be queried; with NO_COLOR (or
// when the output is not a terminal) everything is plain text, and the
// cursor and markers are characters, not colours.
type styles struct {
	title    lipgloss.Style
	account  lipgloss.Style
	marker   lipgloss.Style // the default account's mark
	selected lipgloss.Style
	dim      lipgloss.Style
	label    lipgloss.Style
	good     lipgloss.Style
	warn     lipgloss.Style
	bad      lipgloss.Style
	info     lipgloss.Style
	url      lipgloss.Style
	dialog   lipgloss.Style
	spinner  lipgloss.Style
	help     help.Styles
}

// newRenderer makes the program's renderer for out. It never asks the
// terminal anything: the background is declared dark (only adaptive colours
// would care, and none are used) and NO_COLOR forces plain text.
func newRenderer(out io.Writer, getenv func(string) string) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(out, termenv.WithEnvironment(environ{getenv}))
	r.SetHasDarkBackground(true)
	if getenv("NO_COLOR") != "" {
		r.SetColorProfile(termenv.Ascii)
	}
	return r
}

// environ gives termenv the injected environment instead of the process's.
type environ struct{ getenv func(string) string }

func (e environ) Environ() []string         { return nil }
func (e environ) Getenv(name string) string { return e.getenv(name) }

func newStyles(r *lipgloss.Renderer) styles {
	c := func(ansi string) lipgloss.Color { return lipgloss.Color(ansi) }
	s := styles{
		title:    r.NewStyle().Bold(true),
		account:  r.NewStyle().Bold(true),
		marker:   r.NewStyle().Foreground(c("6")),
		selected: r.NewStyle().Reverse(true),
		dim:      r.NewStyle().Faint(true),
		label:    r.NewStyle().Bold(true),
		good:     r.NewStyle().Foreground(c("2")),
		warn:     r.NewStyle().Foreground(c("3")),
		bad:      r.NewStyle().Foreground(c("1")),
		info:     r.NewStyle().Foreground(c("6")),
		url:      r.NewStyle().Underline(true),
		dialog:   r.NewStyle().Border(lipgloss.NormalBorder()).Padding(0, 1),
		spinner:  r.NewStyle().Foreground(c("6")),
	}
	s.help = help.Styles{
		Ellipsis:       r.NewStyle().Faint(true),
		ShortKey:       r.NewStyle().Bold(true),
		ShortDesc:      r.NewStyle(),
		ShortSeparator: r.NewStyle().Faint(true),
		FullKey:        r.NewStyle().Bold(true),
		FullDesc:       r.NewStyle(),
		FullSeparator:  r.NewStyle().Faint(true),
	}
	return s
}
