// Package deliver brings each destination up to the golden records queued
// for it: batched, ordered per record and parents before children, retried
// with backoff and jitter, poison records isolated by splitting batches and
// dead-lettered after a bounded number of attempts.
//
// One Worker runs per destination (the hub starts it), as a pipeline of
// three stages, each in its own file:
//   - fetch (fetch.go) reads a batch of due deliveries and prepares each
//     write in the destination's columns and keys: a child whose parent
//     has no key there yet waits, a record the mapping filters out or
//     never sent there is skipped;
//   - write (write.go) applies the batch, entity by entity, parents
//     first; a failed call is split in halves until the poison record
//     stands alone (split.go); when every write of a round fails, the
//     destination is taken to be down and no record uses up an attempt;
//   - record (record.go) writes the round's outcome in one store
//     transaction: deliveries done, new keys linked, retries deferred by
//     the backoff policy, dead letters.
//
// Invariants:
//   - A record is in at most one batch at a time, and a delivery counts
//     as done only for the golden version it wrote (store.Queue.Done).
//   - A key a destination gives a new record is linked at once (and again
//     with the round, should that fail), before any later write of it:
//     a crash never leaves a record tandem made that it does not know of.
//   - Retries, waits and dead letters are decisions written in the store,
//     not loops held in memory: a restart resumes them, and a long outage
//     holds no batch open. That is why they are stages of the worker and
//     not wrappers around the destination; rate limits, which act on each
//     request, belong to the connectors' clients.
package deliver
