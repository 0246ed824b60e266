// Package webhook receives notifications that systems push to the hub:
// it verifies each request's HMAC-SHA256 signature over its body
// (refusing a missing, wrong or stale one with 401 before the body is
// parsed), reads which records the notification names, and hands them to
// the system's capture to fetch (notification plus pull: a notification
// only says "look at this record", so repeats and reordering are
// harmless).
//
// The answer waits until capture has stored the fetched records, up to a
// bound; a sender that gets 503 instead sends again later. So a
// notification that was answered 2xx is never lost, even if the hub stops
// right after.
//
// The http and hubspot connectors make a Handler; the hub serves it. The
// simulators, and `tandem crmsim` through them, sign their notifications
// with a Scheme.
package webhook
