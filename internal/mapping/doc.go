// Package mapping translates one entity between a system's columns and
// tandem's canonical fields (renames, value maps, expressions, defaults,
// filters) and validates canonical records against the entity's JSON Schema.
// It is pure: no I/O, safe for concurrent use once built.
package mapping
