package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/tandemhub/tandem/internal/secret"
)

// Load reads the config file at path: it expands ${ENV_VAR} and
// ${file:PATH}, decodes the YAML strictly, applies defaults, reads schema
// files relative to the file's directory and validates the result. Every
// mistake found is returned together as Problems; what is allowed but
// unwise is in the config's Warnings. No problem or warning shows a
// secret or a value a ${…} reference gave.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Read(path, data, os.LookupEnv, os.ReadFile)
}

// Read is Load of data, the contents of file, with the environment and
// the file system passed in: lookup finds an environment variable,
// readFile reads a file named by ${file:PATH} or schema_file.
func Read(file string, data []byte, lookup func(string) (string, bool), readFile func(string) ([]byte, error)) (*Config, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, Problems{syntaxProblem(file, err)}
	}
	base := filepath.Dir(file)
	d := newDecoder(file, sources{env: lookup, file: readFile, base: base})
	c := &Config{File: file}
	d.document(f, c)
	c.bookkeep(d.at)
	c.applyDefaults(base)
	for _, p := range c.readSchemas(d.at, base, readFile) {
		d.shadow[p.Path] = true
		d.probs = append(d.probs, p)
	}

	var later Problems
	if !errors.As(c.Validate(), &later) {
		later = nil
	}
	for _, p := range later {
		if d.shadowed(p.Path) {
			continue
		}
		p.Line, p.Column = d.locate(p.Path, p.Line)
		if e, ok := d.expanded[p.Path]; ok {
			p.Msg = unquoteExpanded(p.Msg, e.value, valueOf(e.raw))
		}
		d.probs = append(d.probs, p)
	}
	hide := secret.New(append(d.hide, c.Secrets()...)...)
	for _, ps := range []Problems{d.probs, d.warns} {
		for i := range ps {
			ps[i].Msg, ps[i].Hint = hide.String(ps[i].Msg), hide.String(ps[i].Hint)
		}
	}
	if len(d.probs) > 0 {
		return nil, d.probs.sorted()
	}
	c.Warnings = d.warns.sorted()
	return c, nil
}

// unquoteExpanded replaces what msg shows of value, which ${…}
// references gave, by phrase: each quoted part of msg that is a part of
// value (or of value with its password masked), and value itself at the
// start of msg, where messages name the value they are about.
func unquoteExpanded(msg, value, phrase string) string {
	masked := secret.DSN(value)
	var b strings.Builder
	for i := 0; i < len(msg); {
		if msg[i] == '"' {
			if q, err := strconv.QuotedPrefix(msg[i:]); err == nil {
				if u, _ := strconv.Unquote(q); u != "" && (strings.Contains(value, u) || strings.Contains(masked, u)) {
					b.WriteString(phrase)
				} else {
					b.WriteString(q)
				}
				i += len(q)
				continue
			}
		}
		b.WriteByte(msg[i])
		i++
	}
	out := b.String()
	if rest, ok := strings.CutPrefix(out, value); ok && value != "" && (rest == "" || rest[0] == ' ' || rest[0] == ':') {
		out = phrase + rest
	}
	return out
}

// shadowed reports whether a decode problem already explains problems at
// path: one was found there or above it.
func (d *decoder) shadowed(path string) bool {
	for p := path; ; p = parent(p) {
		if d.shadow[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// locate is the position of the nearest key at or above path, or line
// when none was seen.
func (d *decoder) locate(path string, line int) (int, int) {
	for p := path; ; p = parent(p) {
		if at, ok := d.at[p]; ok {
			return at.line, at.col
		}
		if p == "" {
			return line, 0
		}
	}
}

// syntaxProblem turns a YAML parse error into a Problem with its position.
func syntaxProblem(file string, err error) Problem {
	p := Problem{File: file, Msg: err.Error(), Hint: "fix the YAML syntax"}
	var ye yaml.Error
	if errors.As(err, &ye) {
		p.Msg = ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Column = tk.Position.Line, tk.Position.Column
		}
	}
	return p
}

// bookkeep fills the fields that say where each part came from.
func (c *Config) bookkeep(at map[string]pos) {
	for name, s := range c.Systems {
		if s != nil {
			s.Name, s.Line = name, at[child("systems", name)].line
			if s.TLS != nil {
				s.TLS.Line = at[child(child("systems", name), "tls")].line
			}
		}
	}
	for name, e := range c.Entities {
		if e != nil {
			e.Name, e.Line = name, at[child("entities", name)].line
		}
	}
	for sys, ents := range c.Mappings {
		for ent, m := range ents {
			if m == nil {
				continue
			}
			mp := child(child("mappings", sys), ent)
			m.System, m.Entity, m.Line = sys, ent, at[mp].line
			for name, f := range m.Fields {
				if f != nil {
					f.Line = at[child(child(mp, "fields"), name)].line
				}
			}
		}
	}
	for i, r := range c.Routes {
		if r != nil {
			r.Line = at[item("routes", i)].line
		}
	}
}
