package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

const (
	// maxDepth bounds nesting, so that an alias that contains itself ends.
	maxDepth = 64
	// maxValues bounds the values decoded, so that aliases of aliases
	// (a "billion laughs") cannot make a small file expand without end.
	maxValues = 1 << 17
)

// pos is a place in the config file; zero when unknown.
type pos struct{ line, col int }

// decoder turns a parsed YAML document into a Config, strictly: every key
// must be one the structs declare. Unlike a plain unmarshal it keeps going
// after a mistake, so that all of them are reported, and it records where
// each key is, so that problems found later can name their line.
type decoder struct {
	file    string
	src     sources // of ${…} references
	anchors map[string]ast.Node
	at      map[string]pos // YAML path → position of its key or list item
	// shadow holds paths whose later problems a decode problem already
	// explains: the key a misspelt key was meant to be, a value of the
	// wrong kind.
	shadow map[string]bool
	probs  Problems
	depth  int
	values int  // decoded so far
	deep   bool // nested too deeply, reported

	// secret is the secret tag of the value being decoded (see
	// secret.go); quiet, that no value written there may be quoted.
	secret string
	quiet  bool
	// expanded holds, by path, values that ${…} references gave, as
	// written; a problem never quotes what they expanded to.
	expanded map[string]expansion
	// hide are values no problem may show: what references expanded to
	// and the secrets written in the file.
	hide  []string
	warns Problems
}

// expansion is a value holding ${…} references: as written, and expanded.
type expansion struct{ raw, value string }

func newDecoder(file string, src sources) *decoder {
	return &decoder{file: file, src: src, anchors: map[string]ast.Node{},
		at: map[string]pos{}, shadow: map[string]bool{}, expanded: map[string]expansion{}}
}

func (d *decoder) add(p pos, path, msg, hint string) {
	d.probs = append(d.probs, Problem{File: d.file, Line: p.line, Column: p.col, Path: path, Msg: msg, Hint: hint})
}

// document decodes the single document of f into c.
func (d *decoder) document(f *ast.File, c *Config) {
	var body ast.Node
	for i, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			d.add(posOf(doc.Body), "", fmt.Sprintf("a second YAML document starts here (document %d)", i+1),
				"keep the whole configuration in one document; remove the --- separator")
			break
		}
		body = doc.Body
	}
	if body == nil {
		d.shadow[""] = true
		d.add(pos{1, 1}, "", "the file is empty", "start with version: 1 and declare systems, entities, mappings and routes")
		return
	}
	collectAnchors(body, d.anchors, 0)
	d.decode(body, reflect.ValueOf(c).Elem(), "")
}

// decode sets v from node n found at path, reporting what does not fit.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	if !d.enter(n, path) {
		return
	}
	defer func() { d.depth-- }()
	n = d.resolve(n, path)
	if isNull(n) {
		return
	}
	t := v.Type()
	switch {
	case t == reflect.TypeFor[Duration]():
		d.duration(n, v, path)
	case t == reflect.TypeFor[Field]() && isScalar(n):
		// The shorthand field: column_name.
		if s, ok := d.text(n, path); ok {
			v.FieldByName("Column").SetString(s)
		}
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path)
	case t.Kind() == reflect.Struct:
		d.object(n, v, path)
	case t.Kind() == reflect.Map:
		d.dict(n, v, path)
	case t.Kind() == reflect.Slice:
		d.list(n, v, path)
	case t.Kind() == reflect.Interface:
		if x := d.plain(n, path); x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case t.Kind() == reflect.String:
		if s, ok := d.text(n, path); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.Int:
		d.integer(n, v, path)
	case t.Kind() == reflect.Bool:
		d.boolean(n, v, path)
	default:
		panic(fmt.Sprintf("config: no decoding for %s", t)) // a struct field of a new kind
	}
}

// object decodes a mapping into a struct, rejecting keys it does not declare.
func (d *decoder) object(n ast.Node, v reflect.Value, path string) {
	keys, names := yamlKeys(v.Type())
	var sys *System
	if v.CanAddr() {
		sys, _ = v.Addr().Interface().(*System)
	}
	if sys != nil {
		names = slices.Concat(names, sectionKeys())
		slices.Sort(names)
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.wrongKind(n, path, "a mapping", "known keys: "+strings.Join(names, ", "))
		return
	}
	for _, e := range d.entries(m, path) {
		key, ok := d.key(e.Key, path)
		if !ok {
			continue
		}
		kp := child(path, key)
		d.at[kp] = posOf(e.Key)
		i, known := keys[key]
		if !known && path == "" && strings.HasPrefix(key, "x-") {
			continue // a place for anchors, like x-defaults: &defaults {…}
		}
		if sec, ok := sectionOf(key); ok && !known && sys != nil {
			d.block(sys, sec, e.Value, kp)
			continue
		}
		if !known {
			if c := closest(key, names); c != "" {
				d.shadow[child(path, c)] = true
			}
			d.add(posOf(e.Key), kp, "unknown key", suggest(key, names))
			continue
		}
		restore := d.mark(v.Type().FieldByIndex(i).Tag.Get("secret"))
		d.decode(e.Value, v.FieldByIndex(i), kp)
		restore()
	}
}

// mark enters a value whose struct field has the secret tag tag, and
// returns what leaves it.
func (d *decoder) mark(tag string) func() {
	secret, quiet := d.secret, d.quiet
	d.secret = tag
	if tag == "block" {
		d.secret = ""
	}
	d.quiet = quiet || tag == "value" || tag == "block"
	return func() { d.secret, d.quiet = secret, quiet }
}

// dict decodes a mapping into a map with string keys.
func (d *decoder) dict(n ast.Node, v reflect.Value, path string) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.wrongKind(n, path, "a mapping", "write one name: value pair per line, indented under it")
		return
	}
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for _, e := range d.entries(m, path) {
		key, ok := d.key(e.Key, path)
		if !ok {
			continue
		}
		kp := child(path, key)
		d.at[kp] = posOf(e.Key)
		ev := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(reflect.ValueOf(key)); old.IsValid() {
			ev.Set(old) // a key merged in by << and set again
		}
		restore := func() {}
		if d.secret == "header" {
			tag := ""
			if CredentialHeader(key) {
				tag = "value"
			}
			restore = d.mark(tag)
		}
		d.decode(e.Value, ev, kp)
		restore()
		allocate(ev)
		v.SetMapIndex(reflect.ValueOf(key), ev)
	}
}

// list decodes a sequence into a slice.
func (d *decoder) list(n ast.Node, v reflect.Value, path string) {
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		d.wrongKind(n, path, "a list", "write it like [a, b], or one - item per line")
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(s.Values))
	for i, e := range s.Values {
		ip := item(path, i)
		d.at[ip] = posOf(e)
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(e, ev, ip)
		allocate(ev)
		out = reflect.Append(out, ev)
	}
	v.Set(out)
}

// allocate gives a nil pointer to a struct an empty struct, so that an
// entry written with no settings (crm: with nothing under it) is checked
// like any other.
func allocate(v reflect.Value) {
	if v.Kind() == reflect.Pointer && v.IsNil() && v.Type().Elem().Kind() == reflect.Struct {
		v.Set(reflect.New(v.Type().Elem()))
	}
}

// entries lists the pairs of m, those merged in with << first so that the
// mapping's own keys override them.
func (d *decoder) entries(m *ast.MappingNode, path string) []*ast.MappingValueNode {
	var merged, own []*ast.MappingValueNode
	for _, e := range m.Values {
		if e == nil {
			continue
		}
		if _, ok := e.Key.(*ast.MergeKeyNode); !ok {
			own = append(own, e)
			continue
		}
		if !d.enter(e, path) {
			continue
		}
		src := d.resolve(e.Value, path)
		var sources []ast.Node
		if s, ok := src.(*ast.SequenceNode); ok {
			sources = s.Values
		} else {
			sources = []ast.Node{src}
		}
		for _, s := range sources {
			if sm, ok := d.resolve(s, path).(*ast.MappingNode); ok {
				merged = append(merged, d.entries(sm, path)...)
			} else {
				d.add(posOf(e.Key), child(path, "<<"), "merges something that is not a mapping",
					"write <<: *anchor, where the anchor names a mapping")
			}
		}
		d.depth--
	}
	return append(merged, own...)
}

// resolve looks through anchors, tags and aliases to the node meant.
func (d *decoder) resolve(n ast.Node, path string) ast.Node {
	for range maxDepth {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.TagNode:
			n = x.Value
		case *ast.MappingKeyNode:
			n = x.Value
		case *ast.AliasNode:
			name := tokenText(x.Value)
			target, ok := d.anchors[name]
			if !ok {
				d.shadow[path] = true
				d.add(posOf(x), path, fmt.Sprintf("alias *%s names no anchor", name), "define &"+name+" before using it")
				return nil
			}
			n = target
		default:
			return n
		}
	}
	d.tooDeep(n, path)
	return nil
}

// enter counts a value about to be decoded and reports whether to go on.
// The caller decrements depth when it returns, if enter said yes.
func (d *decoder) enter(n ast.Node, path string) bool {
	d.values++
	switch {
	case d.values == maxValues+1:
		d.add(posOf(n), path, "the file expands to too many values", "check aliases (*name) that repeat large anchors")
		return false
	case d.values > maxValues:
		return false
	case d.depth >= maxDepth:
		d.tooDeep(n, path)
		return false
	}
	d.depth++
	return true
}

func (d *decoder) tooDeep(n ast.Node, path string) {
	if d.deep {
		return
	}
	d.deep = true
	for len(path) > 60 {
		path = parent(path)
	}
	d.shadow[path] = true
	d.add(posOf(n), path, "nested too deeply", "check for an alias used inside its own anchor")
}

// wrongKind reports a value that is not the kind wanted.
func (d *decoder) wrongKind(n ast.Node, path, want, hint string) {
	d.shadow[path] = true
	what := describe(n)
	if d.quiet && isScalar(n) {
		what = "a single value"
	}
	d.add(posOf(n), path, fmt.Sprintf("must be %s, not %s", want, what), hint)
}

// key returns the text of a mapping key.
func (d *decoder) key(k ast.MapKeyNode, path string) (string, bool) {
	n := d.resolve(k, path)
	if !isScalar(n) {
		d.add(posOf(k), path, "a key must be a plain name", "write name: value")
		return "", false
	}
	return scalarText(n), true
}

// collectAnchors records every anchor under n by name.
func collectAnchors(n ast.Node, into map[string]ast.Node, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	switch x := n.(type) {
	case *ast.AnchorNode:
		into[tokenText(x.Name)] = x.Value
		collectAnchors(x.Value, into, depth+1)
	case *ast.TagNode:
		collectAnchors(x.Value, into, depth+1)
	case *ast.MappingNode:
		for _, e := range x.Values {
			if e != nil {
				collectAnchors(e.Key, into, depth+1)
				collectAnchors(e.Value, into, depth+1)
			}
		}
	case *ast.MappingKeyNode:
		collectAnchors(x.Value, into, depth+1)
	case *ast.SequenceNode:
		for _, e := range x.Values {
			collectAnchors(e, into, depth+1)
		}
	}
}
