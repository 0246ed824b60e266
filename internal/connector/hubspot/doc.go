// Package hubspot is the connector of type hubspot: a portal reached
// through the HubSpot CRM v3 objects API. Each mapped table is an object
// type (contacts, companies, deals, or a custom object's id like
// 2-1234567); its columns are property names, custom properties
// included. The record id is HubSpot's id (hs_object_id).
//
// Changes are read with the search endpoint, filtered and sorted by the
// last-modified property (lastmodifieddate for contacts,
// hs_lastmodifieddate for the others), from the cursor the hub stores.
// Search pages by offset and stops at 10,000 results, so each poll reads
// one page with news and the next poll searches again from the new
// cursor. Deletes are seen by listing archived records every
// archived_every, and through webhooks (contact.deletion and the like).
//
// Writes use the batch endpoints, 100 records a call. With id_property
// set, creates are batch upserts by that unique property holding
// tandem's global id, so a create retried after a lost answer updates the
// record it made; without it they are batch creates matched back by
// objectWriteTraceId, and a create whose outcome is unknown is parked
// for an operator. A validation error fails HubSpot's whole batch: it
// comes back as a whole-call *connector.Permanent naming the property, so
// delivery splits the batch and parks only the bad record. 429s
// (policyName SECONDLY or DAILY) and the X-HubSpot-RateLimit headers
// pace tandem.
//
// The webhook verifies HubSpot's v3 signature (X-HubSpot-Signature-v3,
// keyed with the app's client secret, timestamps older than five minutes
// refused) and fetches the objects notified.
//
// Invariants: a create is never made twice (an upsert by id_property,
// or, without it, parked when its outcome is unknown); a batch holds no
// record twice, so the writes of one record keep their order; results
// are index-aligned with the writes.
//
// The hub opens a System through package registry and is its only
// caller: capture, delivery and the webhook call it at once, and its
// methods are safe for concurrent use.
package hubspot
