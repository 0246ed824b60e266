// Package admin answers an operator's questions and carries out their
// actions against the store: status per system and entity, dead letters
// (list, retry, discard) and a record's links across systems.
//
// Invariants:
//   - Each answer is read in one read transaction of the store, so its
//     counts and lists agree with each other (Inspect reads the counters
//     and the held and waiting changes together).
//   - The only thing it changes is the state of dead letters (SetDead):
//     every named letter in one transaction or none, and only letters
//     that are open or marked for retry. It re-delivers nothing itself: a
//     running hub acts on a retry.
//   - It reads the hub's health file (see package health) and never
//     writes it.
//
// The CLI's status, dlq and links commands call it, as do the demo and
// the simulator test rig (sim/simtest) to follow the hub's counters; the
// admin API will use the same calls.
package admin
