// Package health keeps how a running hub's loops are doing — capture
// from each system, delivery to it — and shares that through a small
// file in the data directory, health.json, that `tandem status` reads.
//
// The hub's store may be the very thing that fails (a disk that refuses
// writes, a store locked by someone else), so what a failing loop knows
// must not travel through it: the loops report to a Board in memory, and
// the Board writes the file beside the store.
//
// Invariants:
//   - The file is replaced whole: written to a temporary file in the
//     same directory and renamed over the old one, so a reader finds the
//     previous state or the next, never half of one.
//   - While the hub runs the file is rewritten every second, and at once
//     when a part turns from ok to failing or back. A file not rewritten
//     for StaleAfter, or whose process is gone, describes no running
//     hub (Alive); one the hub stopped cleanly says when it stopped.
//   - A part that fails keeps the time it began failing until it works
//     again: later failures only add to its attempts and replace its
//     error. Delivery is failing while any of its parts (writes to the
//     destination, the store's queue, the system's reports) is.
//   - Only one hub writes a data directory's file: the one holding the
//     directory's lock (see store.OpenExclusive).
//
// Package hub owns a Board and runs its writer; package admin reads the
// file for status. Nothing else should write it.
package health
