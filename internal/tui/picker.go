package tui

import (
	"fmt"
	"strings"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
)

// pickerModel chooses the provider to link to an account, or, when there
// are no accounts yet, the provider of a first sign-in (account "").
type pickerModel struct {
	account   string
	providers []Provider
	err       error
	cursor    int
}

func newPickerModel(account string, providers []Provider, err error) pickerModel {
	return pickerModel{account: account, providers: providers, err: err}
}

func (p *pickerModel) move(delta int) {
	p.cursor = min(max(p.cursor+delta, 0), max(len(p.providers)-1, 0))
}

func (p pickerModel) selected() (Provider, bool) {
	if p.cursor < 0 || p.cursor >= len(p.providers) {
		return Provider{}, false
	}
	return p.providers[p.cursor], true
}

func (p pickerModel) title() string {
	if p.account == "" {
		return "Sign in with a provider"
	}
	return "Link a provider to account " + termtext.Line(p.account)
}

// view lists the providers; ones the account already has an identity at
// are marked, since linking a second identity there is allowed but rare.
func (p pickerModel) view(width, height int, st *accounts.State, s styles) string {
	var lines []string
	if p.err != nil {
		for _, l := range wrap("The providers could not be read: "+termtext.Line(p.err.Error()), width-4) {
			lines = append(lines, "  "+s.bad.Render(l))
		}
	}
	if p.err == nil && len(p.providers) == 0 {
		lines = append(lines, "  No providers are configured: add a [providers.NAME] table to the config file.")
	}
	linked := map[string]bool{}
	if st != nil {
		if acc, ok := st.Account(p.account); ok {
			for _, id := range acc.Identities {
				linked[id.Provider] = true
			}
		}
	}
	nameWidth := max(min(width/2, 40), 10)
	for i, pr := range p.providers {
		prefix := "    "
		if i == p.cursor {
			prefix = "  > "
		}
		name := fmt.Sprintf("%s (%s)", termtext.Line(pr.DisplayName), termtext.Line(pr.Name))
		if pr.DisplayName == "" || pr.DisplayName == pr.Name {
			name = termtext.Line(pr.Name)
		}
		name = fit(name, nameWidth)
		if i == p.cursor {
			name = s.selected.Render(name)
		}
		var note string
		switch {
		case !pr.Ready:
			note = s.bad.Render(truncate("not ready: "+termtext.Line(pr.Problem), width-nameWidth-6))
		case linked[pr.Name]:
			note = s.dim.Render("already linked")
		}
		lines = append(lines, strings.TrimRight(prefix+name+"  "+note, " "))
	}
	if len(lines) > height {
		start := min(max(p.cursor-height+1, 0), len(lines)-height)
		lines = lines[start : start+height]
	}
	return strings.Join(lines, "\n")
}
