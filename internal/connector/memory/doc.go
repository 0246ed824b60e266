// Package memory is an in-process system: tables of records in memory with
// a change feed. The benchmark uses it as a source that costs nothing, and
// tests use it as a fake system; it keeps every promise a connector makes.
// Like the SQL connectors, Changes reads a record's state when it reads,
// not when the change was made; tandem's own writes are never captured,
// and an update of a record its users deleted leaves it deleted.
//
// It is no connector type of tandem.yaml: the benchmark (package bench)
// and the simulator's tests (package sim/simtest) hand it to the hub
// themselves, and write to it as its application would (Put, Delete).
// Its methods are safe for concurrent use.
package memory
