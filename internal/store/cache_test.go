package store

import (
	"fmt"
	"strings"
	"testing"
)

// The cache of golden records stays within its bytes however many
// records go through it, keeps the newest of each, and gives back what
// was put.
func TestGoldenCacheStaysWithinItsBytes(t *testing.T) {
	const limit = 1 << 20
	c := newGoldenCache(limit)
	peak := 0
	for i := range 20_000 {
		p := &packed{entity: "account", gid: fmt.Sprintf("G%05d", i%5000), ver: int64(i),
			fields:  []byte(fmt.Sprintf(`{"name":%q,"tier":"gold","n":%d}`, strings.Repeat("n", i%300), i)),
			sources: []byte(`{"name":"crm"}`)}
		c.put([]*packed{p})
		if c.bytes > limit {
			t.Fatalf("after %d records the cache holds %d bytes, more than %d", i+1, c.bytes, limit)
		}
		peak = max(peak, c.bytes)
		got, ok := c.get(goldKey{"account", p.gid})
		if !ok || got.ver != int64(i) {
			t.Fatalf("record %s: got %+v, want version %d", p.gid, got, i)
		}
		g, err := got.golden()
		if err != nil || g.Fields["n"] != float64(i) && g.Fields["n"] != int64(i) || g.Sources["name"] != "crm" || g.Ver != int64(i) {
			t.Fatalf("record %s decoded as %+v (%v)", p.gid, g, err)
		}
	}
	sum := 0
	for _, p := range c.m {
		sum += p.size()
	}
	if sum != c.bytes {
		t.Fatalf("the cache counts %d bytes, its records add up to %d", c.bytes, sum)
	}
	if peak < limit*9/10 {
		t.Fatalf("the cache never held more than %d of its %d bytes", peak, limit)
	}
}
