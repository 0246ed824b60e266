package hub

import (
	"fmt"
	"maps"
	"slices"

	"github.com/tandemhub/tandem/internal/config"
)

// Drifts tries every mapping's in and out expressions on sample values of
// each field's schema type and reports the fields whose values do not
// come back as written. A value that changes once (precision lost, say)
// is a warning: the systems end up holding the changed value. One that
// changes again on every trip is an error: tandem would write it back and
// forth for ever, each system's copy growing or shrinking with every
// cycle.
func (m *Model) Drifts(cfg *config.Config) (errs, warns config.Problems) {
	for _, sys := range slices.Sorted(maps.Keys(m.Maps)) {
		for _, ent := range slices.Sorted(maps.Keys(m.Maps[sys])) {
			mp, e := m.Maps[sys][ent], cfg.Entities[ent]
			mc := cfg.Mappings[sys][ent]
			if e == nil || mc == nil {
				continue
			}
			for _, d := range mp.RoundTrip(samples(e)) {
				p := config.Problem{File: cfg.File, Path: fmt.Sprintf("mappings.%s.%s.fields.%s", sys, ent, d.Field)}
				if f := mc.Fields[d.Field]; f != nil {
					p.Line = f.Line
				}
				if d.Settles() {
					p.Msg = fmt.Sprintf("out then in turns %#v into %#v: the systems will hold %#v", d.Sent, d.Back, d.Back)
					p.Hint = "make in undo out exactly, if the value must stay as written"
					warns = append(warns, p)
					continue
				}
				p.Msg = fmt.Sprintf("out then in turns %#v into %#v, and that into %#v: the value would change on every trip between the systems, for ever",
					d.Sent, d.Back, d.Again)
				p.Hint = "make in undo out (in(out(x)) == x), or make the field read_only in this system"
				errs = append(errs, p)
			}
		}
	}
	return errs, warns
}

// samples gives, per field of e's schema, values of its type to try.
func samples(e *config.Entity) map[string][]any {
	out := map[string][]any{}
	props, _ := e.Schema["properties"].(map[string]any)
	for name, p := range props {
		prop, _ := p.(map[string]any)
		var typ string
		switch t := prop["type"].(type) {
		case string:
			typ = t
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok && s != "null" {
					typ = s
					break
				}
			}
		}
		if enum, ok := prop["enum"].([]any); ok && len(enum) > 0 {
			out[name] = enum
			continue
		}
		switch typ {
		case "integer":
			out[name] = []any{int64(42), int64(0), int64(1), int64(-7), int64(1000)}
		case "number":
			out[name] = []any{19.99, 0.0, 1.0, 10.0, 2.5, -3.25, 1234.5}
		case "boolean":
			out[name] = []any{true, false}
		case "string", "":
			out[name] = []any{"Acme", "a b", "Ünïcode", "x"}
		}
	}
	return out
}
