package config

import (
	"strconv"
	"strings"
)

// YAML paths name keys the way problems print them: keys joined by dots,
// list items as [i], and keys holding dots, brackets, quotes or spaces
// double-quoted: mappings."my.db".account.

// child is the path of key inside path.
func child(path, key string) string {
	if strings.ContainsAny(key, ".[]\"' \t\n") || key == "" {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// item is the path of the i-th list item inside path.
func item(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}

// parent is path without its last key or index; "" for a top-level key.
func parent(path string) string {
	last, quoted := 0, false
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && (c == '.' || c == '['):
			last = i
		}
	}
	return path[:last]
}
