// Package resolve turns captured changes into golden-record updates and
// outbound deliveries: it links local keys to global ids (or matches them
// by natural key), translates references, maps and validates fields,
// decides which of concurrent changes wins, drops echoes and no-ops, and
// enqueues one delivery per destination the routes select. Callers run
// Resolve inside one store transaction together with the log append.
//
// Resolving a change is two steps. Decide reads the store through a
// View (links, tombstones, natural keys, golden records) and writes
// nothing: it returns an Outcome, the change's entry in the log and every
// write that goes with it (links, the golden record, dead letters, the
// destinations it is sent to). A writer then applies the outcome in the
// call's transaction, the log entry first, since a new version of a
// record is the change's position in the log. A change whose key turns
// out to name another record than it is linked to gets an outcome that
// asks for that record's delete first (Outcome.Vanish); it is applied,
// and the change decided again.
//
// A Resolver keeps no state between calls: which records have held
// changes, and whether dead letters are open, are read from the store in
// each call's transaction, so a transaction that rolls back leaves the
// resolver as it was. The hub's capture (Resolve), maintenance
// (RetryHeld, Resolve of a retried dead letter), delivery (Vanished) and
// adoption (Adopt) call it; tests call Decide.
//
// # Identity
//
// A system's key is evidence of which record a change is about, never
// proof. A linked key is taken to name a new record, and the record it
// named to be gone from that system, when the source says its users
// inserted the row (a key reused after a delete), when the row carries
// another global id than the link's (an id table, a lookup field), or,
// for sources that cannot tell an update from an insert, when the row's
// natural key (the entity's match fields) differs from the record's. An
// unlinked key is identified by the global id the row carries if tandem
// knows that record, else by natural key, else by the carried id (a store
// rebuilt from systems tandem kept before), else it is a new record. A
// key tandem saw deleted keeps a tombstone: a change read before the
// delete, resolved after it, is recognised by its time and dropped.
//
// # Order
//
// With record-level merge (the default), a change whose source time is
// older than the golden record's loses whole, and its source is sent the
// golden record back if its row differs; a change of unknown time loses
// to one of known time. With field-level merge, each field a source says
// its users changed is taken, in the order changes arrive. Deletes win
// over concurrent updates either way.
package resolve
