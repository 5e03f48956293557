package tui

import (
	"io"
	"strings"
	"testing"
)

func TestNoColor(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		colored bool
	}{
		{"forced colour", map[string]string{"CLICOLOR_FORCE": "1"}, true},
		{"NO_COLOR wins", map[string]string{"CLICOLOR_FORCE": "1", "NO_COLOR": "1"}, false},
		{"not a terminal", map[string]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStyles(newRenderer(io.Discard, func(k string) string { return tt.env[k] }))
			out := s.good.Render("valid") + s.selected.Render("row") + s.title.Render("title")
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
		{oneLine("a\n b\tc\x1b[1m\u009b"), "a b c[1m"},
		{claimValue([]any{"x", 1.5}), `["x",1.5]`},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}
