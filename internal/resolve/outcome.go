package resolve

import (
	"time"

	"github.com/tandemhub/tandem/internal/store"
)

// View is what deciding a change reads of the store: links, tombstones,
// aliases, natural keys, golden records and what delivery sent. Deciding
// writes nothing; a store.Tx is a View.
type View interface {
	GID(entity, system, key string) (gid string, ok bool, err error)
	Key(entity, gid, system string) (key string, ok bool, err error)
	LinkedAt(entity, system, key string) (time.Time, bool, error)
	Tombstone(entity, system, key string) (gid string, at time.Time, ok bool, err error)
	Alias(entity, old string) (gid string, ok bool, err error)
	Natural(entity, value string) (gid string, ok bool, err error)
	Golden(entity, gid string) (*store.Golden, error)
	Sent(system, entity, gid string) ([]store.Sent, error)
}

// Outcome is what resolving one change decides: its entry in the log,
// and every write that goes with it. Decide makes one from a View alone;
// write applies it to the store, in one transaction with the log entry.
// Every field is about the change's own system, entity and key.
type Outcome struct {
	// State and Note are the change's entry in the log.
	State store.State
	Note  string
	// GID is the record the change is about, once known.
	GID string
	// Echo says the change is tandem's own write read back, as what
	// delivery sent there shows (a change whose source did not say so).
	Echo bool
	// DeadField is the field a dead letter (State Dead) is about.
	DeadField string

	// Vanish is a delete, by the change's system, of the record its key
	// named before: the key now names another record. It is logged and
	// applied as a change of its own, and the change is decided again.
	Vanish *Vanish

	// Link links the key to GID.
	Link Link
	// Alias makes the global id the change carries an alias of GID.
	Alias string
	// Unlink: the key stops naming GID (a tombstone remembers it).
	Unlink bool
	// Bury leaves a tombstone of a key that names no record.
	Bury *Burial

	// Golden is the record to write. With NewVersion its version is the
	// change's position in the log (set when it is logged).
	Golden     *store.Golden
	NewVersion bool
	// DropNatural and PutNatural are natural-key values of GID to drop
	// from the index and to put in it.
	DropNatural, PutNatural string

	// Ver is the record's version that Touch, Send and Settle name when
	// the change makes no new version.
	Ver int64
	// Touch makes deliveries of older versions to the change's system,
	// in flight now, count for nothing.
	Touch bool
	// Send lists the systems the record is queued for, in order.
	Send []string
	// Settle records that the change's system holds the record as it is.
	Settle bool

	// ResolveDead closes capture dead letters of the key: a change of it
	// went through.
	ResolveDead bool
	// Unblocked says the change linked a new key of an entity others
	// refer to: held changes may go through now.
	Unblocked bool
}

// LinkKind is how an outcome links its key.
type LinkKind int

const (
	// NoLink leaves the links as they are.
	NoLink LinkKind = iota
	// PutLink links the key, taking it from any record it named before.
	PutLink
	// NewLink links the key to a record made by this change.
	NewLink
)

// Link is a link an outcome makes, and since when the system showed the
// record under the key.
type Link struct {
	Kind LinkKind
	At   time.Time
}

// Burial is a tombstone of a key: it named GID (or an unknown record)
// until At.
type Burial struct {
	GID string
	At  time.Time
}

// Vanish is a delete decided on the way to another change's outcome.
type Vanish struct {
	Change  *store.Change
	Outcome Outcome
}
