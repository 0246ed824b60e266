package connector

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/record"
)

// Table is how one entity is stored in one system, as far as a connector
// needs to know: where, under which key, and which columns tandem reads and writes.
type Table struct {
	Entity string
	Name   string // table name (may be schema-qualified where the database allows)
	Key    string // key column
	// KeyGenerated is true when the system assigns keys itself (serial,
	// auto-increment); otherwise tandem supplies the key of a create
	// (the record's global id).
	KeyGenerated bool
	// Columns are every column tandem reads or writes. The key column is
	// among them only when a field maps it: then a captured record carries
	// its key among its fields, and a create may name its own key.
	Columns []string
}

// Batch is a set of captured changes and the opaque token to acknowledge them.
type Batch struct {
	Changes []record.Change
	// Ack identifies what Ack must release; only the source understands it.
	Ack any
}

// Source captures changes from a system.
//
// Invariant: the hub calls Ack only after every change of the batch is
// committed to its store. A source therefore never releases (deletes,
// acks, advances past) a change before Ack, so a crash at any point
// re-reads rather than loses.
type Source interface {
	// Snapshot reads existing rows of one entity in key order, starting
	// after the opaque cursor (empty: from the start), up to max rows.
	// It returns the rows as upserts and the cursor after the last one;
	// an empty result means the snapshot of that entity is complete.
	Snapshot(ctx context.Context, entity string, after string, max int) ([]record.Change, string, error)
	// Changes returns up to max captured changes not yet acknowledged, in
	// the order they happened. It returns an empty batch when there are none.
	Changes(ctx context.Context, max int) (Batch, error)
	// Ack releases a batch returned by Changes.
	Ack(ctx context.Context, b Batch) error
	// Fetch reads the current state of records by key (for re-reading a
	// record an operator asked to retry, and for reconciliation). Missing
	// keys come back as deletes.
	Fetch(ctx context.Context, entity string, keys []string) ([]record.Change, error)
	Close(ctx context.Context) error
}

// Destination applies writes to a system.
type Destination interface {
	// Apply writes records of one entity. Results are index-aligned with
	// writes. A non-nil error means the whole call failed and nothing may
	// be assumed applied; per-record failures go in Result.Err.
	// An upsert with a Key updates a row tandem has seen in the system;
	// if the system's users have deleted it meanwhile, Apply leaves it
	// deleted and reports success or a *Gone Result.Err (the delete is
	// on its way to tandem).
	// A write whose row one of the system's own transactions holds is
	// not made and comes back as a *Busy Result.Err: Apply never waits
	// for, or deadlocks with, the system's users.
	// Apply must be idempotent: the same write applied twice has the
	// effect of one, and a create retried after a lost answer must find
	// the record it made (by its global id) instead of making another.
	Apply(ctx context.Context, entity string, writes []record.Write) ([]record.Result, error)
	Close(ctx context.Context) error
}

// Installer prepares a system for capture (outbox tables, triggers).
type Installer interface {
	Setup(ctx context.Context) error
}

// Checker is an Installer that can tell whether what Setup installs is
// in place and matches the mapping. The hub refuses to run a system whose
// Check fails: changes it would not capture are lost without a word.
type Checker interface {
	Check(ctx context.Context) error
}

// Permanent marks an error that retrying cannot fix (a constraint
// violation, a 400). Delivery dead-letters it without using up retries.
type Permanent struct {
	Err error
	// Field names the offending field when known.
	Field string
}

func (p *Permanent) Error() string {
	if p.Field != "" {
		return fmt.Sprintf("field %q: %v", p.Field, p.Err)
	}
	return p.Err.Error()
}

func (p *Permanent) Unwrap() error { return p.Err }

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *Permanent
	return errors.As(err, &p)
}

// Busy marks a write the destination could not make now because
// someone else is using what it touches: a row locked by one of the
// system's own transactions, which may yet commit or roll back. Nothing
// of it was applied. It is not the record's fault and not an outage:
// delivery tries it again soon, without using up an attempt.
type Busy struct {
	Err error
}

func (b *Busy) Error() string { return b.Err.Error() }

func (b *Busy) Unwrap() error { return b.Err }

// IsBusy reports whether err is marked busy.
func IsBusy(err error) bool {
	var b *Busy
	return errors.As(err, &b)
}

// Announcer is implemented by destinations that make records one at a
// time and can tell each new key as soon as the system answers, before
// Apply returns. Delivery links the key at once, so that a crash while
// the rest of the call runs cannot leave a record tandem made but does
// not know of (which the system's users could then delete unseen).
type Announcer interface {
	// Announce sets what Apply calls with each record the system made:
	// its entity, the write's global id and the new key.
	Announce(func(entity, gid, key string))
	// AnnounceAnswered sets what Apply calls with each update the system
	// answered, with the version (stamp) it gave the write, as the
	// system's changes carry it in record.Change.Version: delivery notes
	// it at once for a system that ReadsBack, so that after a crash the
	// write read back is known by that version, and a user's later save
	// of the same content by another.
	AnnounceAnswered(func(entity, gid string, stamp int64))
}

// ReadsBack is implemented by systems whose capture reads tandem's own
// writes back as changes and tells them apart only by what it remembers
// of the writes this process made (APIs that stamp records). The hub
// then notes in its store what it sends them, before it sends, so that
// a write in flight when the hub stopped is still known for tandem's own
// when the next hub reads it back.
type ReadsBack interface {
	ReadsBack() bool
}

// Knower is implemented by sources that find deletes by comparing what
// the system lists with the keys they know exist (an API without
// tombstones). Before capture starts, the hub tells them every key
// tandem has linked in the system: one missing from the system's next
// listing is checked and reported deleted, even if it was made while no
// baseline was stored (a record made just before the hub was killed and
// deleted by a user before it came back).
type Knower interface {
	Known(entity string, keys []string)
}
