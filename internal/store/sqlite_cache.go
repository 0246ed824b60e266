package store

import (
	"sync"

	"github.com/tandemhub/tandem/internal/record"
)

// goldenCache keeps recently written golden records in memory across
// write transactions, so that the next change of a record reads it
// without a query or a decode. Reads (View) do not use it: a delivery
// must see the golden record and its queue entry from one snapshot. Only
// committed records go in; the hub is the only process that writes
// golden records, so what is here is never older than the file. Entries
// are never changed in place. The cache holds at most max bytes, as
// estimated by goldenSize: memory stays bounded however many records
// the store keeps.
type goldenCache struct {
	mu    sync.RWMutex
	m     map[goldKey]*Golden
	bytes int
	max   int
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
	add := 0
	for _, g := range gs {
		add += goldenSize(g)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+add > c.max {
		clear(c.m) // cheaper than tracking age; the file has everything
		c.bytes = 0
	}
	for _, g := range gs {
		k := goldKey{g.Entity, g.GID}
		if old, ok := c.m[k]; ok {
			c.bytes -= goldenSize(old)
		}
		c.m[k] = g
	}
	c.bytes += add
}

// goldenSize estimates the bytes a golden record holds in memory: its
// strings, and the maps and interfaces that hold them.
func goldenSize(g *Golden) int {
	const perEntry = 48 // a map slot, a string header, an interface
	n := 160 + len(g.Entity) + len(g.GID) + len(g.FlipPeer)
	for k, v := range g.Fields {
		n += perEntry + len(k) + valueSize(v)
	}
	for k, v := range g.Sources {
		n += perEntry + len(k) + len(v)
	}
	return n
}

func valueSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x)
	case record.Fields:
		n := 48
		for k, e := range x {
			n += 48 + len(k) + valueSize(e)
		}
		return n
	case map[string]any:
		return valueSize(record.Fields(x))
	case []any:
		n := 24
		for _, e := range x {
			n += 16 + valueSize(e)
		}
		return n
	}
	return 16
}
