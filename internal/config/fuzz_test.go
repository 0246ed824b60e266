package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzLoad feeds the parser arbitrary files: it must never panic, and
// what it accepts must validate again unchanged.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(baseYAML))
	for _, file := range []string{"../../examples/tandem.yaml", "testdata/bad/five.yaml"} {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\nx: &a [*a]\n"))
	f.Add([]byte("a: &x\n  <<: *x\n"))
	f.Add([]byte("systems: {crm: {<<: [*a, *b]}}\n"))
	f.Add([]byte("version: \"${V}\"\nsystems: {a: {dsn: \"$${x}${\"}}\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("- !!map {a: 1}\n"))
	lookup := func(name string) (string, bool) { return "v", name == "V" }
	noFiles := func(string) ([]byte, error) { return nil, errors.New("no files while fuzzing") }
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Read("fuzz.yaml", data, lookup, noFiles)
		if err != nil {
			var ps Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error is not Problems: %v", err)
			}
			for _, p := range ps {
				if p.Msg == "" || p.File != "fuzz.yaml" {
					t.Fatalf("problem without message or file: %#v", p)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("loaded config fails Validate: %v", err)
		}
		if len(c.EntityOrder()) != len(c.Entities) {
			t.Fatalf("EntityOrder lost entities")
		}
	})
}
