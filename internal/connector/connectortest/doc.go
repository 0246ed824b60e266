// Package connectortest is the acceptance suite every SQL connector must
// pass. A connector's tests call Run with a Harness that makes fresh
// databases on a real server; the suite then plays both the application
// (editing rows with plain SQL, outside tandem) and the hub (calling
// Setup, Snapshot, Changes, Ack, Fetch and Apply), and checks the
// promises the hub relies on: capture is idempotent to install, snapshots
// resume from their cursor, changes come in order and stay until acked,
// tandem's own writes are not captured back, writes are idempotent,
// creates survive a lost answer, bad records fail alone and permanently,
// values round-trip, and Close leaks no goroutines.
//
// RunLocks adds, for databases whose transactions lock single rows, the
// promises made to their applications: tandem's writes never make one
// of their transactions fail, and a row one of them holds is neither
// waited for nor written, but reported busy.
//
// Every test gets a database of its own. Only tests import this
// package: those of postgres and mysql call Run and RunLocks, those of
// sqlite Run.
package connectortest
