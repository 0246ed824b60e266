// Package queue is the connector for systems that tandem cannot read or
// write directly and that speak its message contract (internal/contract)
// through a broker, RabbitMQ or NATS JetStream, instead. Each such system
// has three queues:
//
//   - outbound: the system publishes a change message after each of its
//     own commits. Changes reads it; Ack acknowledges the messages of a
//     batch only after the hub has stored the batch.
//   - inbound: Apply publishes one change message per write, in the
//     system's own entity name, key and field names, carrying tandem's
//     global id. Apply returns once the broker has confirmed them.
//   - reports: the system answers each inbound change with a result —
//     applied, created (with the new key) or failed (with a reason).
//     Reports hands them to the hub, which links created keys and
//     dead-letters failures; AckReports acknowledges them once that is
//     stored. The connector is a connector.Reporter.
//
// # Copies, order and echoes
//
// Brokers deliver at least once: a message whose acknowledgement was
// lost (a dropped connection, a crash) comes again. The connector keeps
// the ids of messages it acknowledged recently and drops copies, and a
// copy fetched while the first is still waiting for its batch to be
// stored joins it instead of making a second change. Within what it
// remembers, it also drops a change of a record whose version is not
// newer than one already stored, and a batch holds one change per record
// (its newest), so a redelivery that overtakes a later message cannot
// bring an older state back. A change marked with a cause (made by the
// system while applying one of tandem's changes) is an echo. Tandem's
// message ids name the version of the golden record they carry, so an
// echo of an upsert comes to the hub marked Echo with that version in
// Base: if the record has a newer version (the system's users changed
// it while tandem's write was on its way, and the write then undid
// that), the hub sends the system the record again. Other echoes are
// dropped.
//
// A message that breaks the contract, names another system or an
// entity that is not mapped becomes a Rejected report, and so a dead
// letter naming system, entity, key and field; it is acknowledged only
// once that is stored. Nothing waits behind it.
//
// # Outages
//
// The broker layer reconnects by itself. While the broker is down,
// Changes and Reports fail (the hub retries them with backoff) and Apply
// waits for it to return, so deliveries pause rather than use up their
// retries. Messages fetched before the outage and not yet acknowledged
// come again afterwards and are recognised as copies.
//
// The hub's capture loop is the only caller of Changes and Ack, its
// reports loop the only caller of Reports and AckReports, and one
// delivery worker calls Apply.
package queue
