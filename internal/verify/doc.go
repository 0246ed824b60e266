// Package verify compares what every system actually holds with tandem's
// golden records, row by row and field by field, through the systems'
// own connectors.
//
// Invariants:
//   - It only reads: systems through their connectors' snapshots, the
//     store through read transactions. It changes neither.
//   - The systems and the store are read one after another, not at one
//     instant, so it speaks true only of systems at rest: callers let
//     tandem drain first. On busy systems it reports changes in flight.
//   - Fields are compared in canonical form, references through the
//     global ids they link to; an empty string and a missing value are
//     the same. Differences come in order: entities parents first,
//     systems by name, rows as the system lists them, then its missing
//     records by global id.
//
// The demo and the end-to-end and hub tests use it to prove the systems
// agree; reconciliation will build on it.
package verify
