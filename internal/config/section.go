package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
)

// A Section is a block of settings under a system that one or more
// connector types read, like http: or queue:. The connector package that
// reads it declares its struct (the field comments are the reference),
// checks it, and registers it from an init function; config decodes the
// block as strictly as the rest of the file (unknown keys, lines, hints,
// ${…} references and secret tags work the same) and runs the check with
// the other checks, so that every problem still comes out at once.
type Section struct {
	// Key is the block's key under a system.
	Key string
	// Types are the system types that read the block. Under a system of
	// another type the block is a mistake.
	Types []string
	// New returns a pointer to an empty settings struct to decode into.
	New func() any
	// Check reports the mistakes of a system of one of Types. block is
	// the decoded value New returned, or nil when the system has no block.
	Check func(c *Check, block any)
}

var (
	sectionsMu sync.RWMutex
	sections   = map[string]Section{}
)

// Register makes a section known to Load. Connector packages call it
// from init; a key registered twice is a programming error.
func Register(s Section) {
	sectionsMu.Lock()
	defer sectionsMu.Unlock()
	if _, dup := sections[s.Key]; dup || s.Key == "" || s.New == nil {
		panic(fmt.Sprintf("config: section %q registered twice or incomplete", s.Key))
	}
	v := reflect.ValueOf(s.New())
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("config: section %q: New must return a pointer to a struct", s.Key))
	}
	if bad := undecodable(v.Elem().Type()); len(bad) > 0 {
		panic(fmt.Sprintf("config: section %q: %s", s.Key, strings.Join(bad, "; ")))
	}
	sections[s.Key] = s
}

// sectionOf returns the section registered under key.
func sectionOf(key string) (Section, bool) {
	sectionsMu.RLock()
	defer sectionsMu.RUnlock()
	s, ok := sections[key]
	return s, ok
}

// sectionKeys lists the registered section keys, sorted.
func sectionKeys() []string {
	sectionsMu.RLock()
	defer sectionsMu.RUnlock()
	return sortedKeys(sections)
}

// block decodes the settings block of section sec under system sys.
func (d *decoder) block(sys *System, sec Section, n ast.Node, path string) {
	if sys.Blocks == nil {
		sys.Blocks = map[string]any{}
	}
	into, ok := sys.Blocks[sec.Key]
	if !ok {
		into = sec.New()
	}
	v := reflect.ValueOf(into)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic(fmt.Sprintf("config: section %q: New must return a pointer", sec.Key))
	}
	d.decode(n, v.Elem(), path)
	sys.Blocks[sec.Key] = into
}

// Block returns the decoded settings block key of s, or nil.
func (s *System) Block(key string) any {
	if s == nil {
		return nil
	}
	return s.Blocks[key]
}

// Check is what a section's check reports its problems to.
type Check struct {
	// Config is the whole configuration, defaults applied.
	Config *Config
	// System is the system whose block is checked.
	System *System
	k      *checker
	path   string
}

// Add reports a problem at the keys below the system, like ("http",
// "resources", "contacts"), or at the system itself with no keys.
func (c *Check) Add(msg, hint string, keys ...string) {
	p := c.path
	for _, k := range keys {
		p = child(p, k)
	}
	c.k.add(c.System.Line, p, msg, hint)
}

// Under is a Check whose problems are at the keys below c's, like
// c.Under("http", "resources", "contacts").
func (c *Check) Under(keys ...string) *Check {
	u := *c
	for _, k := range keys {
		u.path = child(u.path, k)
	}
	return &u
}

// sections checks the blocks of system s at path p: each under a type
// that reads it, and each section's own check for a type it serves.
func (k *checker) sections(s *System, p string) {
	for _, key := range sortedKeys(s.Blocks) {
		sec, _ := sectionOf(key)
		if s.Type != "" && !slices.Contains(sec.Types, s.Type) {
			k.add(s.Line, child(p, key), fmt.Sprintf("is only for systems of type %s, and this one is %s", orList(sec.Types), s.Type),
				"remove the block, or write type: "+sec.Types[0])
		}
	}
	c := &Check{Config: k.c, System: s, k: k, path: p}
	for _, key := range sectionKeys() {
		sec, _ := sectionOf(key)
		if slices.Contains(sec.Types, s.Type) && sec.Check != nil {
			sec.Check(c, s.Blocks[key])
		}
	}
}

func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// Suggest is the hint for a word that is not one of known: the closest
// known word, and the known ones.
func Suggest(word string, known []string) string { return suggest(word, known) }

// DSNHint is the hint for a missing or malformed dsn of a system type.
func DSNHint(typ string) string { return dsnHint(typ) }

// SortedKeys lists the keys of m, sorted.
func SortedKeys[V any](m map[string]V) []string { return sortedKeys(m) }
