package config

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// baseYAML is a small valid config; the mistake tests change one thing
// in it. It is configtest's Base, which config's tests cannot import.
var baseYAML = func() string {
	b, err := os.ReadFile("configtest/base.yaml")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// testEnv is the environment the tests see.
var testEnv = map[string]string{"SHOP_PASSWORD": "s3cret", "EMPTY": "", "CANARY": "canary-7f3a9", "BIG": "20000"}

// parse loads src as the file tandem.yaml with testEnv as the environment
// and files as the other files, and returns the config or its problems.
func parse(t *testing.T, src string, files map[string]string) (*Config, Problems) {
	t.Helper()
	lookup := func(name string) (string, bool) {
		v, ok := testEnv[name]
		return v, ok
	}
	readFile := func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	c, err := Read("tandem.yaml", []byte(src), lookup, readFile)
	if err == nil {
		return c, nil
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error is not Problems: %v", err)
	}
	if c != nil {
		t.Fatalf("config returned with problems")
	}
	return nil, ps
}

// expect checks that got are exactly the problems want, in order, each
// on its line of src and naming the file tandem.yaml.
func expect(t *testing.T, src string, got Problems, want []want) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%v", len(got), len(want), got)
	}
	for i, w := range want {
		p := got[i]
		if p.Path != w.path || !strings.Contains(p.Msg, w.msg) || !strings.Contains(p.Hint, w.hint) {
			t.Errorf("problem %d = %v\nwant path %q, msg with %q, hint with %q", i, p, w.path, w.msg, w.hint)
		}
		if line := lineOf(src, w.at); w.at != "" && p.Line != line {
			t.Errorf("problem %d on line %d, want %d (%q): %v", i, p.Line, line, w.at, p)
		}
		if p.File != "tandem.yaml" {
			t.Errorf("problem %d names file %q", i, p.File)
		}
	}
}
