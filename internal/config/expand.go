package config

import (
	"strings"
)

// expand replaces ${VAR} references in s from getenv and turns $$ into $.
// Its error is a problem sentence for an *Error; it names the variable but
// never the value of s, which may be a secret.
func expand(s string, getenv func(string) string) (string, string) {
	if !strings.Contains(s, "$") {
		return s, ""
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			b.WriteByte(c)
			i++
			continue
		}
		switch {
		case i+1 < len(s) && s[i+1] == '$':
			b.WriteByte('$')
			i += 2
		case i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return "", "has a ${ without a closing }; write $$ for a literal $"
			}
			name := s[i+2 : i+2+end]
			if !isEnvName(name) {
				return "", "has a ${...} that is not a variable name (letters, digits and _, not starting with a digit); write $$ for a literal $"
			}
			v := getenv(name)
			if v == "" {
				return "", "environment variable " + name + " is not set; export it before running authcli"
			}
			b.WriteString(v)
			i += 2 + end + 1
		default:
			return "", "has a $ that is not part of ${NAME}; write $$ for a literal $"
		}
	}
	return b.String(), ""
}

func isEnvName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
