// Package postgres connects tandem to a PostgreSQL database through the
// shared SQL engine in package sqldb, with pgx as the driver.
//
// Capture is one AFTER row trigger per table, calling a generated
// PL/pgSQL function that records the key in tandem_outbox. Tandem's own
// write transactions set the transaction-local setting tandem.origin to
// 'tandem' (set_config(…, true)), and the function returns early when it
// sees it, so tandem's writes are never captured back.
//
// Writes travel as text arrays unnested and cast server-side
// (INSERT … SELECT … FROM unnest($1::text[], …) ON CONFLICT …): one
// statement per batch whatever its size, with constant SQL that pgx
// prepares once. All statements of a write transaction are sent in one
// pipelined pgx.Batch, so a batch of creates with generated keys costs
// one round trip, not one per row.
//
// A write transaction is READ COMMITTED with lock_timeout 10 ms; it locks
// the rows it writes with FOR UPDATE SKIP LOCKED (see sqldb's Locks).
//
// Only package registry imports it: the hub opens a system of type postgres
// through registry.Open. The package is a dialect of sqldb, whose
// Engine does the rest.
package postgres
