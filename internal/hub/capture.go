package hub

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tandemhub/tandem/internal/backoff"
	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/connector/registry"
	"github.com/tandemhub/tandem/internal/resolve"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/health"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// capture runs the initial snapshot of a system, calls snapDone, then
// follows its changes until ctx ends. Failures are logged and retried
// with backoff; capture never gives up on a system. Each attempt's
// outcome goes to the health board, so that a system failing for good
// shows in status even when the store cannot be written.
func (h *Hub) capture(ctx context.Context, system string, snapDone func()) {
	c := &capturer{h: h, system: system, log: h.log.With("system", system), src: h.systems[system],
		sys: h.cfg.Systems[system], entities: h.capturedEntities(system)}
	c.start(ctx)
	if c.sys.Snapshot == nil || *c.sys.Snapshot {
		c.initialCopy(ctx)
	}
	snapDone()
	// Changes are resolved against every system's initial copy: a delete
	// made meanwhile must find the record another system's copy brought.
	select {
	case <-h.readyCh:
	case <-ctx.Done():
		return
	}
	c.follow(ctx)
}

// capturer is the capture of one system.
type capturer struct {
	h        *Hub
	system   string
	log      *slog.Logger
	src      registry.System
	sys      *config.System
	entities []string // captured from the system, parents first
}

// retry reports a failed attempt and waits before the next (try n+1).
func (c *capturer) retry(ctx context.Context, what string, err error, n int) {
	d := retryPolicy.Delay(n)
	c.log.Error(what+" failed; retrying", "err", err, "in", d)
	c.h.health.Report(c.system, health.Capture, fmt.Errorf("%s: %w", what, err))
	sleep(ctx, d)
}

// ok reports an attempt that went through.
func (c *capturer) ok() { c.h.health.Report(c.system, health.Capture, nil) }

// start hands the source its stored change position, and a source that
// finds deletes by listing the keys tandem links in the system.
func (c *capturer) start(ctx context.Context) {
	for n := 0; ctx.Err() == nil; n++ {
		if err := c.h.resumePosition(ctx, c.system); err == nil {
			c.ok()
			break
		} else if ctx.Err() == nil {
			c.retry(ctx, "reading the change position", err, n+1)
		}
	}
	k := c.h.caps[c.system].Knower
	if k == nil {
		return
	}
	for n := 0; ctx.Err() == nil; n++ {
		if err := c.h.tellKnown(ctx, c.system, c.entities, k); err == nil {
			break
		} else if ctx.Err() == nil {
			c.retry(ctx, "reading the keys tandem links", err, n+1)
		}
	}
}

// initialCopy copies the rows the system holds, entity by entity,
// parents first, page by page, until done or ctx ends.
func (c *capturer) initialCopy(ctx context.Context) {
	for _, ent := range c.entities {
		for n := 0; ctx.Err() == nil; {
			done, err := c.h.snapshotStep(ctx, c.system, ent, c.sys.Batch)
			if err != nil {
				n++
				c.retry(ctx, "snapshot of "+ent, err, n)
				continue
			}
			n = 0
			c.ok()
			if done {
				break
			}
		}
	}
}

// idle is how long capture waits after finding no changes: the system's
// poll, or, within busyFor of the last batch that had changes, an eighth
// of it (at least minPoll). Changes come in runs; looking again soon
// after one takes the wait out of their latency, and an idle system is
// asked no more often than its poll says.
func (c *capturer) idle(busy time.Time) time.Duration {
	poll := c.sys.Poll.D()
	if time.Since(busy) < busyFor {
		return max(min(poll, minPoll), poll/8)
	}
	return poll
}

const (
	busyFor = 2 * time.Second
	minPoll = 10 * time.Millisecond
)

// follow reads the system's changes and stores them until ctx ends. A
// batch is acknowledged to the source only once the store has it.
func (c *capturer) follow(ctx context.Context) {
	captured := map[string]bool{}
	for _, e := range c.entities {
		captured[e] = true
	}
	var busy time.Time // when the last batch with changes was read
	for n := 0; ctx.Err() == nil; {
		b, err := c.src.Changes(ctx, c.sys.Batch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			n++
			c.retry(ctx, "reading changes", err, n)
			continue
		}
		if len(b.Changes) == 0 {
			// Nothing to store, but a source may still have read something
			// (messages it dropped as echoes or copies) to release.
			if b.Ack != nil {
				if err := c.src.Ack(ctx, b); err != nil && ctx.Err() == nil {
					c.log.Warn("acknowledging an empty batch failed", "err", err)
				}
			}
			n = 0
			c.ok()
			sleep(ctx, c.idle(busy))
			continue
		}
		busy = time.Now()
		keep := b.Changes[:0:0]
		for _, ch := range b.Changes {
			if captured[ch.Entity] {
				keep = append(keep, ch)
			}
		}
		if err := c.h.ingest(ctx, keep, c.h.savePosition(c.system, b)); err != nil {
			if ctx.Err() != nil {
				return
			}
			n++
			c.retry(ctx, "storing changes", err, n)
			continue
		}
		// The batch is committed in the store: only now may the source release it.
		if err := c.src.Ack(ctx, b); err != nil && ctx.Err() == nil {
			n++
			c.retry(ctx, "acknowledging changes", err, n)
			continue
		}
		n = 0
		c.ok()
	}
}

// tellKnown tells a source that finds deletes by listing every key
// tandem links in it (see connector.Knower).
func (h *Hub) tellKnown(ctx context.Context, system string, entities []string, k connector.Knower) error {
	known := map[string][]string{}
	err := h.store.View(ctx, func(tx store.Tx) error {
		for _, ent := range entities {
			keys, err := tx.LinkedKeys(ent, system)
			if err != nil {
				return err
			}
			known[ent] = keys
		}
		return nil
	})
	if err != nil {
		return err
	}
	for ent, keys := range known {
		k.Known(ent, keys)
	}
	return nil
}

// snapshotStep copies one page of existing rows and moves the snapshot
// position in the same transaction. It reports whether the entity is done.
func (h *Hub) snapshotStep(ctx context.Context, system, entity string, batch int) (bool, error) {
	name := "snapshot/" + entity
	pos, err := h.copyPos(ctx, system, name)
	if err != nil || pos.Done {
		return pos.Done, err
	}
	rows, next, err := h.systems[system].Snapshot(ctx, entity, pos.After, batch)
	if err != nil {
		return false, err
	}
	pos = copyPos{After: next, Done: len(rows) == 0}
	return pos.Done, h.ingest(ctx, rows, func(tx store.Tx) error { return putCopyPos(tx, system, name, pos) })
}

// ingest resolves captured changes in one store transaction, together
// with extra (a cursor move), then wakes the delivery workers.
func (h *Hub) ingest(ctx context.Context, changes []record.Change, extra func(store.Tx) error) error {
	err := h.store.Update(ctx, func(tx store.Tx) error {
		if len(changes) > 0 {
			res, err := h.resolver.Resolve(tx, changes)
			if err != nil {
				return err
			}
			if err := addCounts(tx, res.Counts); err != nil {
				return err
			}
			// New links of parents may release held children at once.
			if res.Unblocked {
				st, err := h.resolver.RetryHeld(tx, 1000)
				if err != nil {
					return err
				}
				if err := addCounts(tx, st); err != nil {
					return err
				}
			}
		}
		if extra != nil {
			return extra(tx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		h.wakeAll()
	}
	return nil
}

// addCounts adds a resolver call's counts in tx.
func addCounts(tx store.Tx, st resolve.Stats) error {
	for _, c := range st {
		if err := tx.AddCount(*c); err != nil {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// retryPolicy is how long capture, reports and adoption wait before they
// read a system again after a failure: 200ms doubling to 6.4s.
var retryPolicy = backoff.Policy{Base: 200 * time.Millisecond, Max: 6400 * time.Millisecond}
