package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"tandem/internal/connector"
	"tandem/internal/mapping"
	"tandem/internal/record"
	"tandem/internal/store"
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
	// hasDead is set once this worker dead-letters, so later successes
	// know to resolve earlier dead letters of the same record.
	hasDead bool
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
	canon record.Fields // canonical fields with references translated, while waiting
}

// refPlaceholder stands for a parent whose key here is not known yet.
type refPlaceholder struct{ entity, gid string }

// Step delivers at most one batch. It returns how many records it
// handled (delivered, skipped, deferred or dead-lettered).
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

func (w *Worker) Step(ctx context.Context) (int, error) {
	now := w.Now()
	var items []*item
	err := w.Store.View(ctx, func(tx store.Tx) error {
		due, err := tx.Due(w.System, now, w.Batch)
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
	if err != nil || len(items) == 0 {
		return 0, err
	}
	// Apply entity by entity, parents first, so children find the keys
	// their parents got in this same round.
	newKeys := map[string]string{} // entity+gid → key created this round
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
		split := false
		for _, it := range group {
			if it.o.Attempts >= 2 {
				split = true
			}
		}
		res := applySplit(ctx, w.Dst, ent, writes, split)
		for i, it := range group {
			if res[i].Err != nil {
				it.fail = res[i].Err
				var p *connector.Permanent
				if errors.As(res[i].Err, &p) {
					it.field = p.Field
				}
				continue
			}
			it.key = res[i].Key
			if it.w.Op == record.Upsert && it.key != "" {
				newKeys[ent+"\x00"+it.o.GID] = it.key
			}
		}
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return len(items), w.record(ctx, items)
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
	key, _, err := tx.Key(o.Entity, o.GID, w.System)
	if err != nil {
		return err
	}
	it.key = key
	if g.Deleted {
		if key == "" {
			it.skip = true
			return nil
		}
		it.w = record.Write{Op: record.Delete, GID: o.GID, Key: key}
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
			it.wait = fmt.Sprintf("waiting for %s %s to reach %s (field %q)", ent, pg, w.System, f)
			canon[f] = refPlaceholder{entity: ent, gid: pg}
			continue
		}
		canon[f] = pk
	}
	it.w = record.Write{Op: record.Upsert, GID: o.GID, Key: key}
	if it.wait == "" {
		return w.mapLocal(it, m, canon)
	}
	it.canon = canon
	return nil
}

// Run delivers until ctx ends. It steps again at once while batches are
// full, and otherwise waits for a wake-up or the poll interval.
func (w *Worker) Run(ctx context.Context, wake <-chan struct{}, poll time.Duration) error {
	failures := 0
	for {
		n, err := w.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := poll
		if err != nil {
			failures++
			wait = w.Policy.delay(failures)
			w.Log.Error("delivery round failed", "system", w.System, "err", err)
		} else {
			failures = 0
			if n >= w.Batch {
				continue
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}
