package connector

import (
	"context"

	"github.com/tandemhub/tandem/internal/record"
)

// ReportKind says what a Report tells.
type ReportKind uint8

const (
	// Applied: the system applied a write; Key is the record's key
	// there, when it said.
	Applied ReportKind = iota + 1
	// Created: the system made a new record for a write that had no
	// key; Key is the new key, to link to GID.
	Created
	// Failed: the system refused a write for good; Reason says why.
	// It becomes a dead letter of the delivery.
	Failed
	// Rejected: a change the system sent could not be read as one; it
	// never reached the change log. It becomes a dead letter of capture.
	Rejected
)

func (k ReportKind) String() string {
	switch k {
	case Applied:
		return "applied"
	case Created:
		return "created"
	case Failed:
		return "failed"
	case Rejected:
		return "rejected"
	}
	return "report(?)"
}

// Report is news from a system that answers writes later than Apply
// returns: what became of a write, or a change it sent that tandem
// could not take.
type Report struct {
	Kind   ReportKind
	Entity string // tandem's entity; may be empty for Rejected
	GID    string // the write's global id (Applied, Created, Failed)
	Key    string // the record's key in the system, when known
	Op     record.Op
	// Reason says why a write failed or a change was rejected, and
	// Field which field it was about, in the system's names, if any.
	Reason, Field string
	// Fields is what a rejected change carried, when it could be read.
	Fields record.Fields
}

// ReportBatch is a set of reports and the token to acknowledge them.
type ReportBatch struct {
	Reports []Report
	// Ack identifies what AckReports must release; only the system understands it.
	Ack any
}

// Reporter is implemented by destinations whose writes complete
// asynchronously (systems on a message queue): Apply hands the write
// over, and the outcome — the key of a created record, a refusal —
// arrives later as a Report.
//
// Invariant: the hub calls AckReports only after the effects of every
// report of the batch (links, dead letters) are committed in its store,
// so a crash re-reads reports rather than losing them. Reports may come
// more than once; handling one twice must do no harm.
type Reporter interface {
	// Reports returns up to max reports not yet acknowledged, waiting a
	// little for the first; an empty batch is not an error.
	Reports(ctx context.Context, max int) (ReportBatch, error)
	// AckReports releases a batch returned by Reports.
	AckReports(ctx context.Context, b ReportBatch) error
}
