package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
)

// detailsModel shows one identity: profile, token state, scopes, and the
// raw profile claims the provider sent (never a token: the store has none).
// It scrolls when they do not fit; the root routes the keys.
type detailsModel struct {
	ref    identityRef
	lines  []string
	offset int // first line drawn
	width  int
	height int
}

func newDetailsModel(ref identityRef) detailsModel {
	return detailsModel{ref: ref, height: 1}
}

// refresh redraws the content (the state or the clock moved) at a size.
func (d *detailsModel) refresh(st *accounts.State, width, height int, now time.Time, names map[string]string, s styles) bool {
	acc, id, ok := findIdentity(st, d.ref)
	if !ok {
		return false
	}
	d.width = width
	d.lines = strings.Split(detailsText(acc, id, st.Default == acc.Name, width, now, names, s), "\n")
	d.setHeight(height)
	return true
}

// setHeight resizes the window, keeping it inside the content.
func (d *detailsModel) setHeight(height int) {
	d.height = max(height, 1)
	d.scroll(0)
}

// scroll moves the window by lines, stopping at the top and at the last
// full page.
func (d *detailsModel) scroll(lines int) {
	d.offset = min(max(d.offset+lines, 0), max(len(d.lines)-d.height, 0))
}

// view is the window: height lines, each cut and padded to the width.
func (d detailsModel) view() string {
	out := make([]string, d.height)
	for i := range out {
		line := ""
		if n := d.offset + i; n < len(d.lines) {
			line = ansi.Truncate(d.lines[n], d.width, "")
		}
		out[i] = pad(line, d.width)
	}
	return strings.Join(out, "\n")
}

// findIdentity looks ref up in the state the TUI last loaded.
func findIdentity(st *accounts.State, ref identityRef) (accounts.Account, accounts.Identity, bool) {
	if st == nil {
		return accounts.Account{}, accounts.Identity{}, false
	}
	acc, id, ok := st.Owner(ref.provider, ref.subject)
	if !ok || acc.Name != ref.account {
		return accounts.Account{}, accounts.Identity{}, false
	}
	return acc, id, true
}

func detailsText(acc accounts.Account, id accounts.Identity, isDefault bool, width int, now time.Time, names map[string]string, s styles) string {
	const labelWidth = 16
	valueWidth := max(width-labelWidth-2, 10)
	var b strings.Builder
	field := func(label, value string) {
		lines := wrap(value, valueWidth)
		for i, l := range lines {
			name := ""
			if i == 0 {
				name = label
			}
			fmt.Fprintf(&b, "  %s%s\n", s.label.Render(fit(name, labelWidth)), l)
		}
	}
	title := fmt.Sprintf("%s identity on account %s", providerName(id.Provider, names), termtext.Line(acc.Name))
	if isDefault {
		title += " (default)"
	}
	b.WriteString("  " + s.title.Render(truncate(title, width-2)) + "\n\n")

	field("Provider", fmt.Sprintf("%s (%s)", providerName(id.Provider, names), termtext.Line(id.Provider)))
	field("Subject", termtext.Line(id.Subject))
	if id.Name != "" {
		field("Name", termtext.Line(id.Name))
	}
	email := termtext.Line(id.Email)
	switch {
	case email == "":
		email = "—"
	case id.EmailVerified:
		email += " (verified)"
	default:
		email += " (not verified)"
	}
	field("Email", email)
	if id.AvatarURL != "" {
		field("Avatar", termtext.Line(id.AvatarURL))
	}
	field("Token", healthText(id, now))
	expiry := "none given by the provider"
	if !id.TokenExpiry.IsZero() {
		expiry = timeText(id.TokenExpiry)
	}
	field("Expires", expiry)
	refresh := "no: sign in again when it expires"
	if id.Refreshable {
		refresh = "yes"
	}
	field("Refreshable", refresh)
	scopes := "—"
	if len(id.Scopes) > 0 {
		scopes = termtext.Line(strings.Join(id.Scopes, " "))
	}
	field("Scopes", scopes)
	field("Linked", timeText(id.LinkedAt))
	field("Last used", timeText(id.LastUsedAt))

	b.WriteString("\n  " + s.title.Render("Claims") + "\n")
	if len(id.Claims) == 0 {
		b.WriteString("  " + s.dim.Render("none recorded") + "\n")
	}
	keys := make([]string, 0, len(id.Claims))
	for k := range id.Claims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		field(termtext.Line(k), claimValue(id.Claims[k]))
	}
	return strings.TrimRight(b.String(), "\n")
}
