package memory

import (
	"context"
	"errors"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Store is an in-memory store.Store.
type Store struct {
	mu  sync.Mutex // serialises Update
	cur atomic.Pointer[state]
}

// New returns an empty store.
func New() *Store {
	s := &Store{}
	s.cur.Store(newState())
	return s
}

var errReadOnly = errors.New("memory store: write in a read-only transaction")

type linkKey struct{ entity, system, key string }
type gidKey struct{ entity, gid string }
type pair struct{ a, b string }

type link struct {
	gid string
	at  time.Time
}

type grave struct {
	gid string
	at  time.Time
}

type entry struct {
	store.Outbound
	sent []store.Sent
}

// state is everything the store holds. Maps hold values, never pointers
// shared with a caller, so a copy of the maps is a copy of the state.
type state struct {
	links    map[linkKey]link
	keys     map[gidKey]map[string]string // record → system → key
	gone     map[linkKey]grave
	aliases  map[pair]string
	naturals map[pair]string
	golden   map[gidKey]store.Golden
	changes  []store.Change     // in seq order
	outbound map[linkKey]entry  // (system, entity, gid)
	dead     []store.DeadLetter // in id order
	cursors  map[pair]string
	counts   map[pair]store.Count
	gen      int64 // the last generation given to deliveries
}

func newState() *state {
	return &state{links: map[linkKey]link{}, keys: map[gidKey]map[string]string{}, gone: map[linkKey]grave{},
		aliases: map[pair]string{}, naturals: map[pair]string{}, golden: map[gidKey]store.Golden{},
		outbound: map[linkKey]entry{}, cursors: map[pair]string{}, counts: map[pair]store.Count{}}
}

// clone copies st deeply enough that writes to the copy never reach st.
func (st *state) clone() *state {
	c := &state{links: maps.Clone(st.links), keys: make(map[gidKey]map[string]string, len(st.keys)),
		gone: maps.Clone(st.gone), aliases: maps.Clone(st.aliases), naturals: maps.Clone(st.naturals),
		golden: maps.Clone(st.golden), changes: append([]store.Change(nil), st.changes...),
		outbound: maps.Clone(st.outbound), dead: append([]store.DeadLetter(nil), st.dead...),
		cursors: maps.Clone(st.cursors), counts: maps.Clone(st.counts), gen: st.gen}
	for k, v := range st.keys {
		c.keys[k] = maps.Clone(v)
	}
	return c
}

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	t := &tx{st: s.cur.Load().clone(), write: true}
	if err := fn(t.roles()); err != nil {
		return err
	}
	s.cur.Store(t.st)
	return nil
}

// View implements store.Store.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn((&tx{st: s.cur.Load()}).roles())
}

// Close implements store.Store.
func (s *Store) Close() error { return nil }

// tx is one transaction: an Update's own copy of the state, or a View's
// look at the committed one.
type tx struct {
	st    *state
	write bool
	gen   int64 // the generation it gives deliveries, 0 until drawn
}

// drawGen is the generation this transaction gives the deliveries it
// queues or renews (see store.Outbound.Gen).
func (t *tx) drawGen() int64 {
	if t.gen == 0 {
		t.st.gen++
		t.gen = t.st.gen
	}
	return t.gen
}

func (t *tx) roles() store.Tx {
	return store.Tx{Identity: t, Tombstones: t, Aliases: t, Naturals: t, Preloader: t, Goldens: t, Log: t,
		Queue: t, Backlogs: t, SentNotes: t, DLQ: t, Cursors: t, Counters: t}
}

func (t *tx) writable() error {
	if !t.write {
		return errReadOnly
	}
	return nil
}

// fields copies f as the store keeps it: values normalized.
func fields(f record.Fields) record.Fields {
	if f == nil {
		return nil
	}
	out := make(record.Fields, len(f))
	for k, v := range f {
		out[k] = record.Normalize(v)
	}
	return out
}
