// Package http is the connector of type http: any REST API, described in
// tandem.yaml rather than coded. Each mapped table is a resource — a
// collection path, where the records, ids and updated-at stamps sit in
// the answers, how the list is paged, which endpoints write — and the
// system as a whole has its authentication, rate limit, timeouts and an
// optional webhook. The shared machinery (pacing, retries, cursors,
// notification plus pull) lives in package rest.
//
// # Capture
//
// Changes polls each resource's list with its since parameters, oldest
// first, from a cursor the hub stores with each batch (see rest.Feed).
// Deletes are seen through a field marking tombstones, a separate
// listing of deleted records, a periodic scan of every id, or webhooks.
// A notification names a record; the next poll fetches it.
//
// # Apply
//
// Writes go one request per record (four at a time, records of one key in
// order) or through batch endpoints when configured. A create first looks
// for the record by the lookup field holding tandem's global id (or by a
// natural-key field), so a create whose answer was lost — or one that
// already exists — is updated instead of made twice; without either
// field, a create whose outcome is unknown is parked for an operator
// rather than sent again blindly. A 4xx answer that retrying cannot fix
// becomes a *connector.Permanent naming the field the API blamed, with
// the API's own message.
//
// # Invariants
//
// A write never overwrites or deletes an edit of the system's users that
// tandem has yet to capture. Once a resource's feed has read it, the
// record is read just before each write (see guard.go): a stamp showing
// an edit the feed has yet to take makes the write *connector.Busy, and
// so does a write that could not be sent soon enough after that read
// (guardFor). With a condition (Condition) an update carries the
// version it read, and an API that refuses it because the record moved
// makes it busy too (conditional.go). A busy write is made again once
// capture has the edit, which wins or loses then.
//
// A create is never made twice: it looks for its record first, and one
// whose outcome is unknown is looked up before it is sent again, or
// parked when it cannot be (made.go). Tandem's own writes, read back by
// capture, are told from its users' edits by the stamp and content the
// write's answer showed, or, while the answer is awaited or was lost, by
// what the write holds (echo.go).
//
// Results are index-aligned with the writes, and the writes of one
// record keep their order.
//
// # Callers
//
// The hub opens a System through package registry and is its only
// caller: its capture loop reads changes and snapshots, a delivery worker calls
// Apply, and its listener serves Webhook, all at once; the System's
// methods are safe for concurrent use.
package http
