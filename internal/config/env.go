package config

import (
	"fmt"
	"strings"
)

// envIssue is a ${…} reference that could not be expanded, at byte offset
// Off of the string.
type envIssue struct {
	Off       int
	Msg, Hint string
}

// expandEnv replaces ${NAME} in s with the value lookup gives; $${ is a
// literal ${. Unset or malformed references expand to nothing and are
// reported.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []envIssue) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	var issues []envIssue
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				issues = append(issues, envIssue{Off: i, Msg: fmt.Sprintf("%q has no closing }", s[i:]),
					Hint: "write ${NAME}, or $${ for a literal ${"})
				return b.String(), issues
			}
			name := s[i+2 : i+end]
			switch v, ok := lookup(name); {
			case !isEnvName(name):
				issues = append(issues, envIssue{Off: i, Msg: fmt.Sprintf("%q is not an environment variable name", name),
					Hint: "use letters, digits and _, or write $${ for a literal ${"})
			case !ok:
				issues = append(issues, envIssue{Off: i, Msg: fmt.Sprintf("environment variable %s is not set", name),
					Hint: fmt.Sprintf("export %s before starting tandem, or write $${ for a literal ${", name)})
			default:
				b.WriteString(v)
			}
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), issues
}

func isEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}
