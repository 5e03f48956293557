package tui

import (
	"strings"
	"time"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
)

// listRow is an account heading or one of its identities.
type listRow struct {
	account   string
	isDefault bool
	header    bool
	id        accounts.Identity
}

func (r listRow) ref() identityRef {
	return identityRef{account: r.account, provider: r.id.Provider, subject: r.id.Subject}
}

// listModel is the accounts screen: every account with its identities. The
// cursor only ever rests on an identity; account actions (link, default)
// apply to the selected identity's account.
type listModel struct {
	rows   []listRow
	cursor int
	offset int // first row drawn
}

// newListModel lays the state out, keeping the cursor on keep when it is
// still there, else on the first identity of keep's account, else on the
// first identity.
func newListModel(st *accounts.State, keep identityRef) listModel {
	var l listModel
	if st == nil {
		return l
	}
	sameAccount := -1
	l.cursor = -1
	for _, a := range st.Accounts {
		l.rows = append(l.rows, listRow{account: a.Name, isDefault: a.Name == st.Default, header: true})
		for _, id := range a.Identities {
			r := listRow{account: a.Name, isDefault: a.Name == st.Default, id: id}
			if r.ref() == keep {
				l.cursor = len(l.rows)
			}
			if sameAccount < 0 && a.Name == keep.account {
				sameAccount = len(l.rows)
			}
			l.rows = append(l.rows, r)
		}
	}
	switch {
	case l.cursor >= 0:
	case sameAccount >= 0:
		l.cursor = sameAccount
	default:
		l.cursor = 0
		l.move(1)
	}
	return l
}

func (l listModel) empty() bool { return len(l.rows) == 0 }

// selected is the identity under the cursor.
func (l listModel) selected() (listRow, bool) {
	if l.cursor < 0 || l.cursor >= len(l.rows) || l.rows[l.cursor].header {
		return listRow{}, false
	}
	return l.rows[l.cursor], true
}

// move steps the cursor by delta identities, skipping headings and
// stopping at the ends.
func (l *listModel) move(delta int) {
	step := 1
	if delta < 0 {
		step, delta = -1, -delta
	}
	for ; delta > 0; delta-- {
		next := l.cursor + step
		for next >= 0 && next < len(l.rows) && l.rows[next].header {
			next += step
		}
		if next < 0 || next >= len(l.rows) {
			break
		}
		l.cursor = next
	}
}

// scroll keeps the cursor, and the heading of its account when it fits,
// inside a window of height rows.
func (l *listModel) scroll(height int) {
	if height < 1 {
		height = 1
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+height {
		l.offset = l.cursor - height + 1
	}
	if h := l.cursor - 1; h >= 0 && h < l.offset && l.rows[h].header && l.cursor-h < height {
		l.offset = h
	}
	if l.offset < 0 {
		l.offset = 0
	}
}

// columns splits the width between provider, email, subject and health.
type columns struct{ provider, email, subject, health int }

const cursorWidth = 4 // "  > " or four spaces

func layoutColumns(width int) columns {
	rest := width - cursorWidth
	c := columns{health: 20}
	switch {
	case rest >= 70:
		c.provider, c.subject = 16, 14
	case rest >= 56:
		c.provider, c.subject = 12, 10
	case rest >= 40:
		c.provider = 12 // no subject column: see the details
	default:
		c.health = max(rest/2, 1)
		c.provider = rest - c.health - 1
		return c
	}
	gaps := 2
	if c.subject > 0 {
		gaps = 3
	}
	c.email = rest - c.provider - c.subject - c.health - 2*gaps
	if c.subject > 0 && c.email > 32 {
		// Wide terminals: long subjects (Google's are 21 digits) get the room.
		c.subject += c.email - 32
		c.email = 32
	}
	return c
}

// view draws the rows of the window.
func (l listModel) view(width, height int, now time.Time, names map[string]string, s styles) string {
	cols := layoutColumns(width)
	var b strings.Builder
	end := min(l.offset+height, len(l.rows))
	for i := l.offset; i < end; i++ {
		r := l.rows[i]
		if i > l.offset {
			b.WriteByte('\n')
		}
		if r.header {
			b.WriteString("  " + s.account.Render(truncate(termtext.Line(r.account), width-14)))
			if r.isDefault {
				b.WriteString("  " + s.marker.Render("(default)"))
			}
			continue
		}
		prefix := "    "
		if i == l.cursor {
			prefix = "  > "
		}
		var cells []string
		cells = append(cells, fit(providerName(r.id.Provider, names), cols.provider))
		if cols.email > 0 {
			email := termtext.Line(r.id.Email)
			if email == "" {
				email = "—"
			}
			cells = append(cells, fit(email, cols.email))
		}
		if cols.subject > 0 {
			cells = append(cells, fit(termtext.Line(r.id.Subject), cols.subject))
		}
		text := strings.Join(cells, "  ")
		health := truncate(healthText(r.id, now), cols.health)
		if i == l.cursor {
			text = s.selected.Render(text)
		}
		b.WriteString(prefix + text + "  " + healthStyle(r.id, now, s).Render(health))
	}
	return b.String()
}

// providerName is the configured display name, else the provider's name.
func providerName(provider string, names map[string]string) string {
	if n := names[provider]; n != "" {
		return termtext.Line(n)
	}
	return termtext.Line(provider)
}

func healthStyle(id accounts.Identity, now time.Time, s styles) style {
	switch id.Health(now, accounts.DefaultExpiringWithin) {
	case accounts.HealthValid:
		return s.good
	case accounts.HealthExpiring:
		return s.warn
	case accounts.HealthExpired:
		if id.Refreshable {
			return s.warn
		}
	}
	return s.bad
}
