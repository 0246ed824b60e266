package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tandemhub/tandem/internal/record"
)

// The cache of golden records stays within its bytes however many
// records go through it, and keeps the newest of each.
func TestGoldenCacheStaysWithinItsBytes(t *testing.T) {
	const limit = 1 << 20
	c := newGoldenCache(limit)
	peak := 0
	for i := range 20_000 {
		g := &Golden{Entity: "account", GID: fmt.Sprintf("G%05d", i%5000), Ver: int64(i),
			Fields: record.Fields{"name": strings.Repeat("n", i%300), "tier": "gold", "n": i}}
		c.put([]*Golden{g})
		if c.bytes > limit {
			t.Fatalf("after %d records the cache holds %d bytes, more than %d", i+1, c.bytes, limit)
		}
		peak = max(peak, c.bytes)
		got, ok := c.get(goldKey{"account", g.GID})
		if !ok || got.Ver != int64(i) {
			t.Fatalf("record %s: got %+v, want version %d", g.GID, got, i)
		}
	}
	sum := 0
	for _, g := range c.m {
		sum += goldenSize(g)
	}
	if sum != c.bytes {
		t.Fatalf("the cache counts %d bytes, its records add up to %d", c.bytes, sum)
	}
	if peak < limit*9/10 {
		t.Fatalf("the cache never held more than %d of its %d bytes", peak, limit)
	}
}
