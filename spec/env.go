package spec

import (
	"fmt"
	"strings"
)

// expand replaces the variable references in s: ${VAR} by VAR's value, ${VAR:-default} by
// VAR's value or, when VAR is unset or empty, by default (itself expanded, and only when it is
// used), and $$ by a single $. Any other $ stays as written, so SQL text rarely needs
// escaping. A reference to an unset variable without a default is an error.
func expand(s string, env func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
		case '{':
			end := closingBrace(s, i+2)
			if end < 0 {
				return "", fmt.Errorf("unterminated %q: want ${VAR} or ${VAR:-default}, or $$ for a literal $", s[i:])
			}
			v, err := lookup(s[i+2:end], env)
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			i = end + 1
		default:
			b.WriteByte('$')
			i++
		}
	}
	return b.String(), nil
}

// closingBrace returns the index of the '}' that closes a reference whose body starts at
// from, counting nested references and skipping $$, or -1.
func closingBrace(s string, from int) int {
	depth := 1
	for j := from; j < len(s); j++ {
		switch {
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '$':
			j++
		case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
			depth++
			j++
		case s[j] == '}':
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return -1
}

// lookup resolves the body of one reference, "VAR" or "VAR:-default".
func lookup(body string, env func(string) (string, bool)) (string, error) {
	name, def, hasDefault := strings.Cut(body, ":-")
	if !isIdent(name) {
		return "", fmt.Errorf("bad variable reference ${%s}: want ${VAR} or ${VAR:-default} with VAR made of letters, digits and _", body)
	}
	v, ok := env(name)
	if ok && (v != "" || !hasDefault) {
		return v, nil
	}
	if hasDefault {
		return expand(def, env)
	}
	return "", fmt.Errorf("environment variable %s is not set (set it, or give a default: ${%s:-value})", name, name)
}
