package config

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"USER": "ann", "PASS": "p$${x}", "EMPTY": ""}
	files := map[string]string{
		"/etc/tandem/pw":    "s3cret\n",
		"/etc/tandem/crlf":  "s3cret\r\n",
		"/etc/tandem/two":   "s3cret\n\n",
		"/etc/tandem/plain": "s3cret",
		"/cfg/rel/pw":       "relative",
		"/etc/tandem/big":   strings.Repeat("x", maxSecretFile+1),
	}
	src := sources{
		env: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		file: func(name string) ([]byte, error) {
			if s, ok := files[name]; ok {
				return []byte(s), nil
			}
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		},
		base: "/cfg",
	}
	cases := []struct {
		in, out string
		refs    []string
		issues  []envIssue
	}{
		{"plain", "plain", nil, nil},
		{"$HOME and $ alone", "$HOME and $ alone", nil, nil},
		{"${USER}:${PASS}@h", "ann:p$${x}@h", []string{"USER", "PASS"}, nil}, // values are not expanded again
		{"a${EMPTY}b", "ab", []string{"EMPTY"}, nil},
		{"$${USER}", "${USER}", nil, nil},
		{"$$${USER}", "$${USER}", nil, nil}, // read left to right: $ then $${
		{"x${NOPE}y", "xy", nil, []envIssue{{Off: 1, Msg: "environment variable NOPE is not set"}}},
		{"${}", "", nil, []envIssue{{Off: 0, Msg: `"" is not an environment variable name`}}},
		{"${9X}", "", nil, []envIssue{{Off: 0, Msg: `"9X" is not an environment variable name`}}},
		{"ab${USER", "ab", nil, []envIssue{{Off: 2, Msg: `"${USER" has no closing }`}}},
		// Files: one trailing newline is dropped; relative paths are the config file's.
		{"${file:/etc/tandem/pw}", "s3cret", []string{"file:/etc/tandem/pw"}, nil},
		{"${file:/etc/tandem/crlf}", "s3cret", []string{"file:/etc/tandem/crlf"}, nil},
		{"${file:/etc/tandem/two}", "s3cret\n", []string{"file:/etc/tandem/two"}, nil},
		{"u:${file:/etc/tandem/plain}@h", "u:s3cret@h", []string{"file:/etc/tandem/plain"}, nil},
		{"${file:rel/pw}", "relative", []string{"file:rel/pw"}, nil},
		{"${file:/nope}", "", nil, []envIssue{{Off: 0, Msg: "file /nope cannot be read: file does not exist"}}},
		{"${file:}", "", nil, []envIssue{{Off: 0, Msg: "${file:} names no file"}}},
		{"${file:/etc/tandem/big}", "", nil, []envIssue{{Off: 0, Msg: "file /etc/tandem/big is larger than 64 KiB"}}},
	}
	for _, tc := range cases {
		out, refs, issues := expandEnv(tc.in, src)
		for i := range issues {
			issues[i].Hint, issues[i].Bare = "", ""
		}
		var names []string
		for _, r := range refs {
			names = append(names, r.Name)
		}
		if out != tc.out || !cmp.Equal(issues, tc.issues) || !cmp.Equal(names, tc.refs) {
			t.Errorf("expandEnv(%q) = %q, %v, %v; want %q, %v, %v", tc.in, out, names, issues, tc.out, tc.refs, tc.issues)
		}
	}
}
