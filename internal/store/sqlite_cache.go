package store

import "sync"

// goldenCache keeps recently written golden records in memory across
// write transactions, so that the next change of a record reads it
// without a query or a decode. Reads (View) do not use it: a delivery
// must see the golden record and its queue entry from one snapshot. Only committed records go in; the
// hub is the only process that writes golden records, so what is here
// is never older than the file. Entries are never changed in place.
type goldenCache struct {
	mu  sync.RWMutex
	m   map[goldKey]*Golden
	max int
}

func newGoldenCache(max int) *goldenCache {
	return &goldenCache{m: map[goldKey]*Golden{}, max: max}
}

func (c *goldenCache) get(k goldKey) (*Golden, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	g, ok := c.m[k]
	return g, ok
}

// put adds records a transaction has committed.
func (c *goldenCache) put(gs []*Golden) {
	if len(gs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(gs) > c.max {
		clear(c.m) // cheaper than tracking age; the file has everything
	}
	for _, g := range gs {
		c.m[goldKey{g.Entity, g.GID}] = g
	}
}
