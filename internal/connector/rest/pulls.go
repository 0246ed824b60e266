package rest

import (
	"sort"
	"sync"
)

// Pulls holds the records named by webhook notifications until capture
// has fetched and stored them. A record named again while it waits is
// fetched once; a record named again after its fetch started is fetched
// again, since the fetch may have read the state before the newer change.
// It is safe for concurrent use.
type Pulls struct {
	mu      sync.Mutex
	gen     uint64
	pending map[PullKey]*pull
	order   []PullKey
}

// PullKey names a record: the resource (table) and its id.
type PullKey struct{ Table, Key string }

type pull struct {
	gen     uint64 // of the newest notification
	waiters []waiter
}

type waiter struct {
	gen uint64
	ch  chan struct{}
}

// Taken is a record handed to capture at a generation.
type Taken struct {
	PullKey
	gen uint64
}

// Add notes that a record changed and returns a channel closed once a
// fetch of it, started after this call, is stored.
func (p *Pulls) Add(table, key string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending == nil {
		p.pending = map[PullKey]*pull{}
	}
	p.gen++
	k := PullKey{table, key}
	pl := p.pending[k]
	if pl == nil {
		pl = &pull{}
		p.pending[k] = pl
		p.order = append(p.order, k)
	}
	pl.gen = p.gen
	ch := make(chan struct{})
	pl.waiters = append(pl.waiters, waiter{gen: p.gen, ch: ch})
	return ch
}

// Take hands out up to max waiting records, oldest first; they stay
// waiting until Done.
func (p *Pulls) Take(max int) []Taken {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Taken
	for _, k := range p.order {
		if len(out) == max {
			break
		}
		out = append(out, Taken{PullKey: k, gen: p.pending[k].gen})
	}
	return out
}

// Done releases records whose fetch is stored: waiters of notifications
// up to the fetched generation are told, and records not named again
// since stop waiting.
func (p *Pulls) Done(taken []Taken) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range taken {
		pl := p.pending[t.PullKey]
		if pl == nil {
			continue
		}
		keep := pl.waiters[:0]
		for _, w := range pl.waiters {
			if w.gen <= t.gen {
				close(w.ch)
			} else {
				keep = append(keep, w)
			}
		}
		pl.waiters = keep
		if pl.gen <= t.gen {
			delete(p.pending, t.PullKey)
		}
	}
	order := p.order[:0]
	for _, k := range p.order {
		if p.pending[k] != nil {
			order = append(order, k)
		}
	}
	p.order = order
}

// Len is the number of records waiting.
func (p *Pulls) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pending)
}

// ByTable groups taken records by table, keys sorted.
func ByTable(taken []Taken) map[string][]string {
	out := map[string][]string{}
	for _, t := range taken {
		out[t.Table] = append(out[t.Table], t.Key)
	}
	for _, ks := range out {
		sort.Strings(ks)
	}
	return out
}
