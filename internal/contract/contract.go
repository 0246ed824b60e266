package contract

import (
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// Version is the contract's major version: the "contract" of every message.
const Version = 1

// MaxSize is the largest message accepted, in bytes.
const MaxSize = 1 << 20

// Message types: the "type" property.
const (
	TypeChange = "change"
	TypeResult = "result"
)

// Change is one create, update or delete of one record, in the system's
// own entity name, key and field names.
type Change struct {
	// ID identifies the message; a message sent again keeps it.
	ID string
	// System is the system the record lives in (sender or receiver).
	System string
	// Entity is the kind of record in the system's words (the mapping's table).
	Entity string
	Op     record.Op
	// Key is the record's key in the system; empty on an inbound create
	// whose key the system makes.
	Key string
	// GID is tandem's global id, when known.
	GID string
	// Version orders changes of one record from one system; 0 if unknown.
	Version int64
	// At is when the change was committed; zero if unknown.
	At time.Time
	// Fields is the record's state; nil for deletes.
	Fields record.Fields
	// Cause is the id of the inbound change whose applying made this
	// change, or empty for the system's own changes.
	Cause string
}

// Outcome is what a system did with an inbound change.
type Outcome string

// Outcomes of a Result.
const (
	// Applied: the change is in the system (including: nothing to do).
	Applied Outcome = "applied"
	// Created: the system made a new record, under Result.Key.
	Created Outcome = "created"
	// Failed: the system will not apply the change; Result.Reason says why.
	Failed Outcome = "failed"
)

// Result reports what a system did with one inbound change.
type Result struct {
	// ID identifies this result message; a result sent again keeps it.
	ID string
	// System is the reporting system.
	System string
	// Change is the id of the inbound change message reported on.
	Change string
	// Entity and GID are those of that change.
	Entity, GID string
	// Op is that change's op; 0 if not reported.
	Op record.Op
	// Key is the record's key in the system: the new key for Created.
	Key     string
	Outcome Outcome
	// Reason and Field explain a failure.
	Reason, Field string
	At            time.Time
}
