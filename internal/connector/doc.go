// Package connector declares what tandem needs from a system: a Source
// that captures changes, a Destination that applies writes, the
// optional parts a connector may add (Installer, Checker, Positioner,
// Webhooks, Announcer, ReadsBack, Knower, Reporter: see Capabilities,
// which the hub asks for once per system), and the errors by which a failed write
// tells delivery what to do with it: *Permanent (park it for an
// operator), *Busy (try it again soon, without using up an attempt) and
// *Gone (its record was deleted in the system).
//
// The promises every connector keeps are written on the interfaces: a
// source releases nothing before Ack, and the hub acks a batch only once
// it is stored; Apply is idempotent, finds the record an earlier try of
// a create made instead of making another, and never waits for the
// system's own transactions; a Positioner is only ever resumed from a
// position the store holds with what it covers.
//
// The hub and delivery call connectors through these interfaces only.
// Connectors live in sub-packages, opened by type through package
// registry, and never import each other: what several share is in the
// engines rest (REST APIs) and sqldb (SQL databases).
package connector
