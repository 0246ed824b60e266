package resolve

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"tandem/internal/config"
	"tandem/internal/mapping"
	"tandem/internal/record"
	"tandem/internal/store"
)

// Resolver holds the compiled model. It is used by one goroutine at a
// time (the store serialises write transactions anyway).
type Resolver struct {
	cfg     *config.Config
	maps    map[string]map[string]*mapping.Map // system → entity
	schemas map[string]*mapping.Schema
	fields  map[string]map[string]map[string]bool // system → entity → canonical fields
	mu      sync.Mutex                            // guards held; Resolve calls hold it throughout
	held    map[string]int                        // system/entity/key → held changes
	// openDead is whether capture dead letters may be open in the
	// current transaction; while false, resolving them is skipped.
	openDead bool
	// parents are the entities that references point at; unblocked is
	// whether the last Resolve linked a new key of one of them.
	parents   map[string]bool
	unblocked bool
	log       *slog.Logger
	Now       func() time.Time
}

// Stats counts what one Resolve call did, per entity.
type Stats map[string]*store.Count

func (s Stats) of(system, entity string) *store.Count {
	c := s[entity]
	if c == nil {
		c = &store.Count{System: system, Entity: entity}
		s[entity] = c
	}
	return c
}

// New builds a resolver from compiled mappings (system → entity → map)
// and schemas (entity → schema).
func New(cfg *config.Config, maps map[string]map[string]*mapping.Map, schemas map[string]*mapping.Schema, log *slog.Logger) *Resolver {
	r := &Resolver{cfg: cfg, maps: maps, schemas: schemas, log: log, held: map[string]int{},
		fields: map[string]map[string]map[string]bool{}, Now: time.Now}
	r.parents = map[string]bool{}
	for sys, ents := range maps {
		for _, m := range ents {
			for _, ent := range m.Refs {
				r.parents[ent] = true
			}
		}
		r.fields[sys] = map[string]map[string]bool{}
		for ent, m := range ents {
			set := map[string]bool{}
			for _, f := range m.FieldNames() {
				set[f] = true
			}
			r.fields[sys][ent] = set
		}
	}
	return r
}

// LoadHeld restores which records have held changes, after a restart.
func (r *Resolver) LoadHeld(tx store.Tx) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	held, err := tx.HeldChanges(1 << 30)
	if err != nil {
		return fmt.Errorf("load held changes: %w", err)
	}
	r.held = map[string]int{}
	for _, c := range held {
		r.held[heldKey(c.System, c.Entity, c.Key)]++
	}
	return nil
}

func heldKey(system, entity, key string) string { return system + "\x00" + entity + "\x00" + key }

// Resolve handles captured changes of one system, in order.
func (r *Resolver) Resolve(tx store.Tx, changes []record.Change) (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{}
	if err := r.lookForDead(tx); err != nil {
		return nil, err
	}
	if err := preload(tx, changes); err != nil {
		return nil, err
	}
	r.unblocked = false
	for i := range changes {
		c := &store.Change{Change: changes[i]}
		c.Seq = 0
		if err := r.one(tx, c, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Unblocked reports whether the last Resolve linked a key that held
// changes may have been waiting for: only then is RetryHeld worth it at
// once (a periodic retry covers keys linked by delivery).
func (r *Resolver) Unblocked() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unblocked && len(r.held) > 0
}

// RetryHeld resolves held changes again, oldest first; those whose
// parents are now known go through.
func (r *Resolver) RetryHeld(tx store.Tx, limit int) (Stats, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{}
	if len(r.held) == 0 {
		return st, nil
	}
	held, err := tx.HeldChanges(limit)
	if err != nil {
		return nil, err
	}
	if err := r.lookForDead(tx); err != nil {
		return nil, err
	}
	// Release every held key first so that its changes are retried in
	// order rather than re-held behind each other.
	for _, c := range held {
		delete(r.held, heldKey(c.System, c.Entity, c.Key))
	}
	for i := range held {
		if err := r.one(tx, &held[i], st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// preload reads the links and golden records of a batch's records at once.
func preload(tx store.Tx, changes []record.Change) error {
	keys := map[[2]string][]string{}
	for _, c := range changes {
		k := [2]string{c.System, c.Entity}
		keys[k] = append(keys[k], c.Key)
	}
	for k, ks := range keys {
		if err := tx.Preload(k[1], k[0], ks); err != nil {
			return err
		}
	}
	return nil
}

func (r *Resolver) lookForDead(tx store.Tx) (err error) {
	r.openDead, err = tx.HasOpenDead(store.StageCapture)
	return err
}

// resolveDead marks dead letters of c's record resolved, now that a
// change of it went through.
func (r *Resolver) resolveDead(tx store.Tx, c *store.Change) error {
	if !r.openDead {
		return nil
	}
	return tx.ResolveDead(store.StageCapture, c.System, c.Entity, c.Key)
}

// deadErr is a capture failure that becomes a dead letter.
type deadErr struct {
	field string
	err   error
}

func (e *deadErr) Error() string { return e.err.Error() }

// holdErr means a referenced record is not known yet.
type holdErr struct{ why string }

func (e *holdErr) Error() string { return e.why }

// one resolves c. A c with Seq != 0 is already in the log (a held change).
func (r *Resolver) one(tx store.Tx, c *store.Change, st Stats) error {
	m := r.maps[c.System][c.Entity]
	if m == nil {
		return fmt.Errorf("resolve: system %q has no mapping for entity %q", c.System, c.Entity)
	}
	cnt := st.of(c.System, c.Entity)
	if c.Seq == 0 {
		cnt.Captured++
		cnt.LastCapture = r.Now()
	}
	hk := heldKey(c.System, c.Entity, c.Key)
	if r.held[hk] > 0 {
		return r.finish(tx, c, store.Held, "waiting behind an earlier held change of the same record", cnt)
	}
	var err error
	if c.Op == record.Delete {
		err = r.delete(tx, c, cnt)
	} else {
		err = r.upsert(tx, c, m, cnt)
	}
	var de *deadErr
	var he *holdErr
	switch {
	case errors.As(err, &he):
		r.held[hk]++
		return r.finish(tx, c, store.Held, he.why, cnt)
	case errors.As(err, &de):
		msg := fmt.Sprintf("%s %s %s: %v", c.System, c.Entity, c.Key, de.err)
		if err := r.finish(tx, c, store.Dead, msg, cnt); err != nil {
			return err
		}
		cnt.Dead++
		r.openDead = true
		return tx.AddDead(&store.DeadLetter{Stage: store.StageCapture, System: c.System, Entity: c.Entity,
			Key: c.Key, GID: c.GID, Op: c.Op, Fields: c.Fields, Field: de.field, Error: msg, At: r.Now()})
	}
	return err
}

// finish writes c to the log in state s (or updates it if already logged).
func (r *Resolver) finish(tx store.Tx, c *store.Change, s store.State, note string, cnt *store.Count) error {
	c.State, c.Note = s, note
	if s == store.Dropped {
		cnt.Dropped++
	}
	if c.Seq != 0 {
		return tx.SetState(c.Seq, s, note)
	}
	return tx.Append(c)
}

func (r *Resolver) delete(tx store.Tx, c *store.Change, cnt *store.Count) error {
	gid, ok, err := tx.GID(c.Entity, c.System, c.Key)
	if err != nil {
		return err
	}
	if !ok {
		return r.finish(tx, c, store.Dropped, "delete of a record tandem never knew", cnt)
	}
	c.GID = gid
	g, err := tx.Golden(c.Entity, gid)
	if err != nil {
		return err
	}
	if g == nil || g.Deleted {
		return r.finish(tx, c, store.Dropped, "already deleted", cnt)
	}
	if err := r.finish(tx, c, store.Resolved, "", cnt); err != nil {
		return err
	}
	if err := r.dropNatural(tx, g); err != nil {
		return err
	}
	g.Deleted, g.Ver, g.Updated = true, c.Seq, r.Now()
	if err := tx.PutGolden(g); err != nil {
		return err
	}
	if err := r.resolveDead(tx, c); err != nil {
		return err
	}
	return r.route(tx, c, g, nil)
}

func (r *Resolver) upsert(tx store.Tx, c *store.Change, m *mapping.Map, cnt *store.Count) error {
	canon, err := m.ToCanonical(c.Fields)
	if err != nil {
		var fe *mapping.FieldError
		if errors.As(err, &fe) {
			return &deadErr{field: fe.Field, err: err}
		}
		return &deadErr{err: err}
	}
	for f, ent := range m.Refs {
		v, ok := canon[f].(string)
		if !ok || v == "" {
			continue
		}
		pg, ok, err := tx.GID(ent, c.System, v)
		if err != nil {
			return err
		}
		if !ok {
			return &holdErr{why: fmt.Sprintf("waiting for %s %s of %s (field %q)", ent, v, c.System, f)}
		}
		canon[f] = pg
	}
	id, err := r.identify(tx, c, canon)
	if err != nil {
		return err
	}
	gid, linked, fresh, g := id.gid, id.linked, id.fresh, id.g
	if g != nil && g.Deleted {
		// Delete wins: the record was deleted elsewhere; bring this system in line.
		c.GID = gid
		if err := r.finish(tx, c, store.Dropped, "record was deleted; the delete wins", cnt); err != nil {
			return err
		}
		return tx.Enqueue(c.System, c.Entity, gid, g.Ver, r.Now())
	}
	merged := record.Fields{}
	if g != nil {
		for k, v := range g.Fields {
			merged[k] = v
		}
	}
	// Where the source says which columns its users changed, only the
	// fields read from them are news; the rest of its row may be stale
	// (read before tandem wrote a newer value there) and must not undo
	// other systems' changes. If it is, the source gets the record back.
	var only map[string]bool
	if c.Changed != nil && g != nil && linked {
		only = m.Changed(c.Changed)
	}
	var changed []string
	stale := false
	for k, v := range canon {
		old, ok := merged[k]
		if only != nil && !only[k] {
			// An update that changed no mapped column sends nothing back:
			// were a field not to survive the trip to this system and back,
			// that would never end.
			stale = stale || (ok && len(c.Changed) > 0 && !record.Equal(old, v))
			continue
		}
		if !ok || !record.Equal(old, v) {
			changed = append(changed, k)
		}
		merged[k] = v
	}
	if sch := r.schemas[c.Entity]; sch != nil {
		if err := sch.Validate(merged); err != nil {
			var ie *mapping.InvalidError
			if errors.As(err, &ie) {
				return &deadErr{field: ie.Field, err: err}
			}
			return &deadErr{err: err}
		}
	}
	c.GID = gid
	if !linked && r.parents[c.Entity] {
		r.unblocked = true
	}
	switch {
	case fresh:
		if err := tx.NewLink(c.Entity, c.System, c.Key, gid); err != nil {
			return err
		}
	case !linked:
		if err := tx.PutLink(c.Entity, c.System, c.Key, gid); err != nil {
			return err
		}
	}
	if err := r.resolveDead(tx, c); err != nil {
		return err
	}
	if g != nil && len(changed) == 0 {
		if stale {
			if err := tx.Enqueue(c.System, c.Entity, gid, g.Ver, r.Now()); err != nil {
				return err
			}
		}
		return r.finish(tx, c, store.Dropped, "no change (echo or no-op)", cnt)
	}
	if err := r.finish(tx, c, store.Resolved, "", cnt); err != nil {
		return err
	}
	if g == nil {
		g = &store.Golden{Entity: c.Entity, GID: gid, Sources: map[string]string{}}
	} else if err := r.dropNatural(tx, g); err != nil {
		return err
	}
	if g.Sources == nil {
		g.Sources = map[string]string{}
	}
	for _, k := range changed {
		g.Sources[k] = c.System
	}
	created := g.Ver == 0
	g.Fields, g.Ver, g.Updated = merged, c.Seq, r.Now()
	if err := tx.PutGolden(g); err != nil {
		return err
	}
	if v, ok := r.naturalValue(c.Entity, merged); ok {
		if err := tx.PutNatural(c.Entity, v, gid); err != nil {
			return err
		}
	}
	if created {
		changed = nil // a create goes everywhere
	}
	if err := r.route(tx, c, g, changed); err != nil {
		return err
	}
	if stale {
		return tx.Enqueue(c.System, c.Entity, gid, g.Ver, r.Now())
	}
	return nil
}

// identity is what identify found out about a captured record.
type identity struct {
	gid    string
	linked bool          // the system's key is linked to gid already
	fresh  bool          // gid was made just now: a record tandem never saw
	g      *store.Golden // its golden record, if any
}

// identify finds the record's global id: its link, the id the source
// reported, a natural-key match, or a new id.
func (r *Resolver) identify(tx store.Tx, c *store.Change, canon record.Fields) (identity, error) {
	gid, ok, err := tx.GID(c.Entity, c.System, c.Key)
	if err != nil {
		return identity{}, err
	}
	id := identity{gid: gid, linked: ok}
	if !ok && c.GID != "" {
		id.gid, ok = c.GID, true
	}
	if !ok {
		if v, has := r.naturalValue(c.Entity, canon); has {
			if id.gid, ok, err = tx.Natural(c.Entity, v); err != nil {
				return identity{}, err
			}
			if ok {
				// Only adopt a match this system is not already linked to
				// under another key.
				k, other, err := tx.Key(c.Entity, id.gid, c.System)
				if err != nil {
					return identity{}, err
				}
				ok = !other || k == c.Key
			}
		}
	}
	if !ok {
		return identity{gid: ulid.Make().String(), fresh: true}, nil
	}
	id.g, err = tx.Golden(c.Entity, id.gid)
	return id, err
}

// naturalValue is the entity's natural key of f, if it has one and every
// part is present.
func (r *Resolver) naturalValue(entity string, f record.Fields) (string, bool) {
	e := r.cfg.Entities[entity]
	if e == nil || len(e.Match) == 0 {
		return "", false
	}
	parts := make([]string, len(e.Match))
	for i, k := range e.Match {
		v := f[k]
		if v == nil {
			return "", false
		}
		parts[i] = strings.ToLower(strings.TrimSpace(mapping.Text(v)))
		if parts[i] == "" {
			return "", false
		}
	}
	return strings.Join(parts, "\x1f"), true
}

func (r *Resolver) dropNatural(tx store.Tx, g *store.Golden) error {
	if v, ok := r.naturalValue(g.Entity, g.Fields); ok {
		if cur, found, err := tx.Natural(g.Entity, v); err != nil {
			return err
		} else if found && cur == g.GID {
			return tx.DeleteNatural(g.Entity, v)
		}
	}
	return nil
}

// route enqueues the record for every destination of the change. With
// changed set, a destination that maps none of the changed fields is skipped.
func (r *Resolver) route(tx store.Tx, c *store.Change, g *store.Golden, changed []string) error {
	// A delivery to the source itself may be in flight with an older
	// state; make it count for nothing so the source gets the new one.
	if err := tx.Touch(c.System, c.Entity, g.GID, g.Ver); err != nil {
		return err
	}
	for _, dst := range r.cfg.Targets(c.Entity, c.System) {
		if r.maps[dst][c.Entity] == nil {
			continue
		}
		if changed != nil && !r.anyMapped(dst, c.Entity, changed) {
			continue
		}
		if err := tx.Enqueue(dst, c.Entity, g.GID, g.Ver, r.Now()); err != nil {
			return err
		}
	}
	return nil
}

func (r *Resolver) anyMapped(system, entity string, fields []string) bool {
	set := r.fields[system][entity]
	for _, f := range fields {
		if set[f] {
			return true
		}
	}
	return false
}

// Held reports the records that have held changes, for status.
func (r *Resolver) Held() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.held))
	for k := range r.held {
		out = append(out, strings.ReplaceAll(k, "\x00", " "))
	}
	sort.Strings(out)
	return out
}
