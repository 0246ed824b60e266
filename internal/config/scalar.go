package config

import (
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/tandemhub/tandem/internal/secret"
)

// text returns the string value of a scalar with ${ENV_VAR} and
// ${file:PATH} expanded.
func (d *decoder) text(n ast.Node, path string) (string, bool) {
	if !isScalar(n) {
		d.wrongKind(n, path, "a single value", "")
		return "", false
	}
	s := scalarText(n)
	out, refs, issues := expandEnv(s, d.src)
	for _, is := range issues {
		p := posOf(n)
		if p.col > 0 && !strings.Contains(s, "\n") {
			p.col += is.Off
			if tk := n.GetToken(); tk != nil && (tk.Type == token.DoubleQuoteType || tk.Type == token.SingleQuoteType) {
				p.col++
			}
		}
		msg := is.Msg
		if d.quiet && is.Bare != "" {
			msg = is.Bare
		}
		d.shadow[path] = true
		d.add(p, path, msg, is.Hint)
	}
	if len(refs) > 0 {
		d.expanded[path] = expansion{raw: s, value: out}
		for _, r := range refs {
			d.hide = append(d.hide, r.Value)
		}
	}
	d.secretText(n, path, s, out, len(refs) > 0 || len(issues) > 0)
	return out, true
}

// secretText notes the secret a value at a secret-bearing position holds,
// and warns of one written in the file: s as written, out expanded.
func (d *decoder) secretText(n ast.Node, path, s, out string, referenced bool) {
	switch d.secret {
	case "value":
		d.hide = append(d.hide, out)
		if out != "" && !referenced {
			d.warn(posOf(n), path, "the secret is written in the file",
				"give it as ${ENV_VAR} or ${file:PATH}, so that the file can be shared and kept without it")
		}
	case "dsn":
		d.hide = append(d.hide, secret.Passwords(out)...)
		for _, p := range secret.Passwords(s) {
			if !strings.Contains(p, "${") {
				d.warn(posOf(n), path, "the password is written in the file",
					"give it as ${ENV_VAR} or ${file:PATH} inside the connection string, like "+dsnExample(secret.DSN(s)))
				break
			}
		}
	}
}

// dsnExample is a masked connection string with its password given as
// ${PASSWORD}.
func dsnExample(masked string) string {
	return strings.Replace(masked, secret.Mask, "${PASSWORD}", 1)
}

func (d *decoder) warn(p pos, path, msg, hint string) {
	d.warns = append(d.warns, Problem{File: d.file, Line: p.line, Column: p.col, Path: path, Msg: msg, Hint: hint})
}

// shown is how a problem names the value s found at path: quoted, or,
// when ${…} references gave it, by what was written.
func (d *decoder) shown(path, s string) string {
	if e, ok := d.expanded[path]; ok {
		return valueOf(e.raw)
	}
	if d.quiet {
		return "the value"
	}
	return strconv.Quote(s)
}

// valueOf names the value that raw, text holding ${…} references,
// expanded to, without showing it: the value of ${PG_PASSWORD}.
func valueOf(raw string) string {
	if strings.HasPrefix(raw, "${") && strings.IndexByte(raw, '}') == len(raw)-1 {
		return "the value of " + raw
	}
	return "the value of " + strconv.Quote(secret.DSN(raw))
}

func (d *decoder) integer(n ast.Node, v reflect.Value, path string) {
	s, ok := d.text(n, path)
	if !ok {
		return
	}
	i, err := strconv.ParseInt(strings.TrimSpace(s), 0, 64)
	if err != nil || v.OverflowInt(i) {
		d.shadow[path] = true
		d.add(posOf(n), path, d.shown(path, s)+" is not a whole number", "write digits only, like 500")
		return
	}
	v.SetInt(i)
}

func (d *decoder) boolean(n ast.Node, v reflect.Value, path string) {
	s, ok := d.text(n, path)
	if !ok {
		return
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		v.SetBool(true)
	case "false":
		v.SetBool(false)
	default:
		d.shadow[path] = true
		d.add(posOf(n), path, d.shown(path, s)+" is not true or false", "write true or false")
	}
}

func (d *decoder) duration(n ast.Node, v reflect.Value, path string) {
	s, ok := d.text(n, path)
	if !ok {
		return
	}
	var dur Duration
	if err := dur.UnmarshalText([]byte(s)); err != nil {
		d.shadow[path] = true
		d.add(posOf(n), path, d.shown(path, s)+" is not a duration", "write a number with a unit, like 200ms, 5s or 1m")
		return
	}
	v.SetInt(int64(dur))
}

// plain converts free-form YAML (a JSON Schema, a default value) to Go
// values: map[string]any, []any, string, int64, uint64, float64, bool, nil.
func (d *decoder) plain(n ast.Node, path string) any {
	if !d.enter(n, path) {
		return nil
	}
	defer func() { d.depth-- }()
	n = d.resolve(n, path)
	switch x := n.(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.MappingNode:
		out := map[string]any{}
		for _, e := range d.entries(x, path) {
			if key, ok := d.key(e.Key, path); ok {
				kp := child(path, key)
				d.at[kp] = posOf(e.Key)
				out[key] = d.plain(e.Value, kp)
			}
		}
		return out
	case *ast.SequenceNode:
		out := make([]any, len(x.Values))
		for i, e := range x.Values {
			d.at[item(path, i)] = posOf(e)
			out[i] = d.plain(e, item(path, i))
		}
		return out
	case *ast.IntegerNode:
		return x.Value
	case *ast.FloatNode:
		return x.Value
	case *ast.InfinityNode:
		return x.Value
	case *ast.NanNode:
		return math.NaN()
	case *ast.BoolNode:
		return x.Value
	}
	s, _ := d.text(n, path)
	return s
}

func isNull(n ast.Node) bool {
	if n == nil {
		return true
	}
	_, ok := n.(*ast.NullNode)
	return ok
}

func isScalar(n ast.Node) bool {
	switch n.(type) {
	case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode,
		*ast.InfinityNode, *ast.NanNode, *ast.NullNode:
		return true
	}
	return false
}

// scalarText is a scalar's value as written: quotes removed, numbers as
// their digits (so a table named 007 stays 007).
func scalarText(n ast.Node) string {
	switch x := n.(type) {
	case *ast.StringNode:
		return x.Value
	case *ast.LiteralNode:
		if x.Value != nil {
			return x.Value.Value
		}
		return ""
	case *ast.NullNode:
		return ""
	}
	return tokenText(n)
}

func tokenText(n ast.Node) string {
	if isNil(n) {
		return ""
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// posOf is where n starts; for a block mapping, where its first key is.
func posOf(n ast.Node) pos {
	if isNil(n) {
		return pos{}
	}
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 && m.Values[0] != nil && !isNil(m.Values[0].Key) {
		n = m.Values[0].Key
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{}
	}
	return pos{tk.Position.Line, tk.Position.Column}
}

// isNil reports a nil node, including a nil pointer in the interface.
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// describe names what a node holds, for a message.
func describe(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	}
	if isScalar(n) {
		return strconv.Quote(scalarText(n))
	}
	return "this"
}
