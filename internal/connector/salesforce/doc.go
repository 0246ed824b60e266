// Package salesforce is the connector of type salesforce: an org reached
// through the Salesforce REST API. Each mapped table is an sObject
// (Account, Contact, My_Object__c); its columns are field API names,
// custom fields included.
//
// Changes are read with queryAll, ordered by SystemModstamp and Id, from
// the cursor the hub stores (see package rest), following nextRecordsUrl;
// records with IsDeleted = true are deletes, so deletes made in Salesforce
// are seen while they sit in the recycle bin. Snapshots page by Id.
//
// Writes use sObject Collections, 200 records a call with allOrNone false,
// so each record succeeds or fails alone. With external_id set, creates
// are upserts by that External ID field holding tandem's global id: a
// create retried after a lost answer updates the record it made. Without
// it, a create whose outcome is unknown is parked for an operator rather
// than sent again. Per-record errors ([{statusCode, message, fields}])
// become *connector.Permanent errors naming the first field, with
// Salesforce's message; REQUEST_LIMIT_EXCEEDED slows tandem down like a 429.
//
// Invariants: a create is never made twice (an upsert by external_id,
// or, without it, parked when its outcome is unknown); a call holds no
// record twice, so the writes of one record keep their order; results
// are index-aligned with the writes.
//
// The hub opens a System through package registry and is its only
// caller: capture and delivery call it at once, and its methods are
// safe for concurrent use.
package salesforce
