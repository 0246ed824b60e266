package rest

import (
	"encoding/json"
	"strings"

	"github.com/tandemhub/tandem/internal/record"
)

// Get returns the value at a dotted path (a.b.c) in decoded JSON; the
// empty path is v itself.
func Get(v any, path string) any {
	if path == "" {
		return v
	}
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// Set puts val at a dotted path, making objects on the way.
func Set(m map[string]any, path string, val any) {
	parts := strings.Split(path, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = val
}

// Objects returns the JSON objects of a list, skipping anything else.
func Objects(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, it := range arr {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// Value normalises a decoded JSON value to a record value: numbers to
// int64 or float64, objects and lists to their compact JSON text.
func Value(v any) any {
	switch x := v.(type) {
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return record.Normalize(v)
}

// Text renders a decoded JSON value as text: keys, ids, stamps.
func Text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	}
	n := record.Normalize(v)
	if s, ok := n.(string); ok {
		return s
	}
	b, _ := json.Marshal(n)
	return string(b)
}

// Truthy reports whether a value marks something as set: true, a
// non-zero number, a non-empty string other than "false" and "0".
func Truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && x != "false" && x != "0"
	case json.Number:
		return x.String() != "0"
	}
	return true
}
