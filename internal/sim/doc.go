// Package sim holds simulators of the systems tandem reaches through
// APIs, for tests, benchmarks and the demo: a generic CRM (CRM), and
// servers that follow the documented request and response shapes of the
// Salesforce REST API (Salesforce) and the HubSpot CRM v3 API (HubSpot).
// Each is an http.Handler over an in-memory Store, with its own IDs,
// paging, updated-at stamps and error shapes, and with Faults that can be
// tuned while it runs: a request rate limit answered with 429 (or the
// vendor's equivalent), a share of requests failing with 500, a share of
// writes whose answer is lost after the write was done, and latency.
// Simulators also send signed webhook notifications of changes.
//
// Tests play the vendor's own users through the Store (Create, Update,
// Delete), which stamps and notifies like any other write. The same
// handlers are served by `tandem crmsim`.
package sim
