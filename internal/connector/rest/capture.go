package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// Capture is the change capture of one API system: its feeds, its delete
// scans and the records webhooks named. It implements the Changes and Ack
// of connector.Source and the position methods the hub uses to keep the
// cursors in its store.
type Capture struct {
	System string
	Feeds  []*Feed
	Scans  []*Scan
	Pulls  *Pulls
	// Fetch reads the current state of records of a table (for pulls).
	Fetch func(ctx context.Context, table string, keys []string) ([]record.Change, error)
	// Now is the system's clock, used by Begin; nil uses the local clock.
	Now func(ctx context.Context) (time.Time, error)
	// Overlap is how far before now Begin starts the feeds.
	Overlap time.Duration
	Log     *slog.Logger
}

// ticket is the Ack token of a batch.
type ticket struct {
	pulls []Taken
	feeds map[*Feed][]Item
	scans map[*Scan]*scanTicket
}

// Position is what the hub stores for an API system: each feed's cursor
// and each scan's id set.
type Position struct {
	Feeds map[string]*Stamp   `json:"feeds,omitempty"`
	Scans map[string][]string `json:"scans,omitempty"`
	// Carried is, per scan, the global id each id of its baseline
	// carried when listed (ids carrying none are left out).
	Carried map[string]map[string]string `json:"carried,omitempty"`
	// Seen is, per feed, the records it acknowledged within its overlap.
	Seen map[string]map[string]Seen `json:"seen,omitempty"`
	// Stamping is, per feed, what it learnt of the system's stamps
	// (StampingStamps or StampingKeeps; unknown is left out).
	Stamping map[string]Stamping `json:"stamping,omitempty"`
}

func (p *Position) carry(scan string, carried map[string]string) {
	if len(carried) == 0 {
		return
	}
	if p.Carried == nil {
		p.Carried = map[string]map[string]string{}
	}
	p.Carried[scan] = carried
}

// Changes returns up to max changes: records webhooks named (fetched
// now), then changes from the feeds in order, then deletes from scans
// that are due. Nothing moves until Ack.
func (c *Capture) Changes(ctx context.Context, max int) (connector.Batch, error) {
	if max <= 0 {
		max = 500
	}
	t := &ticket{feeds: map[*Feed][]Item{}, scans: map[*Scan]*scanTicket{}}
	var out []record.Change
	if c.Pulls != nil && c.Fetch != nil {
		t.pulls = c.Pulls.Take(max)
		for table, keys := range ByTable(t.pulls) {
			cs, err := c.Fetch(ctx, table, keys)
			if err != nil {
				return connector.Batch{}, fmt.Errorf("fetch records named by notifications: %w", err)
			}
			out = append(out, cs...)
		}
	}
	for _, f := range c.Feeds {
		if len(out) >= max {
			break
		}
		items, err := f.poll(ctx, max-len(out))
		if err != nil {
			return connector.Batch{}, fmt.Errorf("poll %s: %w", f.Name, err)
		}
		if len(items) == 0 {
			continue
		}
		t.feeds[f] = items
		for _, it := range items {
			out = append(out, it.Change)
		}
	}
	now := time.Now()
	for _, s := range c.Scans {
		if len(out) >= max || !s.due(now) {
			continue
		}
		dels, st, err := s.run(ctx)
		if err != nil {
			return connector.Batch{}, fmt.Errorf("scan %s for deletes: %w", s.Name, err)
		}
		if c.Log != nil {
			c.Log.Debug("scanned for deletes", "scan", s.Name, "deleted", len(dels))
		}
		if len(dels) > 0 {
			t.scans[s] = st
			out = append(out, dels...)
		}
	}
	if len(out) == 0 && len(t.pulls) == 0 {
		return connector.Batch{}, nil
	}
	return connector.Batch{Changes: out, Ack: t}, nil
}

// Ack moves the cursors past b and tells webhooks their records are stored.
func (c *Capture) Ack(_ context.Context, b connector.Batch) error {
	t, ok := b.Ack.(*ticket)
	if !ok {
		if b.Ack == nil {
			return nil
		}
		return fmt.Errorf("ack to %s: not a token of this system (%T)", c.System, b.Ack)
	}
	for f, items := range t.feeds {
		f.ack(items)
	}
	for s, st := range t.scans {
		s.commit(st)
	}
	if c.Pulls != nil {
		c.Pulls.Done(t.pulls)
	}
	return nil
}

// Begin is the position to start from when none is stored: the feeds
// start at the system's clock now, less the overlap, and the scans at the
// ids held now. The hub stores it before the initial snapshot, so changes
// made during the snapshot are read afterwards.
func (c *Capture) Begin(ctx context.Context) (connector.Position, error) {
	p := Position{Feeds: map[string]*Stamp{}, Scans: map[string][]string{}}
	if len(c.Feeds) > 0 {
		now := time.Now()
		if c.Now != nil {
			var err error
			if now, err = c.Now(ctx); err != nil {
				return "", fmt.Errorf("read the clock of %s: %w", c.System, err)
			}
		}
		start := TimeStamp(now).Back(c.Overlap + 2*time.Second)
		for _, f := range c.Feeds {
			s := start
			p.Feeds[f.Name] = &s
		}
	}
	for _, s := range c.Scans {
		listed, err := s.IDs(ctx)
		if err != nil {
			return "", fmt.Errorf("list the ids of %s: %w", s.Name, err)
		}
		set := make(map[string]string, len(listed))
		for _, l := range listed {
			set[l.ID] = l.GID
		}
		ids, carried := sorted(set)
		p.Scans[s.Name] = ids
		p.carry(s.Name, carried)
	}
	b, err := json.Marshal(p)
	return connector.Position(b), err
}

// Resume sets the cursors from a stored position.
func (c *Capture) Resume(_ context.Context, pos connector.Position) error {
	var p Position
	if pos != "" {
		if err := json.Unmarshal([]byte(pos), &p); err != nil {
			return fmt.Errorf("read the stored position of %s: %w", c.System, err)
		}
	}
	for _, f := range c.Feeds {
		if s, ok := p.Feeds[f.Name]; ok && s != nil {
			f.set(*s, true, p.Stamping[f.Name], p.Seen[f.Name])
		} else {
			f.set(Stamp{}, false, p.Stamping[f.Name], nil)
		}
	}
	for _, s := range c.Scans {
		if ids, ok := p.Scans[s.Name]; ok {
			s.resume(ids, p.Carried[s.Name])
		}
	}
	return nil
}

// Position is the position after b: what the hub stores with it.
func (c *Capture) Position(b connector.Batch) connector.Position {
	t, _ := b.Ack.(*ticket)
	p := Position{Feeds: map[string]*Stamp{}, Scans: map[string][]string{}}
	for _, f := range c.Feeds {
		var s Stamp
		var has bool
		var seen map[string]read
		if t != nil && t.feeds[f] != nil {
			s, has = f.advanced(t.feeds[f])
			seen = f.seenAfter(t.feeds[f], s)
		} else {
			s, has = f.get()
			seen = f.seenNow()
		}
		if has {
			p.Feeds[f.Name] = &s
			if k := kept(seen); k != nil {
				if p.Seen == nil {
					p.Seen = map[string]map[string]Seen{}
				}
				p.Seen[f.Name] = k
			}
		}
		if st := f.Stamping(); st != StampingUnknown {
			if p.Stamping == nil {
				p.Stamping = map[string]Stamping{}
			}
			p.Stamping[f.Name] = st
		}
	}
	for _, s := range c.Scans {
		if t != nil && t.scans[s] != nil {
			ids, carried := s.after(t.scans[s])
			p.Scans[s.Name] = ids
			p.carry(s.Name, carried)
		} else if ids, carried, ok := s.snapshot(); ok {
			p.Scans[s.Name] = ids
			p.carry(s.Name, carried)
		}
	}
	out, _ := json.Marshal(p)
	return connector.Position(out)
}
