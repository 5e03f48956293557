package tui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/authcli/authcli/internal/accounts"
	"github.com/authcli/authcli/internal/termtext"
)

// healthText is an identity's token state for people, from the accounts
// package's verdict: "valid, 59m left", "expires in 4m", "expired",
// "needs sign-in".
func healthText(id accounts.Identity, now time.Time) string {
	switch id.Health(now, accounts.DefaultExpiringWithin) {
	case accounts.HealthNeedsSignIn:
		return "needs sign-in"
	case accounts.HealthExpired:
		if id.Refreshable {
			return "expired, refreshable"
		}
		return "expired"
	case accounts.HealthExpiring:
		return "expires in " + shortDuration(id.TokenExpiry.Sub(now))
	}
	if id.TokenExpiry.IsZero() {
		return "valid, no expiry"
	}
	return "valid, " + shortDuration(id.TokenExpiry.Sub(now)) + " left"
}

// shortDuration is a compact, rounded-down duration: 45s, 12m, 3h5m, 4d.
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// fit truncates s to width cells (with an ellipsis) and pads it to exactly
// width.
func fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	s = truncate(s, width)
	return s + strings.Repeat(" ", width-ansi.StringWidth(s))
}

// truncate shortens s to width cells, with an ellipsis.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// wrap word-wraps plain text to width, breaking words longer than a line.
func wrap(s string, width int) []string {
	if width < 1 {
		width = 1
	}
	return strings.Split(ansi.Wrap(s, width, ""), "\n")
}

// hardwrap breaks s every width cells, for text that must be kept whole,
// like an address to copy.
func hardwrap(s string, width int) string {
	return ansi.Hardwrap(s, max(width, 1), true)
}

// claimValue renders one claim compactly: strings as they are, anything
// else as JSON.
func claimValue(v any) string {
	if s, ok := v.(string); ok {
		return termtext.Line(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return termtext.Line(fmt.Sprint(v))
	}
	return termtext.Line(string(b))
}

// timeText is a timestamp in UTC, or "—" when unknown.
func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
