package store

import (
	"context"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// Store is the hub's durable state.
type Store interface {
	// Update runs fn in one write transaction; an error from fn rolls it back.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	Close() error
}

// State is where a logged change stands.
type State uint8

const (
	Resolved State = iota // applied to the golden record and routed
	Held                  // waiting for a referenced record to be known
	Dead                  // rejected; a dead letter says why
	Dropped               // no effect: an echo, a no-op or superseded
)

func (s State) String() string {
	return [...]string{"resolved", "held", "dead", "dropped"}[s]
}

// Change is a captured change as kept in the change log.
type Change struct {
	Seq int64
	record.Change
	State State
	Note  string
	// Logged is when the hub first logged the change (Append sets it);
	// zero for changes logged by a tandem that did not keep it.
	Logged time.Time
}

// Sent is a write delivery noted before sending it (Tx.MarkSent).
type Sent struct {
	At     time.Time
	Fields record.Fields // in the system's columns
	// Stamp is the version the system gave the write, once it answered
	// (Tx.MarkAnswered); 0 while unknown.
	Stamp int64
}

// Head is where a golden record stands: its version, and whether it is
// deleted.
type Head struct {
	Ver     int64
	Deleted bool
}

// Golden is tandem's last agreed state of one record.
type Golden struct {
	Entity, GID string
	Fields      record.Fields
	// Sources says, per field, which system set its current value.
	Sources map[string]string
	Deleted bool
	// Ver is the change-log sequence of the last change applied.
	Ver     int64
	Updated time.Time
	// At is when the source said its change happened (zero if no source
	// said): what record-level "last change wins" compares.
	At time.Time
	// Flips counts the changes in a row that took a field from the
	// system that had just set it, each within seconds of the last: the
	// mark of systems (or their rules) undoing each other for ever.
	Flips int
	// FlipPeer is the system whose value the last of those flips
	// replaced: the streak goes on only while that system and the one
	// that replaced it take the field back from each other in turn.
	FlipPeer string
}

// Outbound is one pending delivery: bring system up to the golden record
// gid of entity. One exists at most per (system, entity, gid); a newer
// change replaces Ver and keeps the queue position Seq.
type Outbound struct {
	Seq                 int64
	System, Entity, GID string
	Ver                 int64
	Attempts            int
	NextAt              time.Time
	Wait                string // why it is waiting (a missing parent), if it is
	Error               string // last failure
	Created             time.Time
	// Tried is set once a create of the record was sent and its outcome
	// is unknown: the system may hold it, so a delete must look for it.
	Tried bool
	// Gen is the entry's generation: every transaction that queues the
	// record again or renews it (Enqueue, Touch) gives it a new one, even
	// at the same version, so that a delivery read before does not
	// count it done (Done, Defer).
	Gen int64
}

// Stage says where a dead letter failed.
type Stage string

const (
	StageCapture Stage = "capture" // rejected while resolving a captured change
	StageDeliver Stage = "deliver" // failed for good while writing to a destination
)

// DeadState is where a dead letter stands.
type DeadState string

const (
	DeadOpen      DeadState = "open"
	DeadRetry     DeadState = "retry"     // an operator asked for a retry; the hub will act
	DeadRetried   DeadState = "retried"   // the hub has retried it
	DeadDiscarded DeadState = "discarded" // an operator gave up on it
	DeadResolved  DeadState = "resolved"  // a later change went through
)

// DeadLetter is a change or delivery that failed for good.
type DeadLetter struct {
	ID       int64
	Stage    Stage
	System   string // the source (capture) or destination (deliver)
	Entity   string
	Key      string // the record's key in System, when known
	GID      string
	Op       record.Op
	Fields   record.Fields // what was captured or would have been written
	Field    string        // the offending field, when known
	Error    string
	Attempts int
	At       time.Time
	State    DeadState
}

// Count is a set of counters of one system and entity.
type Count struct {
	System, Entity string
	Captured       int64 // changes captured from the system
	Dropped        int64 // captured changes with no effect (echoes, no-ops)
	Delivered      int64 // writes applied to the system
	Dead           int64 // dead letters
	LastCapture    time.Time
	LastDelivery   time.Time
}

// Pending is the outbound backlog of one system and entity.
type Pending struct {
	System, Entity string
	N              int64
	Oldest         time.Time
	Waiting        int64 // of which waiting for a parent or a retry
	// Parents counts the deliveries waiting for a parent record to reach
	// the system; OldestParent is when the oldest of them was queued.
	Parents      int64
	OldestParent time.Time
}

// Holds counts the held changes captured from one system and entity.
type Holds struct {
	System, Entity string
	N              int64
	// Oldest is when the oldest of them was logged (zero if unknown).
	Oldest time.Time
}

// Tx is what a transaction can do, role by role: each role is a small
// interface of its own, so a store is written, and tested, one role at a
// time, and a caller reads which roles it uses. The roles' methods are
// promoted: tx.GID(…) is tx.Identity.GID(…).
//
// Every read sees the transaction's own writes, whatever the order of the
// calls: a store may buffer writes (the SQLite store does), but never in
// a way a caller can tell (storetest holds every store to this).
type Tx struct {
	Identity
	Tombstones
	Aliases
	Naturals
	Preloader
	Goldens
	Log
	Queue
	Backlogs
	SentNotes
	DLQ
	Cursors
	Counters
}

// Identity is the identity map (links): (entity, system, key) ↔ global id. A key
// names one record, and a record has one key per system.
type Identity interface {
	GID(entity, system, key string) (gid string, ok bool, err error)
	Key(entity, gid, system string) (key string, ok bool, err error)
	Links(entity, gid string) (map[string]string, error) // system → key
	// LinkedKeys lists every key of system linked to a record of entity.
	LinkedKeys(entity, system string) ([]string, error)
	// LinkedAt returns when system's key of entity was linked to the
	// record it names, if it is.
	LinkedAt(entity, system, key string) (time.Time, bool, error)
	// PutLinkAt links system's key of entity to gid, as of at (when the
	// system showed or answered the record). The key stops naming any
	// other record, and any other key of gid in system stops naming gid.
	PutLinkAt(entity, system, key, gid string, at time.Time) error
	// NewLinkAt is PutLinkAt for a gid made in this transaction, which
	// has no other key to drop.
	NewLinkAt(entity, system, key, gid string, at time.Time) error
	// Unlink forgets system's key of entity: the record it named is gone
	// from that system, and the key may name another record later. It
	// keeps a tombstone of the key, the record and when it went.
	Unlink(entity, system, key string, at time.Time) error
}

// Tombstones remember keys that stopped naming a record.
type Tombstones interface {
	// Bury records that system's key of entity, linked to no record,
	// named a record that went at at; gid is that record if known.
	Bury(entity, system, key, gid string, at time.Time) error
	// Tombstone returns what Unlink or Bury left of system's key, if anything.
	Tombstone(entity, system, key string) (gid string, at time.Time, ok bool, err error)
}

// Aliases map a global id an earlier store gave a record (which
// systems' id tables and lookup fields still carry) to the id it has now.
type Aliases interface {
	Alias(entity, old string) (gid string, ok bool, err error)
	PutAlias(entity, old, gid string) error
}

// Naturals index records by natural key: entity + match value → gid.
type Naturals interface {
	Natural(entity, value string) (gid string, ok bool, err error)
	PutNatural(entity, value, gid string) error
	DeleteNatural(entity, value string) error
}

// Preloader lets a store read what a batch will look up at once. It is
// an optimisation only: lookups give the same answers without it.
type Preloader interface {
	// Preload reads the links of system's keys, and the links and golden
	// records of their gids. Call it with a batch's keys before working
	// through it.
	Preload(entity, system string, keys []string) error
	// PreloadGIDs is Preload by global id.
	PreloadGIDs(entity string, gids []string) error
}

// Goldens keep golden records.
type Goldens interface {
	// Golden returns a copy of the record, or nil when it is unknown.
	Golden(entity, gid string) (*Golden, error)
	PutGolden(g *Golden) error
	// Heads returns the heads of those of gids that have a golden record,
	// without reading the records: a batch's check that nothing newer was
	// made since it was read.
	Heads(entity string, gids []string) (map[string]Head, error)
	// GoldenPage lists golden records of entity with gid > after, in gid order.
	GoldenPage(entity, after string, limit int) ([]Golden, error)
}

// Log is the change log.
type Log interface {
	Append(c *Change) error // sets c.Seq, and c.Logged if unset
	SetState(seq int64, s State, note string) error
	// HeldChanges lists held changes, oldest first.
	HeldChanges(limit int) ([]Change, error)
	// HeldKeys says which of system's keys of entity have held changes.
	HeldKeys(system, entity string, keys []string) (map[string]bool, error)
	// Holds counts held changes by system and entity.
	Holds() ([]Holds, error)
	History(entity, gid string) ([]Change, error)
}

// Queue is the outbound queues: at most one entry per (system, entity,
// gid), due in the order entries were first queued.
type Queue interface {
	// Enqueue queues a delivery of version ver, or moves the existing
	// entry to ver, keeping its place and making it due at once; either
	// way the entry gets a new Gen.
	Enqueue(system, entity, gid string, ver int64, now time.Time) error
	// Touch moves the version of an existing entry of (system, entity,
	// gid) to ver, so a delivery of an older golden state in flight will
	// not count as done. It does nothing when there is no such entry.
	Touch(system, entity, gid string, ver int64) error
	// Due returns up to max entries of system due by now and queued
	// after seq after (0: from the start), in queue order.
	Due(system string, now time.Time, after int64, max int) ([]Outbound, error)
	// Done removes o unless the record was queued again or renewed
	// since o was read (its Gen is another): then a newer version, or the
	// same one sent again, is still to deliver.
	Done(o Outbound) error
	// Defer postpones o (a retry or a wait); if it was queued again since
	// o was read, it stays due at once.
	Defer(o Outbound) error
	// Settle removes the delivery of entity gid to system if its version
	// is at most ver: the system was found to hold that state already.
	Settle(system, entity, gid string, ver int64) error
	// Unsettle marks every queued delivery Tried: after a restart, a
	// create that was on its way may have reached its system unrecorded.
	Unsettle() error
	// Drop removes o whatever its version (it is being dead-lettered).
	Drop(o Outbound) error
}

// Backlogs report on the outbound queues.
type Backlogs interface {
	Backlog() ([]Pending, error)
	// Waiting returns up to limit deliveries waiting for a parent or a
	// retry (their Wait or Error says why), longest queued first.
	Waiting(limit int) ([]Outbound, error)
}

// SentNotes remember what delivery sent a system that cannot tell
// tandem's writes apart after a restart, for as long as the delivery is
// queued: read back, they are tandem's own.
type SentNotes interface {
	// MarkSent notes, before it is sent, the fields of a write of entity
	// gid to system (in the system's columns), with the last few noted
	// before it. It does nothing when no delivery is queued.
	MarkSent(system, entity, gid string, fields record.Fields, at time.Time) error
	// Sent returns the writes MarkSent noted for a queued delivery, oldest first.
	Sent(system, entity, gid string) ([]Sent, error)
	// MarkAnswered notes the version (stamp) the system gave the last
	// write MarkSent noted, as soon as it answered: read back at that
	// version it is tandem's own, at any other its users' (who may save
	// the same content later).
	MarkAnswered(system, entity, gid string, stamp int64) error
	// ClearSent forgets them: the system answered, so they are in flight
	// no more (a delivery of a newer version may stay queued).
	ClearSent(system, entity, gid string) error
}

// DLQ keeps dead letters: changes and deliveries that failed for good.
type DLQ interface {
	AddDead(d *DeadLetter) error // sets d.ID, and d.State to open if unset
	// DeadLetters lists dead letters in state (all when ""), oldest first.
	DeadLetters(state DeadState, limit int) ([]DeadLetter, error)
	DeadLetter(id int64) (*DeadLetter, error)
	SetDeadState(id int64, s DeadState) error
	// ResolveDead marks open (or retried) dead letters of a record
	// resolved: for StageCapture match on system+entity+key, for
	// StageDeliver on system+entity+gid.
	ResolveDead(stage Stage, system, entity, keyOrGID string) error
	// HasOpenDead reports whether any dead letter of stage is still open,
	// retried or to be retried, so that callers can skip ResolveDead while
	// there are none.
	HasOpenDead(stage Stage) (bool, error)
}

// Cursors keep sources' positions (snapshot progress and the like).
type Cursors interface {
	Cursor(system, name string) (string, bool, error)
	PutCursor(system, name, value string) error
}

// Counters add up what happened per system and entity.
type Counters interface {
	// AddCount adds c's counts, and keeps the later of its times.
	AddCount(c Count) error
	Counts() ([]Count, error)
}
