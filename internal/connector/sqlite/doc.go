// Package sqlite connects tandem to a SQLite database file, through the
// shared SQL engine in package sqldb.
//
// Capture is by triggers into the tandem_outbox table. Tandem's own writes
// are told apart by a one-row control table, tandem_control: a write
// transaction of tandem sets applying = 1 first and 0 again before it
// commits, and the triggers fire only WHEN applying = 0. SQLite admits one
// writer at a time, so no other connection ever reads the 1.
//
// The file is opened in WAL mode with a busy timeout, since the
// application writes the same file from its own process, and write
// transactions begin IMMEDIATE so they wait for the lock instead of
// failing half-way. Values of columns declared BOOLEAN or DATE/TIME are
// converted by the declared type; times are written as RFC 3339 text in UTC.
//
// Only package registry imports it: the hub opens a system of type sqlite
// through registry.Open. The package is a dialect of sqldb, whose
// Engine does the rest.
package sqlite
