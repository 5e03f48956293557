package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Ada Lovelace", "Ada Lovelace"},
		{"non-Latin letters stay", "Zoë 李 Ωμέγα", "Zoë 李 Ωμέγα"},
		{"emoji stay", "ok ✅", "ok ✅"},
		{"CSI clear screen", "a\x1b[2Jb", "a[2Jb"},
		{"OSC title with BEL", "x\x1b]0;pwned\x07y", "x]0;pwnedy"},
		{"C1 CSI", "a\u009b2Jb", "a2Jb"},
		{"C1 OSC and ST", "a\u009d0;t\u009cb", "a0;tb"},
		{"DEL and NUL", "a\x7f\x00b", "ab"},
		{"newlines become one space", "line1\r\n\n line2\tend", "line1 line2 end"},
		{"right-to-left override", "evil\u202Egnp.exe", "evilgnp.exe"},
		{"embeddings and pop", "a\u202Ab\u202Bc\u202Cd\u202De", "abcde"},
		{"isolates", "a\u2066b\u2067c\u2068d\u2069e", "abcde"},
		{"bidi marks", "a\u200Eb\u200Fc\u061Cd", "abcd"},
		{"zero-width space and joiners", "ad\u200Bmin\u200C\u200D", "admin"},
		{"word joiner and invisible operators", "a\u2060b\u2062c", "abc"},
		{"byte order mark", "\uFEFFname", "name"},
		{"soft hyphen", "ad\u00ADmin", "admin"},
		{"tag characters", "a\U000E0041\U000E007Fb", "ab"},
		{"Hangul filler", "a\u3164b", "ab"},
		{"line separator is a line break", "a\u2028b", "a b"},
		{"NEL is a line break", "a\u0085b", "a b"},
		{"private use", "a\uE000b", "ab"},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
		{"only controls", "\x1b\x07\u202E", ""},
		{"leading and trailing space", "  a  ", "a"},
	}
	for _, tt := range tests {
		if got := Line(tt.in); got != tt.want {
			t.Errorf("%s: Line(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestShort(t *testing.T) {
	long := strings.Repeat("é", 400)
	got := Short(long)
	if len(got) > MaxShort+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("Short of 800 bytes = %d bytes, valid %t", len(got), utf8.ValidString(got))
	}
	if Short("short") != "short" {
		t.Error("Short changed a short string")
	}
}

// FuzzLine: whatever the input, the output is valid UTF-8 on one line with
// no character Hidden reports, and Line is idempotent.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"a\x1b[2Jb", "evil\u202Egnp", "x\u200By", "\xff\xfe", "a\r\nb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Line(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if Hidden(r) || r == '\n' || r == '\r' || r == '\t' {
				t.Fatalf("Line(%q) kept %U", s, r)
			}
		}
		if Line(out) != out {
			t.Fatalf("not idempotent on %q", s)
		}
	})
}
