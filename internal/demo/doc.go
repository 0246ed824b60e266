// Package demo runs tandem on a fresh machine with nothing installed:
// three SQLite systems with their own schemas and IDs, a generator editing
// all three at once, live progress, and a final row-by-row comparison.
// `tandem demo` calls Run.
package demo
