package tui

import (
	"fmt"
	"slices"
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

// linkable is what the picker offers for account: the providers it has no
// identity at yet (a second identity at the same provider is rare enough
// to leave to authcli link). A first sign-in (account "") offers all.
func linkable(providers []Provider, st *accounts.State, account string) []Provider {
	if st == nil || account == "" {
		return providers
	}
	acc, ok := st.Account(account)
	if !ok {
		return providers
	}
	out := make([]Provider, 0, len(providers))
	for _, pr := range providers {
		if !slices.ContainsFunc(acc.Identities, func(id accounts.Identity) bool { return id.Provider == pr.Name }) {
			out = append(out, pr)
		}
	}
	return out
}

// view lists the providers the picker offers.
func (p pickerModel) view(width, height int, st *accounts.State, s styles) string {
	var lines []string
	if p.err != nil {
		for _, l := range wrap("The providers could not be read: "+termtext.Line(p.err.Error()), width-4) {
			lines = append(lines, "  "+s.bad.Render(l))
		}
	}
	if p.err == nil && len(p.providers) == 0 {
		if p.account != "" && st != nil && len(st.Accounts) > 0 {
			lines = append(lines, "  Account "+termtext.Line(p.account)+" is linked to every configured provider: add a [providers.NAME] table to the config file to link another.")
		} else {
			lines = append(lines, "  No providers are configured: add a [providers.NAME] table to the config file.")
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
		if !pr.Ready {
			note = s.bad.Render(truncate("not ready: "+termtext.Line(pr.Problem), width-nameWidth-6))
		}
		lines = append(lines, strings.TrimRight(prefix+name+"  "+note, " "))
	}
	if len(lines) > height {
		start := min(max(p.cursor-height+1, 0), len(lines)-height)
		lines = lines[start : start+height]
	}
	return strings.Join(lines, "\n")
}
