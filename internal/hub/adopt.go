package hub

import (
	"context"

	"github.com/tandemhub/tandem/internal/store"
)

// adopt reads, once per store, the rows of every entity system only
// receives and links those that are copies of known records (see
// resolve.Adopt), so that a store new to systems already in step does
// not make them twice. It returns when done or when ctx ends; failures
// are logged and retried, as for a snapshot. The system's delivery
// starts only after it.
func (h *Hub) adopt(ctx context.Context, system string) {
	log := h.log.With("system", system)
	batch := h.cfg.Systems[system].Batch
	for _, ent := range h.receivedOnly(system) {
		name := "adopt/" + ent
		linked := 0
		for n := 0; ctx.Err() == nil; {
			pos, err := h.copyPos(ctx, system, name)
			if err == nil && pos.Done {
				break
			}
			var k int
			if err == nil {
				k, err = h.adoptStep(ctx, system, ent, name, pos.After, batch)
			}
			if err != nil {
				n++
				d := retryPolicy.Delay(n)
				log.Error("reading the copies of "+ent+" failed; retrying", "err", err, "in", d)
				sleep(ctx, d)
				continue
			}
			n = 0
			linked += k
		}
		if linked > 0 {
			log.Info("linked copies of records the system already holds", "entity", ent, "linked", linked)
		}
	}
}

// awaitDelivery waits until delivery to system may start, and reports
// whether it may (false once ctx ends). own is closed when the system's
// initial snapshot is in (nil when nothing of it is captured). Every row
// a system holds must be known to tandem before it is sent anything, or
// a record it holds would be made there twice. Its captured rows are
// known once its own snapshot is in; the copies of an entity it only
// receives can be matched only against every other system's records, so
// it waits for every snapshot, unless it holds none (or they were
// adopted by an earlier run). So the first rows of a large initial copy
// reach an empty system while the copy runs.
func (h *Hub) awaitDelivery(ctx context.Context, system string, own <-chan struct{}) bool {
	if own != nil {
		select {
		case <-own:
		case <-ctx.Done():
			return false
		}
	}
	select {
	case <-h.readyCh:
		return true
	default:
	}
	if h.nothingToAdopt(ctx, system) {
		h.log.Info("delivering while initial snapshots run", "system", system)
		return true
	}
	select {
	case <-h.readyCh:
		return true
	case <-ctx.Done():
		return false
	}
}

// nothingToAdopt reports whether system holds no rows of the entities
// it only receives, apart from those an earlier run adopted. A failure
// to tell says false: the system then waits, as it always may.
func (h *Hub) nothingToAdopt(ctx context.Context, system string) bool {
	for _, ent := range h.receivedOnly(system) {
		if pos, err := h.copyPos(ctx, system, "adopt/"+ent); err == nil && pos.Done {
			continue
		}
		rows, _, err := h.systems[system].Snapshot(ctx, ent, "", 1)
		if err != nil || len(rows) > 0 {
			return false
		}
	}
	return true
}

// receivedOnly lists the entities system has a mapping of but whose
// changes are not captured from it, parents first: those it only
// receives, whose copies adoption links.
func (h *Hub) receivedOnly(system string) []string {
	captured := map[string]bool{}
	for _, e := range h.capturedEntities(system) {
		captured[e] = true
	}
	var out []string
	for _, ent := range h.cfg.EntityOrder() {
		if !captured[ent] && h.model.Maps[system][ent] != nil {
			out = append(out, ent)
		}
	}
	return out
}

// adoptStep links one page of the rows of entity in system and moves
// the copy's position in the same transaction.
func (h *Hub) adoptStep(ctx context.Context, system, entity, cursor, after string, batch int) (int, error) {
	rows, next, err := h.systems[system].Snapshot(ctx, entity, after, batch)
	if err != nil {
		return 0, err
	}
	n := 0
	err = h.store.Update(ctx, func(tx store.Tx) error {
		var err error
		if n, err = h.resolver.Adopt(tx, system, entity, rows); err != nil {
			return err
		}
		return putCopyPos(tx, system, cursor, copyPos{After: next, Done: len(rows) == 0})
	})
	return n, err
}
