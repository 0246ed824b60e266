// Package demo runs tandem on a fresh machine with nothing installed:
// three SQLite systems and a simulated CRM behind a REST API, each with its
// own schema and IDs, users editing all of them at once, live progress, and
// a final row-by-row comparison.
// `tandem demo` calls Run.
package demo
