package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

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

// mapLocal maps the translated canonical fields to this system's columns.
func (w *Worker) mapLocal(it *item, m *mapping.Map, canon record.Fields) error {
	local, err := m.ToLocal(canon)
	if err != nil {
		var fe *mapping.FieldError
		if errors.As(err, &fe) {
			it.field = fe.Field
		}
		it.fail = &connector.Permanent{Err: err, Field: it.field}
		return nil
	}
	it.w.Fields = local
	return nil
}

// resolveWait fills in parents created earlier in this round. It reports
// whether the item is now ready to write.
func (w *Worker) resolveWait(it *item, newKeys map[string]string) bool {
	for f, v := range it.canon {
		ph, ok := v.(refPlaceholder)
		if !ok {
			continue
		}
		k, ok := newKeys[ph.entity+"\x00"+ph.gid]
		if !ok {
			return false
		}
		it.canon[f] = k
	}
	it.wait = ""
	_ = w.mapLocal(it, w.Maps[it.o.Entity], it.canon)
	return it.fail == nil
}
