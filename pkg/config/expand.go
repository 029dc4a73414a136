package config

import (
	"errors"
	"fmt"
	"strings"
)

// unsetError reports a ${VAR} without a default whose variable is unset.
type unsetError struct{ name string }

func (e *unsetError) Error() string {
	return fmt.Sprintf("environment variable %q is not set", e.name)
}

// expand replaces ${VAR} with the variable's value and ${VAR:-default} with
// the value, or default when the variable is unset or empty; "$${" is a
// literal "${". A lone "$" is left alone, so prompts may contain "$x$" or
// "$$". expanded reports whether any variable was substituted.
func expand(s string, lookup envLookup) (out string, expanded bool, err error) {
	if !strings.Contains(s, "${") {
		return s, false, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$${") {
			b.WriteString("${")
			i += 3
			continue
		}
		if !strings.HasPrefix(s[i:], "${") {
			b.WriteByte(s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", false, errors.New(`unterminated "${" (write "$${" for a literal "${")`)
		}
		body := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !validVarName(name) {
			return "", false, fmt.Errorf("invalid variable name %q in \"${%s}\"", name, body)
		}
		val, ok := lookup(name)
		switch {
		case hasDef && val == "":
			val = def
		case !ok:
			return "", false, &unsetError{name: name}
		}
		b.WriteString(val)
		expanded = true
		i += 2 + end + 1
	}
	return b.String(), expanded, nil
}

// varNames returns the names of the variables s expands, in order, with
// repeats; s is text expand accepted.
func varNames(s string) []string {
	var names []string
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				return names
			}
			name, _, _ := strings.Cut(s[i+2:i+2+end], ":-")
			names = append(names, name)
			i += 2 + end + 1
		default:
			i++
		}
	}
	return names
}

// validVarName reports whether s is a shell-style variable name.
func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
