package rest

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/tandemhub/tandem/internal/record"
)

// Scan finds deletes in a system that keeps no record of them: every
// interval it lists every id and reports those that vanished since the
// last listing. A listing is not a snapshot: a record created while it
// runs may be missing from it, and paging shifts when records change,
// so an id missing from one listing is only a candidate. It is reported
// deleted only if it was known before the listing began and Gone
// confirms it, one by one.
type Scan struct {
	Name   string
	Entity string
	System string
	Every  time.Duration
	// IDs lists every id the system holds now, each with the global id
	// its record carries (tandem's lookup field), "" for none.
	IDs func(ctx context.Context) ([]Listed, error)
	// Gone returns which of ids the system no longer holds, asking for
	// each, with when it asked; nil trusts the listing.
	Gone func(ctx context.Context, ids []string) ([]Absent, error)
	// GIDOf returns the global id of the record tandem made under id
	// before a time, if it knows; a delete carries it. Nil knows none.
	GIDOf func(id string, before time.Time) string

	mu sync.Mutex
	// base holds the ids known to exist, each with the generation it was
	// last seen in: a listing only judges ids seen before it began.
	base map[string]uint64
	// carried is the global id each id of the baseline carried when last
	// listed (see Listed): the record a delete found by the scan is of,
	// even one whose key tandem never learnt (a create whose answer a
	// crash lost).
	carried map[string]string
	// replaced remembers, by global id, the id whose listing carried it
	// until the key was found holding another record (a system that gives
	// a freed key to the next create): that record was there, and is gone.
	replaced map[string]string
	gen      uint64
	has      bool
	last     time.Time
}

// Listed is one id of a scan's listing, with the global id its record
// carries ("" for none).
type Listed struct {
	ID, GID string
}

// Absent is an id a system answered it does not hold, and when tandem
// asked: the record was gone at some moment after At.
type Absent struct {
	ID string
	At time.Time
}

// scanTicket is what a scan found, to commit on ack.
type scanTicket struct {
	gen    uint64            // the generation the listing began in
	listed map[string]string // the ids it listed, with the global ids they carried
	gone   map[string]bool   // the ids confirmed gone
}

// due reports whether a scan should run now.
func (s *Scan) due(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.last) >= s.Every
}

// run lists the ids and returns deletes of those confirmed gone, with
// the ticket to commit on ack (nil when there is nothing to store).
func (s *Scan) run(ctx context.Context) ([]record.Change, *scanTicket, error) {
	s.mu.Lock()
	g0 := s.gen
	s.gen++
	s.mu.Unlock()
	ids, err := s.IDs(ctx)
	if err != nil {
		return nil, nil, err
	}
	t := &scanTicket{gen: g0, listed: make(map[string]string, len(ids)), gone: map[string]bool{}}
	for _, l := range ids {
		t.listed[l.ID] = l.GID
	}
	s.mu.Lock()
	s.last = time.Now()
	if !s.has {
		s.commitLocked(t)
		s.mu.Unlock()
		return nil, nil, nil
	}
	var candidates []string
	carried := map[string]string{}
	for id, g := range s.base {
		if _, listed := t.listed[id]; !listed && g <= g0 {
			candidates = append(candidates, id)
			if gid := s.carried[id]; gid != "" {
				carried[id] = gid
			}
		}
	}
	s.mu.Unlock()
	slices.Sort(candidates)
	listed := time.Now()
	var gone []Absent
	if s.Gone != nil && len(candidates) > 0 {
		if gone, err = s.Gone(ctx, candidates); err != nil {
			return nil, nil, err
		}
	} else {
		for _, id := range candidates {
			gone = append(gone, Absent{ID: id, At: listed})
		}
	}
	var out []record.Change
	for _, a := range gone {
		id := a.ID
		t.gone[id] = true
		c := record.Change{System: s.System, Entity: s.Entity, Key: id, Op: record.Delete, Version: a.At.UnixNano(), At: a.At,
			Observed: true}
		if c.GID = carried[id]; c.GID == "" && s.GIDOf != nil {
			c.GID = s.GIDOf(id, a.At)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		s.commit(t) // new ids join the baseline; nothing to store
		return nil, nil, nil
	}
	return out, t, nil
}

// Saw adds ids known to exist (records just created, captured or
// copied) to the baseline, so that one deleted before the next scan
// is still reported.
func (s *Scan) Saw(ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has {
		return
	}
	for _, id := range ids {
		s.base[id] = s.gen
	}
}

// Made adds an id tandem just made a record under, carrying gid, to the
// baseline (see Saw).
func (s *Scan) Made(id, gid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has {
		return
	}
	s.base[id] = s.gen
	s.carry(id, gid)
}

func (s *Scan) commit(t *scanTicket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commitLocked(t)
}

// commitLocked makes what t found the baseline: the listed ids are
// known, the confirmed deletes are not, unless seen again since.
func (s *Scan) commitLocked(t *scanTicket) {
	if s.base == nil {
		s.base = map[string]uint64{}
	}
	if s.carried == nil {
		s.carried = map[string]string{}
	}
	for id, gid := range t.listed {
		if g, ok := s.base[id]; !ok || g < t.gen {
			s.base[id] = t.gen
		}
		if s.base[id] <= t.gen {
			s.carry(id, gid) // unless seen since the listing began
		}
	}
	for id := range t.gone {
		if g, ok := s.base[id]; ok && g <= t.gen {
			delete(s.base, id)
			delete(s.carried, id)
		}
	}
	s.has = true
}

func (s *Scan) carry(id, gid string) {
	if old := s.carried[id]; old != "" && old != gid {
		if s.replaced == nil || len(s.replaced) > maxReplaced {
			s.replaced = map[string]string{}
		}
		s.replaced[old] = id
	}
	if gid == "" {
		delete(s.carried, id)
	} else {
		s.carried[id] = gid
	}
}

// after returns the baseline as it will be once t is committed, with
// the global ids its ids carry.
func (s *Scan) after(t *scanTicket) ([]string, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := map[string]string{}
	for id, g := range s.base {
		if !t.gone[id] || g > t.gen {
			set[id] = s.carried[id]
		}
	}
	for id, gid := range t.listed {
		if g, ok := s.base[id]; !ok || g <= t.gen {
			set[id] = gid
		} else {
			set[id] = s.carried[id]
		}
	}
	return sorted(set)
}

func sorted(set map[string]string) ([]string, map[string]string) {
	out := make([]string, 0, len(set))
	carried := map[string]string{}
	for id, gid := range set {
		out = append(out, id)
		if gid != "" {
			carried[id] = gid
		}
	}
	slices.Sort(out)
	return out, carried
}

// resume sets the baseline from a stored position.
func (s *Scan) resume(ids []string, carried map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = make(map[string]uint64, len(ids))
	s.carried = make(map[string]string, len(carried))
	for _, id := range ids {
		s.base[id] = s.gen
		s.carry(id, carried[id])
	}
	s.has = true
}

func (s *Scan) snapshot() ([]string, map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has {
		return nil, nil, false
	}
	set := make(map[string]string, len(s.base))
	for id := range s.base {
		set[id] = s.carried[id]
	}
	ids, carried := sorted(set)
	return ids, carried, true
}

// maxReplaced bounds the memory of replaced records; past it, it starts afresh.
const maxReplaced = 100_000

// Held returns an id under which the system held tandem's record gid
// when it was listed: the baseline's, or one that held it until the key
// was found holding another record.
func (s *Scan) Held(gid string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, g := range s.carried {
		if g == gid {
			return id, true
		}
	}
	id, ok := s.replaced[gid]
	return id, ok
}
