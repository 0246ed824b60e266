package config

import (
	"fmt"
	"slices"
	"strings"
)

func (k *checker) entities() {
	names := sortedKeys(k.c.Entities)
	for _, name := range names {
		e, p := k.c.Entities[name], child("entities", name)
		if e == nil {
			k.add(0, p, "has no settings", "give it a schema")
			continue
		}
		k.name(e.Line, p, name, "entity")
		k.schema(e, p)
		fields := e.Fields()
		for _, f := range sortedKeys(e.Refs) {
			rp, target := child(child(p, "refs"), f), e.Refs[f]
			switch {
			case target == "":
				k.add(e.Line, rp, "names no entity", suggest("", names))
			case k.c.Entities[target] == nil:
				k.add(e.Line, rp, fmt.Sprintf("%q is not a declared entity", target), suggest(target, names))
			}
			if e.Schema != nil && !slices.Contains(fields, f) {
				k.add(e.Line, rp, fmt.Sprintf("field %q is not in the schema's properties", f), suggest(f, fields))
			}
		}
		switch e.Merge {
		case "", MergeRecord, MergeField:
		default:
			k.add(e.Line, child(p, "merge"), fmt.Sprintf("%q is not a merge mode", e.Merge),
				`write record (the newest change wins whole, the default) or field (fields changed in different systems both stay)`)
		}
		for i, f := range e.Match {
			if e.Schema != nil && !slices.Contains(fields, f) {
				k.add(e.Line, item(child(p, "match"), i), fmt.Sprintf("field %q is not in the schema's properties", f),
					suggest(f, fields))
			}
		}
	}
}

// schema checks that an entity has a schema and that it compiles.
func (k *checker) schema(e *Entity, p string) {
	key := "schema"
	if e.SchemaFile != "" {
		key = "schema_file"
	}
	switch {
	case e.Schema == nil && e.SchemaFile == "":
		k.add(e.Line, child(p, "schema"), "missing",
			"give the entity's JSON Schema inline under schema:, or a file under schema_file:")
		return
	case e.Schema == nil:
		k.add(e.Line, child(p, "schema_file"), "not read", "load the file with config.Load, which reads schema files")
		return
	}
	if issues := compileSchema(e.Name, e.Schema); len(issues) > 0 {
		for _, is := range issues {
			at, msg := child(p, key), is.msg
			switch {
			case is.at == nil:
			case e.SchemaFile != "":
				msg = fmt.Sprintf("at /%s: %s", strings.Join(is.at, "/"), msg)
			default:
				for _, seg := range is.at {
					at = child(at, seg)
				}
			}
			k.add(e.Line, at, "invalid JSON Schema: "+msg, "see https://json-schema.org/understanding-json-schema")
		}
		return
	}
	if t, ok := e.Schema["type"].(string); ok && t != "object" {
		at, msg := child(child(p, "schema"), "type"), fmt.Sprintf("%q is not object", t)
		if e.SchemaFile != "" {
			at, msg = child(p, "schema_file"), fmt.Sprintf("type %q is not object", t)
		}
		k.add(e.Line, at, msg, "a record is an object: write type: object and list its fields under properties")
	}
}

// cycles reports references that form a cycle: tandem writes a parent
// before its children, which a cycle makes impossible. An entity may
// refer to itself (an account's parent account).
func (k *checker) cycles() {
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(name string) {
		state[name] = open
		stack = append(stack, name)
		e := k.c.Entities[name]
		for _, f := range sortedKeys(e.Refs) {
			t := e.Refs[f]
			if t == name || k.c.Entities[t] == nil {
				continue
			}
			switch state[t] {
			case unseen:
				visit(t)
			case open:
				cycle := append(slices.Clone(stack[slices.Index(stack, t):]), t)
				k.add(e.Line, child(child(child("entities", name), "refs"), f),
					"references form a cycle: "+strings.Join(cycle, " → "),
					"tandem writes a parent before its children; drop one of these refs (an entity may refer to itself)")
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
	}
	for _, name := range sortedKeys(k.c.Entities) {
		if state[name] == unseen && k.c.Entities[name] != nil {
			visit(name)
		}
	}
}
