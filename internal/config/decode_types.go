package config

// The Go side of decoding: which yaml key sets which struct field, and
// which field types the decoder can set.

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// yamlKeys maps the yaml keys a struct declares to its field indexes, and
// lists the keys sorted. The keys of a struct embedded with
// `yaml:",inline"` are the embedding struct's own.
func yamlKeys(t reflect.Type) (map[string][]int, []string) {
	keys := map[string][]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.Anonymous && name == "" && opts == "inline" && f.Type.Kind() == reflect.Struct {
			inner, _ := yamlKeys(f.Type)
			for k, idx := range inner {
				keys[k] = append([]int{i}, idx...)
				names = append(names, k)
			}
			continue
		}
		if name == "" || name == "-" {
			continue
		}
		keys[name] = []int{i}
		names = append(names, name)
	}
	slices.Sort(names)
	return keys, names
}

// undecodable lists the fields under t, a config struct, that decode
// cannot set.
func undecodable(t reflect.Type) []string {
	var out []string
	seen := map[reflect.Type]bool{}
	var check func(reflect.Type, string)
	check = func(ty reflect.Type, where string) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		switch {
		case ty == reflect.TypeFor[Duration]():
		case ty.Kind() == reflect.Pointer, ty.Kind() == reflect.Slice:
			check(ty.Elem(), where)
		case ty.Kind() == reflect.Map:
			if ty.Key().Kind() != reflect.String {
				out = append(out, fmt.Sprintf("%s: map key %s is not a string", where, ty.Key()))
			}
			check(ty.Elem(), where)
		case ty.Kind() == reflect.Struct:
			keys, _ := yamlKeys(ty)
			for _, k := range slices.Sorted(maps.Keys(keys)) {
				check(ty.FieldByIndex(keys[k]).Type, where+"."+k)
			}
		case ty.Kind() == reflect.Interface, ty.Kind() == reflect.String, ty.Kind() == reflect.Int, ty.Kind() == reflect.Bool:
		default:
			out = append(out, fmt.Sprintf("%s: decode cannot set a %s", where, ty))
		}
	}
	check(t, t.Name())
	return out
}
