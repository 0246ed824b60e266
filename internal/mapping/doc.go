// Package mapping translates one entity between a system's columns and
// tandem's canonical fields (renames, value maps, expressions, defaults,
// filters) and validates canonical records against the entity's JSON Schema.
// It is pure: no I/O, safe for concurrent use once built.
//
// Invariants:
//   - An expression is not run on NULL: a field whose column is NULL (on
//     the way in) or whose canonical value is (on the way out) maps to
//     NULL, or on the way in to the field's default if it has one.
//   - Nothing is guessed. A value with no entry in a values map, or text
//     that is not valid UTF-8, fails the record with a FieldError naming
//     the field; it is never passed on changed.
//   - References are not translated here: ToCanonical gives a reference
//     as the system's own key of the record it points to, as text, and
//     ToLocal expects the system's own keys. Callers translate through
//     the store's links.
//   - Read-only fields, and fields computed from columns with no column
//     of their own, are never written to the system.
//
// Package hub compiles a Map for each system and entity; resolve uses
// them on captured changes, deliver on writes to destinations, and
// verify and admin to compare and show records.
package mapping
