package queue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/broker"
)

// seenSize is how many acknowledged message ids an inbox remembers to
// recognise copies; a copy that comes later than that is handled again
// (harmlessly: the hub finds nothing new in it).
const seenSize = 1 << 17

// inbox is the receiving end of one queue: messages fetched and not yet
// acknowledged, in the order they came, and the ids of those recently
// acknowledged.
type inbox struct {
	queue, consumer string
	prefetch        int

	mu      sync.Mutex
	c       broker.Consumer // opened on first use
	pending []*entry
	byID    map[string]*entry
	seen    *memo[string, struct{}]
	// stored holds hashes of ids stored before a restart but perhaps
	// not acknowledged (see Resume).
	stored map[uint64]bool
}

// entry is one message (and any copies of it) waiting to be acknowledged.
type entry struct {
	id  string
	ds  []broker.Delivery
	val any // what the message decoded to
}

func newInbox(queue, consumer string, prefetch int) *inbox {
	return &inbox{queue: queue, consumer: consumer, prefetch: prefetch,
		byID: map[string]*entry{}, seen: newMemo[string, struct{}](seenSize)}
}

// fill fetches messages until want are pending, waiting up to wait for
// the first when none is. decode turns a delivery into its message id
// and value; route, if not nil, takes entries that do not belong in
// pending (it reports whether it took e). Copies of acknowledged
// messages are acknowledged again and dropped; copies of pending ones
// join them. Called with in.mu held.
func (in *inbox) fill(ctx context.Context, b broker.Broker, want int, wait time.Duration,
	decode func(broker.Delivery) (string, any), route func(*entry) bool) error {
	if in.c == nil {
		c, err := b.Consume(ctx, in.queue, in.consumer, in.prefetch)
		if err != nil {
			return err
		}
		in.c = c
	}
	n := want - len(in.pending)
	if n <= 0 {
		return nil
	}
	if len(in.pending) > 0 {
		wait = 0
	}
	ds, err := in.c.Fetch(ctx, n, wait)
	if err != nil {
		return err
	}
	var again []broker.Delivery
	for _, d := range ds {
		id, val := decode(d)
		if id == "" {
			id = d.ID
		}
		if id == "" {
			sum := sha256.Sum256(d.Body)
			id = "sha256:" + hex.EncodeToString(sum[:16])
		}
		if _, ok := in.seen.get(id); ok || (len(in.stored) > 0 && in.stored[idHash(id)]) {
			again = append(again, d)
			continue
		}
		if e := in.byID[id]; e != nil {
			e.ds = append(e.ds, d)
			continue
		}
		e := &entry{id: id, ds: []broker.Delivery{d}, val: val}
		in.byID[id] = e
		if route != nil && route(e) {
			continue
		}
		in.pending = append(in.pending, e)
	}
	if len(again) > 0 {
		_ = in.c.Ack(again) // the broker gives them again if this fails; they are dropped again
	}
	return nil
}

// done forgets entries whose effects are stored, and returns their
// deliveries to acknowledge. Called with in.mu held.
func (in *inbox) done(es []*entry) []broker.Delivery {
	var ds []broker.Delivery
	gone := make(map[*entry]bool, len(es))
	for _, e := range es {
		gone[e] = true
		in.seen.put(e.id, struct{}{})
		delete(in.byID, e.id)
		ds = append(ds, e.ds...)
	}
	kept := in.pending[:0]
	for _, e := range in.pending {
		if !gone[e] {
			kept = append(kept, e)
		}
	}
	clear(in.pending[len(kept):])
	in.pending = kept
	return ds
}

// ack acknowledges deliveries on the broker. A failure is not returned:
// what it covers is stored and remembered as seen, so the copies the
// broker gives again are dropped.
func (in *inbox) ack(ds []broker.Delivery) {
	if in.c != nil && len(ds) > 0 {
		_ = in.c.Ack(ds)
	}
}

func (in *inbox) close() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.c == nil {
		return nil
	}
	err := in.c.Close()
	in.c = nil
	return err
}
