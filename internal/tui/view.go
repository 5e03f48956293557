package tui

import (
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
)

// View draws the whole screen on the alternate screen, so the shell's
// scrollback is left as it was.
func (m *Model) View() tea.View {
	v := tea.NewView(m.screenText())
	v.AltScreen = true
	return v
}

// screenText is the whole screen: a title, the current screen's body, and
// a footer with the running action or the last result, and the keys.
func (m *Model) screenText() string {
	footer := m.footer()
	height := m.bodyHeight()
	var body string
	switch m.screen {
	case screenDetails:
		m.details.setHeight(height) // the footer may have grown since
		body = m.details.view()
	case screenPicker:
		body = m.picker.view(m.width, height, m.state, m.st)
	case screenConfirm:
		body = m.confirm.view(m.width)
	default:
		body = m.listBody(height)
	}
	lines := strings.Split(body, "\n")
	if len(lines) > height {
		lines = lines[:height]
	}
	for len(lines) < height {
		lines = append(lines, "")
	}
	out := append([]string{m.titleLine(), ""}, lines...)
	out = append(out, "")
	out = append(out, footer...)
	return strings.Join(out, "\n")
}

func (m *Model) titleLine() string {
	where := ""
	switch m.screen {
	case screenDetails:
		where = " › details"
	case screenPicker:
		where = " › " + m.picker.title()
	case screenConfirm:
		where = " › confirm"
	}
	return truncate(m.st.title.Render("authcli accounts")+m.st.dim.Render(where), m.width)
}

func (m *Model) listBody(height int) string {
	switch {
	case !m.loaded:
		return "  Loading the accounts…"
	case m.state == nil:
		return "  The accounts could not be read; see below."
	case m.list.empty():
		return "  No accounts yet. Press l to sign in with a provider;\n  the first sign-in creates your first account.\n\n  New to authcli? Press q and run authcli demo to try it offline."
	}
	m.list.scroll(height)
	return m.list.view(m.width, height, m.opts.Now(), m.providerNames(), m.st)
}

// bodyHeight is what the title and the footer leave for the screen.
func (m *Model) bodyHeight() int {
	return max(m.height-3-len(m.footer()), 1)
}

// footer is the running action (spinner, sign-in address) or the last
// result, then the help for the current screen.
func (m *Model) footer() []string {
	var lines []string
	width := m.width
	switch {
	case m.busy != nil:
		label := m.busy.label + "…"
		if m.busy.canceled {
			label = "Canceling…"
		}
		first := wrap(label, width-4)
		lines = append(lines, m.st.spinner.Render(spinFrames[m.spin:m.spin+1])+" "+first[0])
		for _, l := range first[1:] {
			lines = append(lines, "  "+l)
		}
		if p := m.busy.prompt; p.URL != "" {
			say := "Finish in your browser. If it did not open, open this address (c copies it):"
			if p.UserCode != "" {
				// The device grant: no browser opens here, the person
				// goes to the page themselves and types the code.
				say = "No browser can be opened here: open this page in a browser and enter the code " + termtext.Line(p.UserCode) + " (c copies the address):"
			}
			for _, l := range wrap(say, width-2) {
				lines = append(lines, "  "+l)
			}
			// Hard-wrapped, never truncated: every character is needed.
			for _, l := range strings.Split(hardwrap(p.URL, width-2), "\n") {
				lines = append(lines, "  "+m.st.url.Render(l))
			}
		}
	case m.status.text != "":
		style := m.st.info
		switch m.status.kind {
		case statusDone:
			style = m.st.good
		case statusWarn:
			style = m.st.warn
		case statusError:
			style = m.st.bad
		}
		for _, l := range wrap(m.status.text, width-2) {
			lines = append(lines, "  "+style.Render(l))
		}
	}
	all := m.showHelp && m.busy == nil && m.screen != screenConfirm
	for _, l := range strings.Split(helpView(m.helpKeys(), width-2, all, m.st), "\n") {
		// help leaves a line whole when not even its ellipsis fits.
		lines = append(lines, "  "+truncate(l, width-2))
	}
	return lines
}

func (m *Model) helpKeys() helpKeys {
	switch {
	case m.busy != nil:
		return m.keys.busyHelp(m.busy.prompt.URL != "")
	case m.screen == screenConfirm:
		return m.keys.confirmHelp()
	case m.screen == screenDetails:
		return m.keys.detailsHelp()
	case m.screen == screenPicker:
		return m.keys.pickerHelp()
	case m.loaded && m.state != nil && m.list.empty():
		return m.keys.emptyHelp()
	}
	r, ok := m.list.selected()
	return m.keys.listHelp(ok && needsSignIn(r.id, m.opts.Now()))
}

// needsSignIn: only a new sign-in can give this identity a usable token.
func needsSignIn(id accounts.Identity, now time.Time) bool {
	switch id.Health(now, accounts.DefaultExpiringWithin) {
	case accounts.HealthNeedsSignIn:
		return true
	case accounts.HealthExpired:
		return !id.Refreshable
	}
	return false
}
