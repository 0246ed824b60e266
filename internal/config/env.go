package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// sources are where ${…} references are looked up: ${NAME} in the
// environment, ${file:PATH} in a file, a relative PATH taken from base
// (the config file's directory).
type sources struct {
	env  func(string) (string, bool)
	file func(string) ([]byte, error)
	base string
}

// maxSecretFile bounds a file read by ${file:PATH}: it holds one secret.
const maxSecretFile = 64 << 10

// envIssue is a ${…} reference that could not be expanded, at byte offset
// Off of the string. Bare says the same as Msg without quoting what was
// written, for values that may be secrets.
type envIssue struct {
	Off             int
	Msg, Bare, Hint string
}

// ref is a ${…} reference that was expanded: its name as written
// (PG_PASSWORD, file:/run/secrets/pg) and the value it gave.
type ref struct{ Name, Value string }

// expandEnv replaces ${NAME} in s with the environment variable NAME and
// ${file:PATH} with the contents of the file PATH, less one trailing
// newline; $${ is a literal ${. It returns the references expanded.
// Unset or malformed references expand to nothing and are reported.
func expandEnv(s string, src sources) (string, []ref, []envIssue) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	var refs []ref
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
					Bare: "a ${ has no closing }", Hint: "write ${NAME}, or $${ for a literal ${"})
				return b.String(), refs, issues
			}
			name := s[i+2 : i+end]
			if v, is, ok := lookup(name, src); ok {
				b.WriteString(v)
				refs = append(refs, ref{Name: name, Value: v})
			} else {
				is.Off = i
				issues = append(issues, is)
			}
			i += end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), refs, issues
}

// lookup is the value of the reference ${name}.
func lookup(name string, src sources) (string, envIssue, bool) {
	if path, ok := strings.CutPrefix(name, "file:"); ok {
		return readSecretFile(path, src)
	}
	if !isEnvName(name) {
		return "", envIssue{Msg: fmt.Sprintf("%q is not an environment variable name", name),
			Bare: "a ${…} holds no environment variable name",
			Hint: "use letters, digits and _, write ${file:PATH} for a file, or $${ for a literal ${"}, false
	}
	v, ok := src.env(name)
	if !ok {
		return "", envIssue{Msg: fmt.Sprintf("environment variable %s is not set", name),
			Hint: fmt.Sprintf("export %s before starting tandem, or write $${ for a literal ${", name)}, false
	}
	return v, envIssue{}, true
}

// readSecretFile is the contents of the file ${file:path} names.
func readSecretFile(path string, src sources) (string, envIssue, bool) {
	hint := "write ${file:PATH} with the path of a file tandem may read; a relative path is taken from the config file's directory"
	if strings.TrimSpace(path) == "" {
		return "", envIssue{Msg: "${file:} names no file", Hint: hint}, false
	}
	full := path
	if !filepath.IsAbs(full) {
		full = filepath.Join(src.base, full)
	}
	if src.file == nil {
		return "", envIssue{Msg: fmt.Sprintf("file %s cannot be read here", full), Hint: hint}, false
	}
	data, err := src.file(full)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said already
		}
		return "", envIssue{Msg: fmt.Sprintf("file %s cannot be read: %v", full, err), Hint: hint}, false
	}
	if len(data) > maxSecretFile {
		return "", envIssue{Msg: fmt.Sprintf("file %s is larger than %d KiB", full, maxSecretFile>>10),
			Hint: "a file named by ${file:PATH} holds one secret, like a password or a token"}, false
	}
	s := string(data)
	if t, ok := strings.CutSuffix(s, "\n"); ok {
		s = strings.TrimSuffix(t, "\r")
	}
	return s, envIssue{}, true
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
