// Package storetest is the acceptance suite every implementation of
// tandem's store passes: the SQLite store, the in-memory twin, and any
// store written later. Run calls each test of the suite on fresh stores
// that an Opener makes.
//
// The suite checks what callers rely on: a transaction is all or
// nothing; a cursor is kept once its transaction commits, across a
// reopen; deliveries come due in queue order, a renewed entry keeps its
// place and a completed one goes only if no newer version replaced it;
// a key names one record and a record has one key per system; every read
// sees the transaction's own writes. Then it replays random sequences of
// calls on the store and on the in-memory twin side by side, and fails
// on the first answer in which they differ: whatever a store buffers or
// batches, a caller cannot tell.
//
// Only tests import it.
package storetest
