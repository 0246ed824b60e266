package deliver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Worker delivers the outbound queue of one destination system.
// One Worker runs per destination; its steps never overlap.
type Worker struct {
	System string
	Dst    connector.Destination
	Store  store.Store
	Maps   map[string]*mapping.Map // entity → mapping of this system
	Order  []string                // entities, parents first
	Policy Policy
	Batch  int
	Log    *slog.Logger
	Now    func() time.Time
	// WaitRetry is how long a child waits before looking again for a
	// parent that has not reached this system yet.
	WaitRetry time.Duration
	// Captures says, by entity, whether changes made in this system are
	// captured: then a record found gone here was deleted by the
	// system's users, and Vanished takes that delete as captured.
	// Otherwise the record is made here again.
	Captures map[string]bool
	// Vanished, called in a recording transaction, applies a delete of
	// gid that this system's users made under key.
	Vanished func(tx store.Tx, entity, key, gid, why string) error
	// MarkSent notes what each write will send before it goes (see
	// store.Tx.MarkSent): set for a system that, after a restart, cannot
	// tell tandem's writes from its users' when it reads them back.
	MarkSent bool
	// Health, if set, hears how rounds go, each side on its own: the
	// destination (nil once it answers a round, an error once it fails
	// every write of one) and the store (nil once a round is recorded or
	// nothing is due, an error when the queue cannot be read or a round
	// not recorded). It must not block.
	Health func(side Side, err error)
	// hasDead is set once this worker dead-letters, so later successes
	// know to resolve earlier dead letters of the same record.
	hasDead bool
	// downs counts rounds in a row in which the destination failed every
	// write with an error that retrying may fix.
	downs int
	// early holds the new keys linked as the destination announced them
	// (entity, gid, key), until the round that made them takes note.
	early sync.Map
}

// Announced links a key the destination just made, at once (see
// connector.Announcer). The round that made it finds it linked.
func (w *Worker) Announced(entity, gid, key string) {
	it := &item{o: store.Outbound{Entity: entity, GID: gid}, key: key, answered: w.Now()}
	err := w.Store.Update(context.Background(), func(tx store.Tx) error { return w.link(tx, it) })
	if err != nil {
		w.Log.Warn("linking the key of a new record failed; it is linked with the round",
			"entity", entity, "gid", gid, "key", key, "err", err)
		return
	}
	w.Log.Debug("linked the key the system gave a new record", "entity", entity, "gid", gid, "key", key)
	w.early.Store(entity+"\x00"+gid+"\x00"+key, true)
}

// Answered notes the version the destination gave an update it just
// answered (see connector.Announcer), where delivery notes what it sends.
func (w *Worker) Answered(entity, gid string, stamp int64) {
	if !w.MarkSent || stamp == 0 {
		return
	}
	err := w.Store.Update(context.Background(), func(tx store.Tx) error { return tx.MarkAnswered(w.System, entity, gid, stamp) })
	if err != nil {
		w.Log.Warn("noting the version an update was given failed", "entity", entity, "gid", gid, "err", err)
	}
}

// Side is a side of delivery that reports to Health.
type Side uint8

const (
	SideDestination Side = iota // the system written to
	SideStore                   // the hub's store: the queue and the record of rounds
)

func (w *Worker) health(side Side, err error) {
	if w.Health != nil {
		w.Health(side, err)
	}
}

// item is one queued record being delivered this round.
type item struct {
	o     store.Outbound
	g     *store.Golden
	key   string
	w     record.Write
	skip  bool   // nothing to write (unknown, filtered, or delete of a record never sent)
	wait  string // a parent is missing here
	fail  error  // failed before or while writing
	field string
	// down marks a failure the record is not to blame for: the
	// destination failed every write of the round (it is unavailable),
	// or was busy with the record. It is tried again after delay
	// without using up an attempt.
	down  bool
	delay time.Duration // when down, how long until the next try
	canon record.Fields // canonical fields with references translated, while waiting
	// sent and answered are when the write was sent to the destination
	// and when it answered.
	sent, answered time.Time
	// linked is set once a created record's new key is linked.
	linked bool
	// head is the record's head, read in the transaction that links its
	// new key (see linkMade); nil outside it.
	head *store.Head
	// stale is set when the record's key here changed after the write
	// was prepared: it is not written, and is prepared again.
	stale bool
}

// Step delivers at most one batch. It returns how many records it
// handled (delivered, skipped, deferred or dead-lettered).
func (w *Worker) Step(ctx context.Context) (int, error) {
	items, _, err := w.fetch(ctx, 0)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	w.apply(ctx, items)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return len(items), w.record(ctx, items)
}
