package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"USER": "ann", "PASS": "p$${x}", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cases := []struct {
		in, out string
		issues  []envIssue
	}{
		{"plain", "plain", nil},
		{"$HOME and $ alone", "$HOME and $ alone", nil},
		{"${USER}:${PASS}@h", "ann:p$${x}@h", nil}, // values are not expanded again
		{"a${EMPTY}b", "ab", nil},
		{"$${USER}", "${USER}", nil},
		{"$$${USER}", "$${USER}", nil}, // read left to right: $ then $${
		{"x${NOPE}y", "xy", []envIssue{{Off: 1, Msg: "environment variable NOPE is not set"}}},
		{"${}", "", []envIssue{{Off: 0, Msg: `"" is not an environment variable name`}}},
		{"${9X}", "", []envIssue{{Off: 0, Msg: `"9X" is not an environment variable name`}}},
		{"ab${USER", "ab", []envIssue{{Off: 2, Msg: `"${USER" has no closing }`}}},
	}
	for _, tc := range cases {
		out, issues := expandEnv(tc.in, lookup)
		for i := range issues {
			issues[i].Hint = ""
		}
		if out != tc.out || !cmp.Equal(issues, tc.issues) {
			t.Errorf("expandEnv(%q) = %q, %v; want %q, %v", tc.in, out, issues, tc.out, tc.issues)
		}
	}
}
