// Package configtest helps the tests of packages that own a settings
// block of tandem.yaml (the connectors) load configurations and check the
// problems found, as config's own tests do. Only tests import it.
package configtest

import (
	_ "embed"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/config"
)

// Env is the environment Parse gives the configurations it loads; config's
// own tests give the same.
var Env = map[string]string{"SHOP_PASSWORD": "s3cret", "EMPTY": "", "CANARY": "canary-7f3a9", "BIG": "20000"}

// Base is a small valid configuration with two SQL systems, shop and crm;
// tests change one thing in it. config's own tests read the same file.
//
//go:embed base.yaml
var Base string

// Parse loads src as the file tandem.yaml with Env as the environment and
// files as the other files, and returns the config or its problems.
func Parse(tb testing.TB, src string, files map[string]string) (*config.Config, config.Problems) {
	tb.Helper()
	lookup := func(name string) (string, bool) {
		v, ok := Env[name]
		return v, ok
	}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	c, err := config.Read("tandem.yaml", []byte(src), lookup, readFile)
	if err == nil {
		return c, nil
	}
	var ps config.Problems
	if !errors.As(err, &ps) {
		tb.Fatalf("error is not Problems: %v", err)
	}
	if c != nil {
		tb.Fatalf("config returned with problems")
	}
	return nil, ps
}

// LineOf is the line of src on which text first appears, or -1.
func LineOf(src, text string) int {
	i := strings.Index(src, text)
	if i < 0 {
		return -1
	}
	return strings.Count(src[:i], "\n") + 1
}

// Want is a problem expected: {path, a part of its message, a part of its
// hint, a text on its line (unchecked when empty)}.
type Want [4]string

// Expect checks that got are exactly the problems want, in order.
func Expect(tb testing.TB, src string, got config.Problems, want []Want) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		p := got[i]
		path, msg, hint, at := w[0], w[1], w[2], w[3]
		if p.Path != path || !strings.Contains(p.Msg, msg) || !strings.Contains(p.Hint, hint) {
			tb.Errorf("problem %d = %v\nwant path %q, msg with %q, hint with %q", i, p, path, msg, hint)
		}
		if line := LineOf(src, at); at != "" && p.Line != line {
			tb.Errorf("problem %d on line %d, want %d (%q): %v", i, p.Line, line, at, p)
		}
	}
}
