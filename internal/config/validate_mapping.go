package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

func (k *checker) mappings() {
	systems, entities := k.c.SystemNames(), sortedKeys(k.c.Entities)
	for _, sys := range sortedKeys(k.c.Mappings) {
		sp := child("mappings", sys)
		if k.c.Systems[sys] == nil {
			k.add(0, sp, fmt.Sprintf("%q is not a declared system", sys), suggest(sys, systems))
		}
		for _, ent := range sortedKeys(k.c.Mappings[sys]) {
			m, mp := k.c.Mappings[sys][ent], child(sp, ent)
			if m == nil {
				k.add(0, mp, "has no settings", "give it a table and fields")
				continue
			}
			e := k.c.Entities[ent]
			if e == nil {
				k.add(m.Line, mp, fmt.Sprintf("%q is not a declared entity", ent), suggest(ent, entities))
			}
			if m.Table == "" {
				k.add(m.Line, child(mp, "table"), "missing", fmt.Sprintf("name the table that holds %s records in %s", ent, sys))
			}
			if m.Key == "" {
				k.add(m.Line, child(mp, "key"), "missing", "name the key column; the default is "+DefaultKey)
			}
			if e == nil {
				continue
			}
			k.fields(m, e, mp)
			if m.Filter != "" {
				if msg := compileCanonical(m.Filter, e, true); msg != "" {
					k.add(m.Line, child(mp, "filter"), "does not compile: "+msg, canonicalHint(e)+"; it must be true or false")
				}
			}
		}
	}
}

// fields checks the field mappings of m, a mapping of e at path mp.
func (k *checker) fields(m *Mapping, e *Entity, mp string) {
	known := e.Fields()
	written := map[string]string{} // column → the field written to it
	for _, name := range sortedKeys(m.Fields) {
		f, fp := m.Fields[name], child(child(mp, "fields"), name)
		if f == nil {
			continue
		}
		line := cmp.Or(f.Line, m.Line)
		if e.Schema != nil && !slices.Contains(known, name) {
			k.add(line, fp, fmt.Sprintf("not a field of %s", e.Name), suggest(name, known))
		}
		if _, ref := e.Refs[name]; ref {
			for _, x := range []struct {
				key string
				set bool
			}{{"in", f.In != ""}, {"out", f.Out != ""}, {"values", len(f.Values) > 0}} {
				if x.set {
					k.add(line, child(fp, x.key), "not allowed on a reference field",
						"tandem translates references to each system's keys itself; map the column only")
				}
			}
		}
		k.values(f, fp, line)
		k.expressions(f, e, fp, line)
		if m.KeyGenerated && !f.ReadOnly && f.Column != "" && f.Column == m.Key {
			k.add(line, fp, fmt.Sprintf("writes the key column %q, but key_generated: true says the table makes its keys", m.Key),
				"mark the field read_only: true to carry the key without writing it, or key_generated: false to write the key it carries")
		}
		if !f.ReadOnly && f.Column != "" {
			if other, dup := written[f.Column]; dup {
				k.add(line, child(fp, "column"), fmt.Sprintf("%q is also written by field %s", f.Column, other),
					"map each column once, or mark all but one read_only: true")
			}
			written[f.Column] = name
		}
	}
}

// values checks that a value map can be reversed for writing.
func (k *checker) values(f *Field, fp string, line int) {
	byCanon := map[string]string{}
	for _, local := range sortedKeys(f.Values) {
		canon := f.Values[local]
		if prev, dup := byCanon[canon]; dup {
			k.add(line, child(child(fp, "values"), local), fmt.Sprintf("maps to %q, as %q does", canon, prev),
				fmt.Sprintf("writing %q back would be ambiguous; keep one local value per canonical value", canon))
			continue
		}
		byCanon[canon] = local
	}
}

// expressions checks a field's in and out expressions.
func (k *checker) expressions(f *Field, e *Entity, fp string, line int) {
	if f.In != "" {
		if msg := compileLocal(f.In); msg != "" {
			k.add(line, child(fp, "in"), "does not compile: "+msg, "in computes the canonical value from this system's columns, by name")
		}
	}
	if f.Out != "" {
		if msg := compileCanonical(f.Out, e, false); msg != "" {
			k.add(line, child(fp, "out"), "does not compile: "+msg, "out computes the column's value from the canonical record; "+canonicalHint(e))
		}
	}
	switch {
	case f.In != "" && f.Out == "" && !f.ReadOnly:
		k.add(line, child(fp, "out"), "missing: with in set, tandem cannot write the field back",
			"add out (canonical record → column value), or read_only: true")
	case f.Out != "" && f.Column == "" && !f.ReadOnly:
		k.add(line, child(fp, "column"), "missing: out needs a column to write to", "add column: with the column's name")
	}
}

func canonicalHint(e *Entity) string {
	if fields := e.Fields(); len(fields) > 0 {
		return "it sees the canonical fields " + strings.Join(fields, ", ")
	}
	return "it sees the canonical fields"
}
