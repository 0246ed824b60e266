// Package store keeps the hub's durable state: the change log, links
// (identity map), golden records, source cursors, outbound queues, dead
// letters and counters. Store is the interface; SQLite is the embedded
// implementation. Everything one resolve or delivery step writes goes
// through one Update transaction, so a crash leaves all of it or none.
//
// One hub at a time runs on a data directory: the hub opens the store
// with OpenExclusive, which holds the directory's lock (an flock on
// tandem.lock naming the holder) for the life of the process. Commands
// that read the store or mark dead letters open it with OpenSQLite,
// beside the hub.
//
// Every open makes the data directory (0700) and the store's files (0600)
// private to the user, whatever the umask or their modes before, and
// refuses a store SQLite's quick check finds damaged with a
// *DamagedError saying what to do (see perm.go and integrity.go).
package store
