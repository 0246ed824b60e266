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
	captured := map[string]bool{}
	for _, e := range h.capturedEntities(system) {
		captured[e] = true
	}
	batch := h.cfg.Systems[system].Batch
	for _, ent := range h.cfg.EntityOrder() {
		if captured[ent] || h.model.Maps[system][ent] == nil {
			continue
		}
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
