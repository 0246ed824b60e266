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
package http
