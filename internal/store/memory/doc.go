// Package memory is the in-memory twin of tandem's store: every role of
// store.Tx, kept in maps, with nothing on disk. It is the store's
// specification made executable: written for clarity, not speed, it
// does each call at once, in call order, so what the SQLite store does
// with buffered writes and batched statements can be held against it
// (storetest runs the same acceptance suite against both, and replays
// random sequences of calls on both side by side).
//
// An Update works on a copy of the state and swaps it in only when its
// function returns nil, so a failed transaction leaves nothing behind.
// Updates are serialised; Views read the last committed state and may
// run beside them. Tests and tools may use it; the hub keeps its state
// in a store that outlives the process.
package memory
