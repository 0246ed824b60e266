package hub

import (
	"context"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// maintain retries held changes and acts on dead letters an operator
// asked to retry, once a second, until ctx ends.
func (h *Hub) maintain(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := h.retryHeld(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("retrying held changes failed", "err", err)
		}
		if err := h.retryDead(ctx); err != nil && ctx.Err() == nil {
			h.log.Error("retrying dead letters failed", "err", err)
		}
	}
}

func (h *Hub) retryHeld(ctx context.Context) error {
	var some bool
	if err := h.store.View(ctx, func(tx store.Tx) error {
		held, err := tx.HeldChanges(1)
		some = len(held) > 0
		return err
	}); err != nil || !some {
		return err
	}
	return h.store.Update(ctx, func(tx store.Tx) error {
		st, err := h.resolver.RetryHeld(tx, 1000)
		if err != nil {
			return err
		}
		if err := addCounts(tx, st); err != nil {
			return err
		}
		h.wakeAll()
		return nil
	})
}

// retryDead handles dead letters in state retry: a capture failure is
// read again from its source and resolved anew; a delivery failure is
// queued again with the record's current golden state.
func (h *Hub) retryDead(ctx context.Context) error {
	var letters []store.DeadLetter
	if err := h.store.View(ctx, func(tx store.Tx) error {
		var err error
		letters, err = tx.DeadLetters(store.DeadRetry, 100)
		return err
	}); err != nil {
		return err
	}
	for _, d := range letters {
		var fresh []record.Change
		if d.Stage == store.StageCapture {
			src, ok := h.systems[d.System]
			if !ok {
				continue
			}
			var err error
			if fresh, err = src.Fetch(ctx, d.Entity, []string{d.Key}); err != nil {
				// This system is unreachable now; the others' retries go on,
				// and this one stays asked for until the next round.
				h.log.Warn("re-reading a record to retry failed; will try again", "system", d.System,
					"entity", d.Entity, "key", d.Key, "dead letter", d.ID, "err", err)
				continue
			}
		}
		err := h.store.Update(ctx, func(tx store.Tx) error {
			if err := tx.SetDeadState(d.ID, store.DeadRetried); err != nil {
				return err
			}
			if d.Stage == store.StageCapture {
				res, err := h.resolver.Resolve(tx, fresh)
				if err != nil {
					return err
				}
				for _, c := range res.Counts {
					c.Captured = 0 // a retry is not a new capture
					if err := tx.AddCount(*c); err != nil {
						return err
					}
				}
				return nil
			}
			g, err := tx.Golden(d.Entity, d.GID)
			if err != nil || g == nil {
				return err
			}
			return tx.Enqueue(d.System, d.Entity, d.GID, g.Ver, time.Now())
		})
		if err != nil {
			return err
		}
		h.log.Info("dead letter retried", "id", d.ID, "stage", d.Stage, "system", d.System, "entity", d.Entity, "key", d.Key)
	}
	if len(letters) > 0 {
		h.wakeAll()
	}
	return nil
}
