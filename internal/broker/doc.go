// Package broker is the thin layer between tandem's queue connector (and
// the client package applications use) and a message broker: RabbitMQ
// through AMQP 0-9-1, or NATS JetStream. Both look the same from above:
// durable queues, publishing that returns only once the broker has the
// messages safely (publisher confirms; JetStream publish acks), and
// consumers that receive with a bounded prefetch and acknowledge one
// message at a time, never automatically.
//
// # Promises
//
//   - Publish returns nil only once the broker has confirmed every message
//     of the batch: a RabbitMQ publisher confirm of a persistent message
//     routed to a durable queue (a message that no queue takes comes back
//     and fails the publish), a JetStream publish ack from the stream. An
//     error promises nothing either way: the caller publishes the same
//     messages again, under the same IDs.
//   - A message stays with the broker until a consumer acknowledges it.
//     Ack returning nil means the broker has handled the acknowledgements
//     it was sent (a round trip follows them), except that an AMQP
//     acknowledgement for a delivery of a connection that is gone is
//     skipped: the broker gives that message again.
//   - Delivery is at least once, never at most once: a message comes again
//     after a lost connection, a JetStream ack wait (30s) that ran out, or
//     a publish that is repeated after an error. JetStream drops
//     republished copies with a message ID it has seen within its
//     duplicate window (2 minutes on a stream tandem made); RabbitMQ drops
//     none. This package drops no copies: receivers de-duplicate by
//     Delivery.ID (the queue connector's inbox, the client's table of
//     applied messages).
//
// # Outages
//
// A Broker keeps itself connected. RabbitMQ connections are redialled
// with backoff by a supervisor goroutine (the AMQP library does not
// reconnect), and queues and consumers are set up again on the new
// connection; the NATS library reconnects by itself. While the broker is
// unreachable, Publish and Fetch fail at once with an error wrapping
// ErrUnavailable, and Wait blocks until it is back.
//
// Messages received but not acknowledged when a connection drops are
// given again by the broker, possibly to a later Fetch: receivers must
// drop copies by message id. An AMQP acknowledgement can only travel on
// the channel the message came on, so Ack quietly skips deliveries of a
// connection that is gone; the broker redelivers those.
//
// # Callers
//
// Only the queue connector and the client package use a Broker to carry
// messages; the torture harness dials one to remove its queues after a
// run, and brokertest fakes one for tests.
package broker
