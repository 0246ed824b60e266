// Package store keeps the hub's durable state: the change log, links
// (identity map), golden records, source cursors, outbound queues, dead
// letters and counters. Store is the interface; SQLite is the embedded
// implementation. Everything one resolve or delivery step writes goes
// through one Update transaction, so a crash leaves all of it or none.
package store
