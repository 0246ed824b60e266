package config

import (
	"slices"
)

// Targets lists, sorted, the systems that receive changes of entity
// captured in system from: the other members of each between route that
// names from, and the to systems of each one-way route from it.
func (c *Config) Targets(entity, from string) []string {
	var out []string
	for _, r := range c.Routes {
		if r == nil || r.Entity != entity {
			continue
		}
		if slices.Contains(r.Between, from) {
			out = append(out, r.Between...)
		}
		if r.From == from {
			out = append(out, r.To...)
		}
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == from })
	slices.Sort(out)
	return slices.Compact(out)
}

// Captures lists, sorted, the systems whose changes of entity are
// captured: members of between routes and the from system of one-way
// routes.
func (c *Config) Captures(entity string) []string {
	var out []string
	for _, r := range c.Routes {
		if r == nil || r.Entity != entity {
			continue
		}
		out = append(out, r.Between...)
		if r.From != "" {
			out = append(out, r.From)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// EntityOrder lists the entities so that each comes after the entities it
// refers to (parents before children), alphabetically where refs leave a
// choice. Entities caught in a cycle, which Validate rejects, come last.
func (c *Config) EntityOrder() []string {
	names := sortedKeys(c.Entities)
	placed := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	ready := func(name string) bool {
		e := c.Entities[name]
		if e == nil {
			return true
		}
		for _, parent := range e.Refs {
			if parent != name && c.Entities[parent] != nil && !placed[parent] {
				return false
			}
		}
		return true
	}
	for len(out) < len(names) {
		next := slices.IndexFunc(names, func(n string) bool { return !placed[n] && ready(n) })
		if next < 0 {
			break
		}
		placed[names[next]] = true
		out = append(out, names[next])
	}
	for _, n := range names {
		if !placed[n] {
			out = append(out, n)
		}
	}
	return out
}

// SystemNames lists the declared systems, sorted.
func (c *Config) SystemNames() []string { return sortedKeys(c.Systems) }
