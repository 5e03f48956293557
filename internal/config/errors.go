package config

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors callers branch on; each is reachable with errors.Is from the
// *Error that reports it.
var (
	// ErrNotFound: the config file does not exist.
	ErrNotFound = errors.New("config file not found")
	// ErrUnknownProvider: File.Provider was asked for a name that is not
	// configured (or nothing is configured at all).
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrNoDefaultProvider: File.Provider("") cannot choose among several
	// providers because default_provider is unset.
	ErrNoDefaultProvider = errors.New("no default provider")
)

// Error is every error this package returns from Load, Parse and
// File.Provider: one plain sentence locating the problem in the file. It never
// holds the value of a secret.
type Error struct {
	File    string // config file path; empty when unknown
	Line    int    // 1-based; 0 when unknown
	Key     string // dotted key path, e.g. providers.corp.issuer; empty when not about one key
	Problem string // what is wrong and, when it helps, what to do
	// Err is the sentinel or underlying cause, for errors.Is and errors.As.
	Err error
}

// Error renders "config FILE:LINE: KEY: PROBLEM", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(" " + e.File + ":" + strconv.Itoa(e.Line))
	case e.File != "":
		b.WriteString(" " + e.File)
	case e.Line > 0:
		b.WriteString(" line " + strconv.Itoa(e.Line))
	}
	if e.Key != "" {
		b.WriteString(": " + e.Key)
	}
	b.WriteString(": " + e.Problem)
	return b.String()
}

// Unwrap exposes the sentinel or cause.
func (e *Error) Unwrap() error { return e.Err }

// formatKey renders a key path the way it would be written in TOML, quoting
// parts that are not bare keys so that odd provider names stay readable.
func formatKey(path []string) string {
	parts := make([]string, len(path))
	for i, p := range path {
		if isBareKey(p) {
			parts[i] = p
		} else {
			parts[i] = strconv.Quote(p)
		}
	}
	return strings.Join(parts, ".")
}

func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// quoteValue quotes a non-secret value (a kind, a provider name) for an error
// message, cut short so a pasted blob cannot flood the terminal.
func quoteValue(s string) string {
	const max = 40
	r := []rune(s)
	if len(r) > max {
		return strconv.Quote(string(r[:max])) + "…"
	}
	return strconv.Quote(s)
}

// suggest returns the candidate closest to word when it is within edit
// distance 2 (and closer than the word is long, so "x" does not suggest "id").
// Suggest is the "did you mean" of config keys for other misspellings (a
// command or flag name): the closest candidate within two edits of word,
// a transposition counting as one, or "" when none is that close.
func Suggest(word string, candidates []string) string { return suggest(word, candidates) }

func suggest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		d := editDistance(strings.ToLower(word), c)
		if d < bestDist && d < len([]rune(word)) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau (optimal string alignment) distance, so a
// transposition like "isseur" counts as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	// Long inputs cannot be within distance 2 of a short key; skip the work.
	if d := len(ra) - len(rb); d > 2 || d < -2 {
		return 3
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
