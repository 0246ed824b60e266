package deliver

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// record writes the outcome of a round in one store transaction: links of
// created records, finished deliveries, retries, waits and dead letters.
func (w *Worker) record(ctx context.Context, items []*item) error {
	now := w.Now()
	counts := map[string]*store.Count{}
	count := func(ent string) *store.Count {
		c := counts[ent]
		if c == nil {
			c = &store.Count{System: w.System, Entity: ent}
			counts[ent] = c
		}
		return c
	}
	err := w.Store.Update(ctx, func(tx store.Tx) error {
		for _, it := range items {
			if err := w.outcome(tx, it, now, count); err != nil {
				return err
			}
		}
		for _, c := range counts {
			if err := tx.AddCount(*c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		w.health(SideStore, fmt.Errorf("record deliveries: %w", err))
	} else {
		w.health(SideStore, nil)
	}
	return err
}

// outcome records in tx how the round ended for one item: a finished
// delivery (and the key a create got), a skip, a wait for a parent, a
// retry or a deferral, a record found gone, or a dead letter.
func (w *Worker) outcome(tx store.Tx, it *item, now time.Time, count func(string) *store.Count) error {
	o := it.o
	switch {
	case it.skip:
		return w.skipped(tx, it, now)
	case it.stale:
		// Its key changed while it waited: prepared again next round.
		o.NextAt = now
		return tx.Defer(o)
	case it.wait != "":
		o.Wait, o.NextAt = it.wait, now.Add(w.WaitRetry)
		return tx.Defer(o)
	case it.fail != nil && connector.IsGone(it.fail):
		return w.gone(tx, it, now)
	case it.fail != nil && it.down:
		w.Log.Debug("delivery deferred", "entity", o.Entity, "gid", o.GID, "key", it.w.Key, "err", it.fail)
		if it.w.Op == record.Upsert && it.w.Key == "" && !connector.IsBusy(it.fail) {
			o.Tried = true // the create may have happened
		}
		o.Error = it.fail.Error()
		o.Wait, o.NextAt = "", now.Add(it.delay)
		return tx.Defer(o)
	case it.fail != nil:
		return w.failed(tx, it, now, count)
	}
	return w.delivered(tx, it, now, count)
}

// skipped records an item with nothing to write: done, unless it is the
// delete of a record skipped as never sent here whose key a report has
// linked since.
func (w *Worker) skipped(tx store.Tx, it *item, now time.Time) error {
	o := it.o
	if it.g != nil && it.g.Deleted {
		if _, ok, err := tx.Key(o.Entity, o.GID, w.System); err != nil {
			return err
		} else if ok {
			o.NextAt = now
			return tx.Defer(o)
		}
	}
	return tx.Done(o)
}

// failed records a write that failed and that the record is to blame
// for: retried after a backoff, or dead-lettered once it failed for good
// or used up its attempts.
func (w *Worker) failed(tx store.Tx, it *item, now time.Time, count func(string) *store.Count) error {
	o := it.o
	if it.w.Op == record.Upsert && it.w.Key == "" && !connector.IsPermanent(it.fail) {
		o.Tried = true // the create may have happened
	}
	o.Attempts++
	o.Error = it.fail.Error()
	if connector.IsPermanent(it.fail) || o.Attempts >= w.Policy.Attempts {
		if err := w.dead(tx, it, o, now); err != nil {
			return err
		}
		count(o.Entity).Dead++
		return nil
	}
	o.Wait, o.NextAt = "", now.Add(w.Policy.delay(o.Attempts))
	w.Log.Debug("delivery failed; will retry", "entity", o.Entity,
		"gid", o.GID, "attempt", o.Attempts, "err", it.fail)
	return tx.Defer(o)
}

// delivered records a write the destination took: the key a create got
// is linked, a deleted record's key is let go, the delivery is done.
func (w *Worker) delivered(tx store.Tx, it *item, now time.Time, count func(string) *store.Count) error {
	o := it.o
	// Link a key the destination just made; an update's key is linked already.
	if it.w.Op == record.Upsert && it.key != "" && it.key != it.w.Key && !it.linked {
		if err := w.link(tx, it); err != nil {
			return err
		}
	}
	// A deleted record's key no longer names it here (unless
	// another record got the key meanwhile).
	if it.w.Op == record.Delete && it.w.Key != "" {
		if gid, ok, err := tx.GID(o.Entity, w.System, it.w.Key); err != nil {
			return err
		} else if ok && gid == o.GID {
			if err := tx.Unlink(o.Entity, w.System, it.w.Key, now); err != nil {
				return err
			}
		}
	}
	if err := tx.Done(o); err != nil {
		return err
	}
	if w.MarkSent {
		// Answered: no longer a write in flight (see current).
		if err := tx.ClearSent(w.System, o.Entity, o.GID); err != nil {
			return err
		}
	}
	if w.hasDead || o.Attempts > 0 {
		if err := tx.ResolveDead(store.StageDeliver, w.System, o.Entity, o.GID); err != nil {
			return err
		}
	}
	w.Log.Debug("delivered", "entity", o.Entity, "gid", o.GID, "key", it.key, "op", it.w.Op, "ver", o.Ver, "fields", it.w.Fields)
	c := count(o.Entity)
	c.Delivered++
	c.LastDelivery = now
	return nil
}

// link links the key the destination gave a record it made, unless its
// users deleted the new row before tandem could: the key may name a row
// of theirs by now, and the record is gone from the system.
func (w *Worker) link(tx store.Tx, it *item) error {
	o := it.o
	if gone, err := w.goneAsMade(tx, it); err != nil || gone {
		if err != nil || w.Vanished == nil {
			return err
		}
		return w.Vanished(tx, o.Entity, it.key, o.GID, fmt.Sprintf("gone from %s: its users deleted it as tandem made it", w.System))
	}
	if err := w.taken(tx, o.Entity, it.key, o.GID); err != nil {
		return err
	}
	// The key holds from when the system answered the create.
	at := it.answered
	if at.IsZero() {
		at = w.Now()
	}
	if err := tx.PutLinkAt(o.Entity, w.System, it.key, o.GID, at); err != nil {
		return err
	}
	return w.created(tx, it)
}

// goneAsMade reports whether the key's tombstone says the row the
// destination just made is gone: one naming the record, left since the
// write was sent (capture read the delete of tandem's row), or one naming
// no record, left after the answer (a delete of a key tandem did not know
// yet). A tombstone from before is of an earlier row under the key.
func (w *Worker) goneAsMade(tx store.Tx, it *item) (bool, error) {
	old, at, ok, err := tx.Tombstone(it.o.Entity, w.System, it.key)
	if err != nil || !ok {
		return false, err
	}
	since := it.sent
	if since.IsZero() || since.After(it.answered) {
		since = it.answered
	}
	return (old == it.o.GID && !at.Before(since)) || (old == "" && at.After(it.answered)), nil
}

// taken handles a key the destination gave a new record while tandem
// links it to another: the system reuses keys, so the record the key
// named is gone from it, deleted by its users.
func (w *Worker) taken(tx store.Tx, entity, key, gid string) error {
	old, ok, err := tx.GID(entity, w.System, key)
	if err != nil || !ok || old == gid {
		return err
	}
	w.Log.Info("the system gave a key tandem links to another record to a new one; that record is gone from it",
		"entity", entity, "key", key, "was", old, "now", gid)
	if w.Vanished == nil {
		return tx.Unlink(entity, w.System, key, w.Now())
	}
	return w.Vanished(tx, entity, key, old, fmt.Sprintf("gone from %s: its key %s was given to the new record %s", w.System, key, gid))
}

// created checks a record the destination just made, now linked: tandem
// may have deleted it meanwhile.
func (w *Worker) created(tx store.Tx, it *item) error {
	o := it.o
	h := it.head
	if h == nil {
		heads, err := tx.Heads(o.Entity, []string{o.GID})
		if err != nil {
			return err
		}
		hd := heads[o.GID]
		h = &hd
	}
	if !h.Deleted {
		return nil
	}
	return tx.Enqueue(w.System, o.Entity, o.GID, h.Ver, w.Now())
}

// gone handles a write whose record is no longer in the destination.
// Where the system's changes are captured, its users deleted it: that
// delete is taken as captured and wins. Otherwise (the system only
// receives this entity) the record is made there again.
func (w *Worker) gone(tx store.Tx, it *item, now time.Time) error {
	o := it.o
	key := it.w.Key
	if w.Captures[o.Entity] && w.Vanished != nil {
		w.Log.Info("record gone from the system; taking it as deleted there",
			"entity", o.Entity, "key", key, "gid", o.GID, "err", it.fail)
		if err := w.Vanished(tx, o.Entity, key, o.GID, fmt.Sprintf("gone from %s: %v", w.System, it.fail)); err != nil {
			return err
		}
		return tx.Done(o)
	}
	w.Log.Info("record gone from the system; making it there again",
		"entity", o.Entity, "key", key, "gid", o.GID, "err", it.fail)
	if key != "" {
		if err := tx.Unlink(o.Entity, w.System, key, now); err != nil {
			return err
		}
	}
	o.Error, o.Wait, o.NextAt = it.fail.Error(), "", now
	return tx.Defer(o)
}

func (w *Worker) dead(tx store.Tx, it *item, o store.Outbound, now time.Time) error {
	w.hasDead = true
	msg := fmt.Sprintf("deliver %s %s to %s (key %q): %v", o.Entity, o.GID, w.System, it.key, it.fail)
	if it.key == "" {
		// A create has no key here yet: name the record by its keys elsewhere.
		if links, err := tx.Links(o.Entity, o.GID); err == nil && len(links) > 0 {
			names := make([]string, 0, len(links))
			for sys, k := range links {
				names = append(names, sys+":"+k)
			}
			sort.Strings(names)
			msg += "; the record is " + strings.Join(names, ", ")
		}
	}
	w.Log.Warn("delivery dead-lettered", "entity", o.Entity, "gid", o.GID,
		"key", it.key, "field", it.field, "err", it.fail)
	d := &store.DeadLetter{Stage: store.StageDeliver, System: w.System, Entity: o.Entity, Key: it.key,
		GID: o.GID, Op: it.w.Op, Fields: it.w.Fields, Field: it.field, Error: msg, Attempts: o.Attempts, At: now}
	if err := tx.AddDead(d); err != nil {
		return err
	}
	return tx.Drop(o)
}
