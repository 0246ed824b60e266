// Package brokertest is an in-memory broker.Broker for tests of the
// packages that consume and publish: queues of messages, consumers that
// remember what they handed out, redelivery and outages on demand.
//
// Invariants:
//   - A message stays queued until a consumer fetches it, and unacknowledged
//     until that consumer acknowledges it; Redeliver puts the
//     unacknowledged ones back in front, as a broker does when a
//     connection closes. Nothing is redelivered otherwise: there is no ack
//     deadline, and no delivery is marked Redelivered.
//   - While an outage holds (SetDown), Publish, Fetch and Ack fail with
//     broker.ErrUnavailable and Wait blocks; FailPublishes makes that many
//     more Publish calls fail so.
//   - A Fake is safe for concurrent use.
//
// Tests of the queue connector and of the client package use it.
package brokertest
