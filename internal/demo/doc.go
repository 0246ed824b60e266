// Package demo runs tandem on a fresh machine with nothing installed:
// three SQLite systems and a simulated CRM behind a REST API, each with its
// own schema and IDs, users editing all of them at once, live progress, and
// a final row-by-row comparison.
//
// Invariants:
//   - It needs no server: the systems are SQLite files and the CRM
//     simulator runs in the process. Everything lives in Options.Dir, or
//     in a temporary directory removed at the end.
//   - Run returns nil only when, after the edits stop and tandem has
//     drained, every system agrees with the golden records, field by
//     field, and it then prints a line beginning AGREE. Otherwise it
//     prints DISAGREE and the differences and returns ErrDisagree, or an
//     error if tandem did not drain within Options.Drain.
//
// `tandem demo` calls Run.
package demo
