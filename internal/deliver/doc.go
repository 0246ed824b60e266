// Package deliver brings each destination up to the golden records queued
// for it: batched, ordered per record and parents before children, retried
// with backoff and jitter, poison records isolated by splitting batches and
// dead-lettered after a bounded number of attempts. A create's new key is
// linked in the same store transaction that marks its delivery done.
package deliver
