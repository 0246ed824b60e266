package record

import (
	"fmt"
	"time"
)

// Op is what happened to a record.
type Op uint8

const (
	// Upsert means the record exists with the given fields (create or update).
	Upsert Op = 1
	// Delete means the record no longer exists.
	Delete Op = 2
)

func (o Op) String() string {
	switch o {
	case Upsert:
		return "upsert"
	case Delete:
		return "delete"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// ParseOp is the inverse of Op.String.
func ParseOp(s string) (Op, error) {
	switch s {
	case "upsert":
		return Upsert, nil
	case "delete":
		return Delete, nil
	}
	return 0, fmt.Errorf("unknown op %q", s)
}

// Fields is one record's values by field (column) name. Values are
// normalised to string, int64, float64, bool or nil (see Normalize).
type Fields map[string]any

// Change is one captured change of one record in one system, in that
// system's own key and column names.
type Change struct {
	System string
	Entity string
	Key    string // the record's key in System, as text
	Op     Op
	Fields Fields // local columns; nil for deletes
	// GID is set when the source knows the global id tandem gave this
	// record (a row tandem created itself); empty otherwise.
	GID string
	// Version orders changes of one record within its system
	// (an outbox sequence, a version column, an updated-at in nanoseconds).
	Version int64
	At      time.Time // when the source saw the change; zero if unknown
	// Changed lists the local columns the system's users changed, when
	// the source knows (an update captured by a trigger); nil means
	// unknown, and every field counts as changed. Fields still holds the
	// whole record, as read.
	Changed []string
	// Inserted is true when the source knows its users made this row
	// since tandem last read the key: a new record, even where the key
	// once named another one (a key the system reused after a delete).
	// False when unknown or when the row is known to be older.
	Inserted bool
	// InsertedAt is when that insert happened, where the source knows
	// (At is the time of the record's last change, which may be a later
	// update read with it).
	InsertedAt time.Time
	// Echo is true when the source knows this is tandem's own write
	// coming back (an API that stamps every write, whose stamp of
	// tandem's write it saw): no user changed anything.
	Echo bool
	// Base is, for an echo, the Write.Ver of the write it echoes, when
	// the source knows it; 0 when unknown. An echo of an older version
	// than the golden record's says the system applied that older state
	// after a newer one was made (by its own users, say).
	Base int64
	// Observed is true when At is when tandem itself saw the change, by
	// its own clock (a delete found by asking an API for each record),
	// not a time the system stamped: then it compares with the times
	// tandem keeps, such as when it linked a key.
	Observed bool
	// UsersStamp is true when the source knows the system never stamps
	// tandem's writes (its users' application sets the updated-at): the
	// record read at its stamp is as its users left it then, never a
	// write an earlier hub sent coming back.
	UsersStamp bool
}

// Write is one record to apply to a destination, in its own column names.
type Write struct {
	Op  Op
	GID string // tandem's global id of the record
	// Key is the record's key in the destination, or "" when the
	// destination has never had it (a create).
	Key    string
	Fields Fields
	// Doubt marks a create that may have happened already: an earlier
	// try's outcome is unknown (its answer was lost, or the hub stopped
	// while it was in flight), so the record may be in the destination
	// under a key tandem never learnt. A destination that can look
	// records up by tandem's id does so before creating.
	Doubt bool
	// Ver is the version of the golden record this write carries (its
	// change-log sequence); 0 when unknown. A source that can tell its
	// echoes apart gives it back in Change.Base.
	Ver int64
}

// Result is the outcome of one Write, index-aligned with the input.
type Result struct {
	// Key is the record's key in the destination after the write:
	// the new key of a create, or the key that was written.
	Key string
	// Err is the per-record failure, nil on success.
	Err error
}
