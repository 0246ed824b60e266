// Package rest is the engine shared by the connectors of systems reached
// through a REST API (http, salesforce, hubspot), as sqldb is for SQL
// databases. Only those connector packages import it: each makes one
// Client per system, which capture and delivery share (it is safe for
// concurrent use), and one Capture over the system's Feeds, Scans and
// Pulls, which the hub drives through the connector.
//
// # Politeness
//
// A Client sends every request of one system through one Limiter: a token
// bucket at the configured rate, shared by capture and delivery. A 429
// answer (or a vendor's equivalent) pauses every request of the system
// until its Retry-After or rate-limit reset has passed, and lowers the
// bucket's rate below the rate that was being refused; the rate climbs
// back once answers stop being refused. A refused request is sent again
// without using up a retry, for as long as MaxWait allows; after that the
// call fails with an error that delivery retries later, so a 429 storm
// slows tandem down but loses nothing.
//
// # Retries and unknown outcomes
//
// A 5xx answer, a timeout or a broken connection is retried with
// exponential backoff and jitter, up to Retries times, when the request
// is safe to repeat (GET, PUT, DELETE, and requests the caller marks
// idempotent). A request that is not (a POST that creates) is never sent
// again blindly: the client returns an *Unsure error, and the connector
// looks the record up by tandem's global id or a natural key before
// deciding whether to create it again.
//
// # Capture
//
// A Feed turns a list endpoint sorted by updated-at (or version) into a
// stream of changes with a durable cursor. Each poll asks for records
// changed since the cursor less an overlap, skips those already
// acknowledged at the same stamp, and returns the rest in order; Ack
// moves the cursor to the newest stamp of the batch. The cursor is a
// Position the hub stores in the same transaction as the batch, so a
// crash re-reads rather than loses. The position also holds what a hub
// that starts again must not relearn the hard way: the records the
// feed acknowledged within its overlap (read again, they are no news),
// whether the system stamps tandem's writes (Stamping), and each delete
// scan's ids with the global ids their records carry. Pulls holds records named by webhook
// notifications until a poll fetches them: notifications that repeat or
// arrive out of order collapse into one fetch of the current state.
package rest
