package tui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/authcli/authcli/internal/termtext"
	"github.com/charmbracelet/colorprofile"
)

// TestColors: colour and text attributes follow the profile Bubble Tea
// detects inside Run, and NO_COLOR always wins.
func TestColors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		profile colorprofile.Profile
		colored bool
	}{
		{"256-colour terminal", nil, colorprofile.ANSI256, true},
		{"16-colour terminal", nil, colorprofile.ANSI, true},
		{"NO_COLOR on a terminal", map[string]string{"NO_COLOR": "1"}, colorprofile.ASCII, false},
		{"NO_COLOR wins over a colour profile", map[string]string{"NO_COLOR": "yes"}, colorprofile.TrueColor, false},
		{"not a terminal", nil, colorprofile.NoTTY, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(&syncBuffer{})
			opts.Getenv = func(k string) string { return tt.env[k] }
			m := New(context.Background(), newFake(t), opts)
			m.Update(m.load()())
			m.Update(tea.ColorProfileMsg{Profile: tt.profile})
			out := m.View().Content
			if !strings.Contains(out, "bob@example.com") {
				t.Fatalf("the accounts are not listed:\n%s", out)
			}
			if got := strings.Contains(out, "\x1b["); got != tt.colored {
				t.Errorf("escape sequences: %t, want %t: %q", got, tt.colored, out)
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	tests := []struct{ got, want string }{
		{fit("abcdef", 4), "abc…"},
		{fit("ab", 4), "ab  "},
		{truncate("abcdef", 6), "abcdef"},
		{truncate("abcdef", 3), "ab…"},
		{shortDuration(45e9), "45s"},
		{shortDuration(12 * 60e9), "12m"},
		{shortDuration(185 * 60e9), "3h5m"},
		{shortDuration(120 * 60e9), "2h"},
		{shortDuration(100 * 3600e9), "4d"},
		{termtext.Line("a\n b\tc\x1b[1m\u009b"), "a b c[1m"},
		{claimValue([]any{"x", 1.5}), `["x",1.5]`},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}
