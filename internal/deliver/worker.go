package deliver

import (
	"context"
	"errors"
	"fmt"
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
		w.Log.Warn("linking the key of a new record failed; it is linked with the round", "system", w.System,
			"entity", entity, "gid", gid, "key", key, "err", err)
		return
	}
	w.Log.Debug("linked the key the system gave a new record", "system", w.System, "entity", entity, "gid", gid, "key", key)
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
		w.Log.Warn("noting the version an update was given failed", "system", w.System, "entity", entity, "gid", gid, "err", err)
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
	// stale is set when the record's key here changed after the write
	// was prepared: it is not written, and is prepared again.
	stale bool
}

// refPlaceholder stands for a parent whose key here is not known yet.
type refPlaceholder struct{ entity, gid string }

// preload reads the golden records and links of a batch, and the links
// of the records they refer to, in a few statements.
func (w *Worker) preload(tx store.Tx, due []store.Outbound) error {
	gids := map[string][]string{}
	for _, o := range due {
		gids[o.Entity] = append(gids[o.Entity], o.GID)
	}
	refs := map[string][]string{}
	for ent, gs := range gids {
		if err := tx.PreloadGIDs(ent, gs); err != nil {
			return err
		}
		m := w.Maps[ent]
		if m == nil || len(m.Refs) == 0 {
			continue
		}
		for _, gid := range gs {
			g, err := tx.Golden(ent, gid)
			if err != nil || g == nil {
				continue
			}
			for f, rent := range m.Refs {
				if pg, _ := g.Fields[f].(string); pg != "" {
					refs[rent] = append(refs[rent], pg)
				}
			}
		}
	}
	for ent, gs := range refs {
		if err := tx.PreloadGIDs(ent, gs); err != nil {
			return err
		}
	}
	return nil
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

// fetch reads the next batch of due deliveries queued after seq and
// prepares their writes. last is the seq of the last one.
func (w *Worker) fetch(ctx context.Context, after int64) (items []*item, last int64, err error) {
	now := w.Now()
	err = w.Store.View(ctx, func(tx store.Tx) error {
		due, err := tx.Due(w.System, now, after, w.Batch)
		if err != nil {
			return err
		}
		if err := w.preload(tx, due); err != nil {
			return err
		}
		items = make([]*item, len(due))
		for i, o := range due {
			it := &item{o: o}
			items[i] = it
			if err := w.prepare(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if len(items) > 0 {
		last = items[len(items)-1].o.Seq
	}
	switch {
	case err != nil && ctx.Err() == nil:
		w.health(SideStore, fmt.Errorf("read the delivery queue: %w", err))
	case err == nil && len(items) == 0:
		w.health(SideStore, nil)
	}
	return items, last, err
}

// apply writes a prepared batch to the destination, entity by entity,
// parents first, so children find the keys their parents got in this
// same round. Each item ends with its result or its failure.
func (w *Worker) apply(ctx context.Context, items []*item) {
	newKeys := map[string]string{} // entity+gid → key created this round
	var tried []*item
	defer func() { w.judge(tried) }()
	for _, ent := range w.Order {
		var group []*item
		var writes []record.Write
		for _, it := range items {
			if it.o.Entity != ent || it.skip || it.fail != nil {
				continue
			}
			if it.wait != "" && !w.resolveWait(it, newKeys) {
				continue
			}
			group = append(group, it)
			writes = append(writes, it.w)
		}
		if len(writes) == 0 {
			continue
		}
		if group, writes = w.current(ctx, ent, group, writes); len(writes) == 0 {
			continue
		}
		// Split to find a poison record once a batch has failed before,
		// also when its failures looked like an outage: a record whose
		// every write fails must not pass for one.
		split := w.downs >= 2
		for _, it := range group {
			if it.o.Attempts >= 2 {
				split = true
			}
		}
		tried = append(tried, group...)
		sent := w.Now()
		for _, it := range group {
			it.sent = sent
		}
		res := applySplit(ctx, w.Dst, ent, writes, split)
		answered := w.Now()
		var made []*item
		for i, it := range group {
			if res[i].Err != nil {
				it.fail = res[i].Err
				var p *connector.Permanent
				if errors.As(res[i].Err, &p) {
					it.field = p.Field
				}
				continue
			}
			it.key, it.answered = res[i].Key, answered
			if it.w.Op == record.Upsert && it.key != "" {
				newKeys[ent+"\x00"+it.o.GID] = it.key
			}
			if it.w.Op == record.Upsert && it.key != "" && it.key != it.w.Key {
				if _, ok := w.early.LoadAndDelete(ent + "\x00" + it.o.GID + "\x00" + it.key); ok {
					it.linked = true
					continue
				}
				made = append(made, it)
			}
		}
		w.linkMade(ctx, made)
	}
}

// current keeps the writes whose keys still name their records here and
// whose records did not change since they were prepared. A write is
// prepared a moment before it is sent; meanwhile the record's key may
// have gone to another record (a system that reuses keys), and a write
// by the old key would hit that one; or a newer change may have come in
// (from this very system, whose users' edit an older state would undo).
//
// With MarkSent, it also notes what each write it keeps will send (see
// store.Tx.MarkSent), in the same transaction.
func (w *Worker) current(ctx context.Context, ent string, group []*item, writes []record.Write) ([]*item, []record.Write) {
	stale := map[int]bool{}
	run := w.Store.View
	if w.MarkSent {
		run = w.Store.Update
	}
	err := run(ctx, func(tx store.Tx) error {
		for i, it := range group {
			if g, err := tx.Golden(ent, it.o.GID); err != nil {
				return err
			} else if g != nil && g.Ver > it.o.Ver {
				stale[i] = true
				continue
			}
			if it.w.Key == "" {
				continue
			}
			key, ok, err := tx.Key(ent, it.o.GID, w.System)
			if err != nil {
				return err
			}
			if !ok || key != it.w.Key {
				stale[i] = true
			}
		}
		if !w.MarkSent {
			return nil
		}
		for i, it := range group {
			if !stale[i] && it.w.Op == record.Upsert {
				if err := tx.MarkSent(w.System, ent, it.o.GID, it.w.Fields, w.Now()); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || len(stale) == 0 {
		return group, writes // an unreadable store is found out when the round is recorded
	}
	keep, kw := group[:0:0], writes[:0:0]
	for i, it := range group {
		if stale[i] {
			it.stale = true
			continue
		}
		keep, kw = append(keep, it), append(kw, writes[i])
	}
	return keep, kw
}

// linkMade links the keys of records the destination just made, at
// once: until a new key is linked, a crash would leave a record tandem
// made that it does not know of, which a user could delete unseen.
// What fails here is linked when the round is recorded.
func (w *Worker) linkMade(ctx context.Context, made []*item) {
	if len(made) == 0 {
		return
	}
	err := w.Store.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		for _, it := range made {
			if err := w.link(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.Log.Warn("linking the keys of new records failed; they are linked with the round", "system", w.System, "err", err)
		return
	}
	for _, it := range made {
		it.linked = true
	}
}

// prepare loads the golden record and builds the write.
func (w *Worker) prepare(tx store.Tx, it *item) error {
	o := it.o
	m := w.Maps[o.Entity]
	g, err := tx.Golden(o.Entity, o.GID)
	if err != nil {
		return err
	}
	if m == nil || g == nil {
		it.skip = true
		return nil
	}
	it.g = g
	if g.Ver > o.Ver {
		// The record changed again since it was queued: this round
		// delivers the newer state, and completes the newer entry.
		it.o.Ver = g.Ver
	}
	key, _, err := tx.Key(o.Entity, o.GID, w.System)
	if err != nil {
		return err
	}
	it.key = key
	if g.Deleted {
		if key == "" && !o.Tried {
			it.skip = true // never sent here
			return nil
		}
		// Without a key, a create whose outcome is unknown may have
		// made the record: the destination looks for it by global id.
		it.w = record.Write{Op: record.Delete, GID: o.GID, Key: key, Ver: g.Ver}
		return nil
	}
	ok, err := m.Accepts(g.Fields)
	if err != nil {
		it.fail = fmt.Errorf("%s %s %s: %w", w.System, o.Entity, o.GID, err)
		return nil
	}
	if !ok {
		it.skip = true
		return nil
	}
	canon := make(record.Fields, len(g.Fields))
	for k, v := range g.Fields {
		canon[k] = v
	}
	for f, ent := range m.Refs {
		pg, _ := canon[f].(string)
		if pg == "" {
			continue
		}
		pk, ok, err := tx.Key(ent, pg, w.System)
		if err != nil {
			return err
		}
		if !ok {
			// A parent that was deleted never arrives: the reference is
			// empty, as ON DELETE SET NULL would make it.
			if p, err := tx.Golden(ent, pg); err != nil {
				return err
			} else if p != nil && p.Deleted {
				canon[f] = nil
				continue
			}
		}
		if !ok {
			it.wait = fmt.Sprintf("waiting for %s %s to reach %s (field %q)", ent, pg, w.System, f)
			canon[f] = refPlaceholder{entity: ent, gid: pg}
			continue
		}
		canon[f] = pk
	}
	it.w = record.Write{Op: record.Upsert, GID: o.GID, Key: key, Doubt: key == "" && o.Tried, Ver: g.Ver}
	if it.wait == "" {
		return w.mapLocal(it, m, canon)
	}
	it.canon = canon
	return nil
}

// busyDelay is how long a busy record waits before it is tried again.
const busyDelay = 250 * time.Millisecond

// judge decides whether the destination, rather than the records, is at
// fault for this round's failures: when every write failed and none for
// good, the system is taken to be unavailable. Such failures do not use
// up the records' attempts (an outage longer than the retry budget must
// not dead-letter a whole backlog); the round is tried again after a
// backoff that grows while the outage lasts.
//
// A busy record (see connector.Busy) waits a moment for the system's own
// transaction that holds it, also without using up an attempt; the
// destination answered, so it is no sign of an outage.
func (w *Worker) judge(tried []*item) {
	if len(tried) == 0 {
		return
	}
	answered := false
	for _, it := range tried {
		switch {
		case it.fail == nil || connector.IsPermanent(it.fail) || connector.IsGone(it.fail):
			answered = true
		case connector.IsBusy(it.fail):
			it.down, it.delay = true, busyDelay
			answered = true
		}
	}
	if answered {
		w.downs = 0
		w.health(SideDestination, nil)
		return
	}
	w.health(SideDestination, fmt.Errorf("every write failed: %w", tried[0].fail))
	w.downs++
	delay := w.Policy.delay(w.downs)
	if w.downs == 1 || w.downs%10 == 0 {
		w.Log.Warn("destination failed every write; retrying without using up attempts",
			"system", w.System, "rounds", w.downs, "retry in", delay, "err", tried[0].fail)
	}
	for _, it := range tried {
		it.down, it.delay = true, delay
	}
}

// Run delivers until ctx ends, as a pipeline of three stages: while one
// batch is written to the destination, the next is read and prepared
// and the one before is recorded in the store. A record is in at most
// one batch at a time: fetching moves forward through the queue, and
// goes back to its start (to pick up records changed while in flight)
// only once every batch in flight is recorded.
func (w *Worker) Run(ctx context.Context, wake <-chan struct{}, poll time.Duration) error {
	type batch struct{ items []*item }
	toApply := make(chan batch, 1)
	toRecord := make(chan batch, 1)
	// At most four batches are in flight (one queued and one busy per
	// stage), so recording never blocks on this channel.
	recorded := make(chan error, 8)
	var stages sync.WaitGroup
	stages.Add(2)
	go func() { // apply
		defer stages.Done()
		defer close(toRecord)
		for b := range toApply {
			if ctx.Err() != nil {
				// Not written: it stays queued for the next run. Still
				// counted as finished, or settling would wait forever.
				recorded <- nil
				continue
			}
			w.apply(ctx, b.items)
			if ctx.Err() != nil {
				// Cut short by shutdown: failures now are not the
				// destination's; deliver the batch again next run.
				recorded <- nil
				continue
			}
			toRecord <- b
		}
	}()
	go func() { // record
		defer stages.Done()
		for b := range toRecord {
			// What was written is recorded even while shutting down,
			// so that a restart does not write it again.
			err := w.record(context.WithoutCancel(ctx), b.items)
			if err != nil {
				w.Log.Error("recording deliveries failed", "system", w.System, "err", err)
			}
			recorded <- err
		}
	}()
	defer func() {
		close(toApply)
		stages.Wait()
	}()

	var after int64 // fetch position
	inFlight := 0
	failures := 0
	lastRestart := time.Now()
	settle := func() { // wait until every batch in flight is recorded
		for ; inFlight > 0; inFlight-- {
			select {
			case err := <-recorded:
				if err != nil {
					failures++
				}
			case <-ctx.Done():
				return // the stages finish what they hold on the way out
			}
		}
	}
	for ctx.Err() == nil {
		// Collect what finished meanwhile, without waiting.
		for done := false; !done; {
			select {
			case err := <-recorded:
				inFlight--
				if err != nil {
					failures++
				}
			default:
				done = true
			}
		}
		if failures > 0 {
			settle()
			after = 0
			if !sleepOrWake(ctx, nil, w.Policy.delay(failures)) {
				return nil
			}
			failures = 0
		}
		if after > 0 && time.Since(lastRestart) > time.Second {
			// Under a steady stream, still go back now and then for
			// records that changed while they were in flight.
			settle()
			after, lastRestart = 0, time.Now()
		}
		items, last, err := w.fetch(ctx, after)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			w.Log.Error("delivery round failed", "system", w.System, "err", err)
			continue
		}
		if len(items) == 0 {
			if after > 0 || inFlight > 0 {
				settle()
				after, lastRestart = 0, time.Now()
				continue
			}
			if !sleepOrWake(ctx, wake, poll) {
				return nil
			}
			continue
		}
		after = last
		inFlight++
		select {
		case toApply <- batch{items}:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// sleepOrWake waits for d or a wake-up; false means ctx ended.
func sleepOrWake(ctx context.Context, wake <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-t.C:
	}
	return true
}
