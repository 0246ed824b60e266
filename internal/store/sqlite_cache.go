package store

import (
	"fmt"
	"sync"

	json "github.com/goccy/go-json"
)

// goldenCache keeps recently written golden records in memory across
// write transactions, so that the next change of a record reads it
// without a query. Reads (View) do not use it: a delivery must see the
// golden record and its queue entry from one snapshot. Only committed
// records go in; the hub is the only process that writes golden records,
// so what is here is never older than the file. Records are kept as the
// store writes them (their fields encoded), three to five times smaller
// than decoded, and decoded on each read: a read never shares memory
// with another. The cache holds at most max bytes, so memory stays
// bounded however many records the store keeps.
type goldenCache struct {
	mu    sync.RWMutex
	m     map[goldKey]*packed
	bytes int
	max   int
}

// packed is a golden record as the golden table holds it.
type packed struct {
	entity, gid     string
	fields, sources []byte
	deleted         bool
	ver             int64
	updated, at     int64
	flips           int
	flipPeer        string
}

// size estimates the bytes p takes in memory, with its map entry.
func (p *packed) size() int {
	return 160 + len(p.entity) + len(p.gid) + len(p.fields) + len(p.sources) + len(p.flipPeer)
}

func (p *packed) head() Head { return Head{Ver: p.ver, Deleted: p.deleted} }

// golden decodes p.
func (p *packed) golden() (*Golden, error) {
	g := &Golden{Entity: p.entity, GID: p.gid, Deleted: p.deleted, Ver: p.ver,
		Updated: fromNanos(p.updated), At: fromNanos(p.at), Flips: p.flips, FlipPeer: p.flipPeer}
	var err error
	if g.Fields, err = decodeFields(p.fields); err != nil {
		return nil, err
	}
	if len(p.sources) > 0 {
		if err := json.Unmarshal(p.sources, &g.Sources); err != nil {
			return nil, fmt.Errorf("decode golden sources: %w", err)
		}
	}
	return g, nil
}

func newGoldenCache(max int) *goldenCache {
	return &goldenCache{m: map[goldKey]*packed{}, max: max}
}

func (c *goldenCache) get(k goldKey) (*packed, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.m[k]
	return p, ok
}

// put adds records a transaction has committed.
func (c *goldenCache) put(ps []*packed) {
	if len(ps) == 0 {
		return
	}
	add := 0
	for _, p := range ps {
		add += p.size()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+add > c.max {
		clear(c.m) // cheaper than tracking age; the file has everything
		c.bytes = 0
	}
	for _, p := range ps {
		k := goldKey{p.entity, p.gid}
		if old, ok := c.m[k]; ok {
			c.bytes -= old.size()
		}
		c.m[k] = p
	}
	c.bytes += add
}
