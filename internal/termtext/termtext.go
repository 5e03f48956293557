// Package termtext is the one sanitiser for text that authcli did not
// write and shows in a terminal: provider error descriptions, names,
// emails and claims, config display names, device codes and URLs.
//
// Such text must not drive the terminal (C0 and C1 controls start escape
// sequences: ESC [2J clears the screen, OSC 52 writes the clipboard), nor
// make what the person reads differ from what is there: bidi embeddings,
// overrides and isolates reorder what follows them (the "Trojan Source"
// trick), and zero-width or other invisible formatting characters hide
// inside a name or make two different names look the same.
package termtext

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxShort is how many bytes Short keeps: enough for any honest error
// description or name, short of filling the screen.
const MaxShort = 300

// Line returns s as one safe terminal line: line breaks and tabs become
// spaces, runs of spaces one space, and every control, bidi or invisible
// formatting character is removed. Invalid UTF-8 shows as U+FFFD.
func Line(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\r' || r == '\t' || unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case Hidden(r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Short is Line cut to MaxShort bytes on a rune boundary, with "…" when
// something was cut.
func Short(s string) string { return Truncate(Line(s), MaxShort) }

// Truncate cuts s to at most max bytes on a rune boundary, ending in "…"
// when it cut.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + "…"
}

// Hidden reports whether r must never reach a terminal from outside text:
//   - C0 controls, DEL and C1 controls (unicode.Cc), which start or are
//     terminal control sequences;
//   - format characters (unicode.Cf): bidi marks, embeddings, overrides and
//     isolates (U+200E-F, U+202A-E, U+2066-9, U+061C), zero-width space,
//     joiners and word joiner (U+200B-D, U+2060-4), the byte order mark,
//     soft hyphen, the Mongolian vowel separator, interlinear annotation
//     and tag characters;
//   - characters that draw as nothing yet are not spaces: the Hangul
//     fillers (U+115F, U+1160, U+3164, U+FFA0) and the braille blank
//     (U+2800);
//   - line and paragraph separators (U+2028, U+2029), which some terminals
//     treat as line breaks;
//   - private-use and unassigned code points, whose rendering nobody can
//     predict, and surrogates.
func Hidden(r rune) bool {
	switch r {
	case 0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x2028, 0x2029:
		return true
	}
	return unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) ||
		unicode.Is(unicode.Cs, r) || !unicode.Is(unicode.L, r) && !unicode.Is(unicode.M, r) &&
		!unicode.Is(unicode.N, r) && !unicode.Is(unicode.P, r) && !unicode.Is(unicode.S, r) &&
		!unicode.Is(unicode.Z, r)
}
