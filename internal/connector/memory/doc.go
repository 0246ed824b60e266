// Package memory is an in-process system: tables of records in memory with
// a change feed. The benchmark uses it as a source that costs nothing, and
// tests use it as a fake system; it keeps every promise a connector makes.
package memory
