package hub

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/health"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// startReports starts a reports loop for every system whose writes
// complete after delivery (connector.Reporter).
func (h *Hub) startReports(ctx context.Context, g *errgroup.Group) {
	for _, name := range h.cfg.SystemNames() {
		r := h.caps[name].Reporter
		if r == nil {
			continue
		}
		g.Go(func() error { h.reports(ctx, name, r); return nil })
	}
}

// reports takes a system's reports until ctx ends: it links the keys of
// records the system created, dead-letters writes it refused and
// changes it sent that could not be read. Each batch is stored in one
// transaction, and only then released by the system, so a crash reads
// it again; handling a report twice does no harm.
func (h *Hub) reports(ctx context.Context, system string, r connector.Reporter) {
	log := h.log.With("system", system)
	sys := h.cfg.Systems[system]
	for n := 0; ctx.Err() == nil; {
		start := time.Now()
		b, err := r.Reports(ctx, sys.Batch)
		if err == nil && len(b.Reports) > 0 {
			var linked bool
			if linked, err = h.storeReports(ctx, system, b.Reports); err == nil {
				// The batch is committed in the store: only now may the system release it.
				err = r.AckReports(ctx, b)
				if linked {
					h.wakeAll()
				}
			}
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			n++
			d := retryPolicy.Delay(n)
			log.Error("handling reports failed; retrying", "err", err, "in", d)
			h.health.Report(system, health.Reports, fmt.Errorf("handling reports: %w", err))
			sleep(ctx, d)
			continue
		}
		n = 0
		h.health.Report(system, health.Reports, nil)
		if len(b.Reports) == 0 && time.Since(start) < 10*time.Millisecond {
			sleep(ctx, sys.Poll.D()) // a reporter that does not wait itself
		}
	}
}

// storeReports stores the effects of reports in one transaction and
// says whether any new link was made.
func (h *Hub) storeReports(ctx context.Context, system string, reports []connector.Report) (bool, error) {
	now := time.Now()
	var linked bool
	err := h.store.Update(ctx, func(tx store.Tx) error {
		linked = false
		counts := map[string]*store.Count{}
		count := func(ent string) *store.Count {
			c := counts[ent]
			if c == nil {
				c = &store.Count{System: system, Entity: ent}
				counts[ent] = c
			}
			return c
		}
		resolve, err := tx.HasOpenDead(store.StageDeliver)
		if err != nil {
			return err
		}
		for _, r := range reports {
			switch r.Kind {
			case connector.Applied, connector.Created:
				l, err := h.linkReported(tx, system, r, now, resolve)
				if err != nil {
					return err
				}
				linked = linked || l
			case connector.Failed:
				h.log.Warn("system refused a write", "system", system, "entity", r.Entity, "gid", r.GID,
					"key", r.Key, "field", r.Field, "reason", r.Reason)
				msg := fmt.Sprintf("%s refused %s %s (key %q): %s", system, r.Entity, r.GID, r.Key, r.Reason)
				if err := tx.AddDead(&store.DeadLetter{Stage: store.StageDeliver, System: system, Entity: r.Entity,
					Key: r.Key, GID: r.GID, Op: opOr(r.Op), Field: r.Field, Error: msg, Attempts: 1, At: now}); err != nil {
					return err
				}
				count(r.Entity).Dead++
			case connector.Rejected:
				if err := tx.AddDead(&store.DeadLetter{Stage: store.StageCapture, System: system, Entity: r.Entity,
					Key: r.Key, GID: r.GID, Op: opOr(r.Op), Fields: r.Fields, Field: r.Field,
					Error: fmt.Sprintf("%s sent a message tandem cannot take: %s", system, r.Reason), At: now}); err != nil {
					return err
				}
				if r.Entity != "" {
					count(r.Entity).Dead++
				}
			}
		}
		for _, c := range counts {
			if err := tx.AddCount(*c); err != nil {
				return err
			}
		}
		return nil
	})
	return linked, err
}

// linkReported links the key a system reports for a record tandem sent
// it, if it is new, and resolves earlier dead letters of that delivery.
// A record deleted while its create was on the way gets its delete now,
// since the delete could not be sent without the key.
func (h *Hub) linkReported(tx store.Tx, system string, r connector.Report, now time.Time, resolve bool) (bool, error) {
	if r.GID == "" || r.Entity == "" {
		return false, nil
	}
	if resolve {
		if err := tx.ResolveDead(store.StageDeliver, system, r.Entity, r.GID); err != nil {
			return false, err
		}
	}
	if r.Key == "" || r.Op == record.Delete {
		return false, nil
	}
	cur, ok, err := tx.Key(r.Entity, r.GID, system)
	if err != nil || (ok && cur == r.Key) {
		return false, err
	}
	if other, found, err := tx.GID(r.Entity, system, r.Key); err != nil {
		return false, err
	} else if found && other != r.GID {
		h.log.Warn("system reported a key that tandem links to another record; linking it to the reported one",
			"system", system, "entity", r.Entity, "key", r.Key, "gid", r.GID, "was", other)
	}
	if ok {
		h.log.Warn("system reported another key for a record", "system", system, "entity", r.Entity,
			"gid", r.GID, "key", r.Key, "was", cur)
	}
	if err := tx.PutLinkAt(r.Entity, system, r.Key, r.GID, time.Now()); err != nil {
		return false, err
	}
	g, err := tx.Golden(r.Entity, r.GID)
	if err != nil {
		return false, err
	}
	if g != nil && g.Deleted {
		if err := tx.Enqueue(system, r.Entity, r.GID, g.Ver, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

func opOr(op record.Op) record.Op {
	if op == 0 {
		return record.Upsert
	}
	return op
}
