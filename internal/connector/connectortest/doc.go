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
// Only tests import this package.
package connectortest
