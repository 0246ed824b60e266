package deliver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

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
		gids := make([]string, len(group))
		for i, it := range group {
			gids[i] = it.o.GID
		}
		heads, err := tx.Heads(ent, gids)
		if err != nil {
			return err
		}
		for i, it := range group {
			if heads[it.o.GID].Ver > it.o.Ver {
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
		keys, gids := map[string][]string{}, map[string][]string{}
		for _, it := range made {
			keys[it.o.Entity] = append(keys[it.o.Entity], it.key)
			gids[it.o.Entity] = append(gids[it.o.Entity], it.o.GID)
		}
		for ent, ks := range keys {
			if err := tx.Preload(ent, w.System, ks); err != nil {
				return err
			}
			heads, err := tx.Heads(ent, gids[ent])
			if err != nil {
				return err
			}
			for _, it := range made {
				if it.o.Entity == ent {
					h := heads[it.o.GID]
					it.head = &h
				}
			}
		}
		for _, it := range made {
			if err := w.link(tx, it); err != nil {
				return err
			}
		}
		return nil
	})
	for _, it := range made {
		it.head = nil // read in that transaction only
	}
	if err != nil {
		w.Log.Warn("linking the keys of new records failed; they are linked with the round", "err", err)
		return
	}
	for _, it := range made {
		it.linked = true
	}
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
			"rounds", w.downs, "retry in", delay, "err", tried[0].fail)
	}
	for _, it := range tried {
		it.down, it.delay = true, delay
	}
}
