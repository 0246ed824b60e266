// Package client lets an application take part in tandem's record
// synchronisation through a message broker (RabbitMQ or NATS JetStream),
// speaking tandem's message contract correctly so that the application
// need not. The application's system is declared in tandem.yaml with
// type: queue.
//
// The client does three things:
//
//   - Publish records a change of one of the application's records in the
//     application's own database transaction, in an outbox table. The
//     change is sent only if the transaction commits, and a broker
//     outage never fails or slows the application's writes.
//   - Relay sends outbox rows to the broker, in order, and deletes them
//     once the broker has confirmed them; while the broker is down it
//     waits and tries again, so nothing is lost.
//   - Consume applies the changes tandem sends (made in other systems),
//     one at a time, in order, each in a transaction of the
//     application's database: it calls the application's Handler and
//     reports the outcome back to tandem — applied, created with the new
//     key, or failed with a reason — through the same outbox, in the same
//     transaction.
//
// The client keeps three tables in the application's database (see
// Setup): the outbox, the links between tandem's global ids and the
// application's keys of records it created from tandem's changes (so a
// create that arrives twice makes one record, and later changes of those
// records carry their global id back), and the ids of the messages
// already applied (so a message the broker gives twice is applied once).
//
// Changes the application makes while a Handler runs are marked as caused
// by the message being applied, if they are published with the Handler's
// context; tandem drops them, so its own writes do not come back to it.
//
// A typical program:
//
//	c, err := client.New(client.Options{System: "shop", Broker: "rabbitmq",
//		URL: "amqp://shop:secret@mq:5672/", DB: db, Dialect: client.Postgres})
//	...
//	if err := c.Setup(ctx); err != nil { ... }
//	go c.Relay(ctx)
//	go c.Consume(ctx, applyChange)
//
//	// In the application's own write path:
//	tx, _ := db.BeginTx(ctx, nil)
//	tx.ExecContext(ctx, "UPDATE customers SET name = $1 WHERE id = $2", name, id)
//	c.Publish(ctx, tx, client.Change{Entity: "customer", Key: id, Fields: map[string]any{"name": name, "email": email}})
//	tx.Commit()
//
// Applications call it; within tandem, only the torture harness's queue
// application and the end-to-end tests do, as an application would. See
// docs/contract.md for the messages themselves.
package client
