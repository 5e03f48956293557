package tui

import (
	"strings"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

// style is a set of SGR attributes; the zero style draws text as it is.
//
// The TUI styles text itself instead of with Lip Gloss: Lip Gloss v2
// detects the colour profile of os.Stdout when its package initialises,
// which reads the terminfo database and, inside tmux, runs `tmux info` at
// the start of every authcli command. Bubble Tea v2 alone detects the
// profile inside Run, and downsamples what these styles emit to it.
type style struct{ sgr ansi.Style }

// Render wraps each line of text in the style, so that a line never
// carries attributes into the next.
func (s style) Render(text string) string {
	if len(s.sgr) == 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = s.sgr.Styled(l)
	}
	return strings.Join(lines, "\n")
}

// styles are values built per program, never at package level, and never
// from a question to the terminal. Colours are plain ANSI ones that read
// on dark and light backgrounds alike, so the background is never queried.
// When colour is off (NO_COLOR, or output that is not a colour terminal)
// every style is plain text, with no bold or reverse either, and the
// cursor and markers are characters, not colours.
type styles struct {
	title    style
	account  style
	marker   style // the default account's mark
	selected style
	dim      style
	label    style
	good     style
	warn     style
	bad      style
	info     style
	url      style
	spinner  style
	helpKey  style
	helpSep  style // separators and the ellipsis of the key help
}

// colorful decides whether the screen gets colours and text attributes:
// NO_COLOR (any non-empty value, as no-color.org says) always turns them
// off, and so does a profile below ANSI (not a terminal, TERM=dumb, or
// Bubble Tea's reading of NO_COLOR on a terminal).
func colorful(profile colorprofile.Profile, getenv func(string) string) bool {
	return getenv("NO_COLOR") == "" && profile >= colorprofile.ANSI
}

// newStyles builds the styles; with colored false they are all plain, so
// what they render is the text itself.
func newStyles(colored bool) styles {
	if !colored {
		return styles{}
	}
	bold := style{ansi.NewStyle().Bold()}
	faint := style{ansi.NewStyle().Faint()}
	fg := func(c ansi.BasicColor) style { return style{ansi.NewStyle().ForegroundColor(c)} }
	return styles{
		title:    bold,
		account:  bold,
		marker:   fg(ansi.Cyan),
		selected: style{ansi.NewStyle().Reverse(true)},
		dim:      faint,
		label:    bold,
		good:     fg(ansi.Green),
		warn:     fg(ansi.Yellow),
		bad:      fg(ansi.Red),
		info:     fg(ansi.Cyan),
		url:      style{ansi.NewStyle().Underline(true)},
		spinner:  fg(ansi.Cyan),
		helpKey:  bold,
		helpSep:  faint,
	}
}
