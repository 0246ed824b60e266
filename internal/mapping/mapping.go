package mapping

import (
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/record"
)

// Map is the compiled mapping of one entity in one system.
type Map struct {
	System, Entity string
	Table          string
	Key            string
	KeyGenerated   bool
	// Refs are the canonical fields that reference another entity: field → entity.
	Refs   map[string]string
	fields []field
	filter *vm.Program
}

type field struct {
	name     string // canonical
	column   string
	toCanon  map[string]any    // local value (as text) → canonical value
	toLocal  map[string]string // canonical value (as text) → local value
	in, out  *vm.Program
	def      any
	readOnly bool
	isRef    bool
}

// New compiles the mapping m of entity e.
func New(m *config.Mapping, e *config.Entity) (*Map, error) {
	mp := &Map{System: m.System, Entity: m.Entity, Table: m.Table, Key: m.Key,
		KeyGenerated: m.KeyGenerated, Refs: map[string]string{}}
	names := make([]string, 0, len(m.Fields))
	for n := range m.Fields {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		spec := m.Fields[n]
		f := field{name: n, column: spec.Column, def: record.Normalize(spec.Default), readOnly: spec.ReadOnly}
		if f.column == "" && spec.In == "" {
			f.column = n
		}
		if _, ok := e.Refs[n]; ok {
			f.isRef = true
			mp.Refs[n] = e.Refs[n]
		}
		if len(spec.Values) > 0 {
			f.toCanon = map[string]any{}
			f.toLocal = map[string]string{}
			for local, canon := range spec.Values {
				f.toCanon[local] = canon
				f.toLocal[canon] = local
			}
		}
		var err error
		if spec.In != "" {
			if f.in, err = expr.Compile(spec.In, expr.AllowUndefinedVariables()); err != nil {
				return nil, fmt.Errorf("mapping %s.%s field %s: in: %w", m.System, m.Entity, n, err)
			}
		}
		if spec.Out != "" {
			if f.out, err = expr.Compile(spec.Out, expr.AllowUndefinedVariables()); err != nil {
				return nil, fmt.Errorf("mapping %s.%s field %s: out: %w", m.System, m.Entity, n, err)
			}
		}
		mp.fields = append(mp.fields, f)
	}
	if m.Filter != "" {
		var err error
		if mp.filter, err = expr.Compile(m.Filter, expr.AllowUndefinedVariables(), expr.AsBool()); err != nil {
			return nil, fmt.Errorf("mapping %s.%s filter: %w", m.System, m.Entity, err)
		}
	}
	return mp, nil
}

// Columns lists every column the mapping reads or writes, the key column
// only when a field maps it (so that the key travels with the record).
// Columns used only inside In expressions cannot be known and must be
// mapped explicitly or named by another field.
func (m *Map) Columns() []string {
	seen := map[string]bool{}
	var cols []string
	for _, f := range m.fields {
		if f.column != "" && !seen[f.column] {
			seen[f.column] = true
			cols = append(cols, f.column)
		}
	}
	return cols
}

// FieldNames lists the canonical fields this system holds.
func (m *Map) FieldNames() []string {
	out := make([]string, len(m.fields))
	for i, f := range m.fields {
		out[i] = f.name
	}
	return out
}

// Writes reports whether the mapping writes the canonical field to
// this system (it holds it and it is not read-only).
func (m *Map) Writes(name string) bool {
	for _, f := range m.fields {
		if f.name == name {
			return !f.readOnly && (f.column != "" || f.out != nil)
		}
	}
	return false
}

// Changed returns the canonical fields that a change of the given local
// columns may have changed: those read from one of them, and every
// field computed by an In expression (whose inputs are not known) as
// soon as any column changed.
func (m *Map) Changed(cols []string) map[string]bool {
	set := make(map[string]bool, len(cols))
	for _, c := range cols {
		set[c] = true
	}
	out := map[string]bool{}
	for _, f := range m.fields {
		if set[f.column] || (f.in != nil && len(cols) > 0) {
			out[f.name] = true
		}
	}
	return out
}

// FieldError is a mapping failure of one field.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %v", e.Field, e.Err) }
func (e *FieldError) Unwrap() error { return e.Err }

// ToCanonical maps a captured row to canonical fields. Reference fields
// come back holding the system's own key of the referenced record, as
// text; the caller translates them.
func (m *Map) ToCanonical(local record.Fields) (record.Fields, error) {
	out := make(record.Fields, len(m.fields))
	for _, f := range m.fields {
		var v any
		switch {
		case f.in != nil && f.column != "" && local[f.column] == nil:
			// NULL stays NULL: the expression is not run on a missing value.
		case f.in != nil:
			r, err := expr.Run(f.in, map[string]any(local))
			if err != nil {
				return nil, &FieldError{Field: f.name, Err: fmt.Errorf("in expression: %w", err)}
			}
			v = record.Normalize(r)
		default:
			v = local[f.column]
		}
		if s, ok := v.(string); ok && !utf8.ValidString(s) {
			// Text is passed on as it was written or not at all: storing
			// it would turn the bad bytes into U+FFFD everywhere.
			return nil, &FieldError{Field: f.name, Err: fmt.Errorf("%s is not valid UTF-8 (%s); fix the value at its source", f.what(), record.BadUTF8(s))}
		}
		if f.toCanon != nil && v != nil {
			c, ok := f.toCanon[Text(v)]
			if !ok {
				return nil, &FieldError{Field: f.name, Err: fmt.Errorf("value %q of column %q has no entry in values", Text(v), f.column)}
			}
			v = c
		}
		if v == nil && f.def != nil {
			v = f.def
		}
		if f.isRef && v != nil {
			v = Text(v)
		}
		out[f.name] = v
	}
	return out, nil
}

// ToLocal maps canonical fields to the columns written to this system.
// Reference fields must already hold the system's own keys.
func (m *Map) ToLocal(canon record.Fields) (record.Fields, error) {
	out := make(record.Fields, len(m.fields))
	for _, f := range m.fields {
		if f.readOnly || f.column == "" {
			continue
		}
		col := f.column
		var v any
		switch {
		case f.out != nil && canon[f.name] == nil:
			// NULL stays NULL.
		case f.out != nil:
			r, err := expr.Run(f.out, map[string]any(canon))
			if err != nil {
				return nil, &FieldError{Field: f.name, Err: fmt.Errorf("out expression: %w", err)}
			}
			v = record.Normalize(r)
		default:
			v = canon[f.name]
		}
		if f.toLocal != nil && v != nil {
			l, ok := f.toLocal[Text(v)]
			if !ok {
				return nil, &FieldError{Field: f.name, Err: fmt.Errorf("canonical value %q has no entry in values", Text(v))}
			}
			v = l
		}
		out[col] = v
	}
	return out, nil
}

// Accepts reports whether the filter lets canon through to this system.
func (m *Map) Accepts(canon record.Fields) (bool, error) {
	if m.filter == nil {
		return true, nil
	}
	r, err := expr.Run(m.filter, map[string]any(canon))
	if err != nil {
		return false, fmt.Errorf("filter: %w", err)
	}
	b, _ := r.(bool)
	return b, nil
}

// Text renders a normalized value as text, as used for keys and value maps.
func Text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// what names where a field's value comes from, for messages.
func (f *field) what() string {
	if f.in == nil && f.column != "" {
		return fmt.Sprintf("the text of column %q", f.column)
	}
	return "the text its in expression made"
}
