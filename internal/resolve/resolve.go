package resolve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tandemhub/tandem/internal/config"
	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Resolver holds the compiled model. It keeps no state between calls:
// what one call learns (which records have held changes, whether dead
// letters are open) lives in the store, and a call reads it there, in
// its own transaction, so a rolled-back transaction leaves nothing
// behind to reload. Calls are made one at a time (the store serialises
// write transactions anyway).
type Resolver struct {
	cfg     *config.Config
	maps    map[string]map[string]*mapping.Map // system → entity
	schemas map[string]*mapping.Schema
	fields  map[string]map[string]map[string]bool // system → entity → canonical fields
	// parents are the entities that references point at.
	parents map[string]bool
	log     *slog.Logger
	Now     func() time.Time
	// ReadsBack names the systems whose capture reads tandem's own
	// writes back and, after a restart, cannot tell them from its users'
	// (see connector.ReadsBack): a change of theirs holding what a queued
	// delivery sent there before Started (store.Tx.Sent), by an earlier
	// hub, is tandem's echo. Writes of this hub are the connector's to
	// tell: their content alone would take a user's edit back to an
	// earlier value for an echo.
	ReadsBack map[string]bool
	Started   time.Time
}

// pass is one call of the resolver, in one store transaction: the model,
// and what the call learns as it goes. It ends with the call.
type pass struct {
	*Resolver
	// held marks records with held changes (system/entity/key): a later
	// change of one waits behind them.
	held map[string]bool
	// openDead is whether capture dead letters may be open; while false,
	// resolving them is skipped.
	openDead bool
	// unblocked is whether the call linked a new key of a parent entity.
	unblocked bool
}

// begin starts a call in tx.
func (r *Resolver) begin(tx store.Tx) (*pass, error) {
	open, err := tx.HasOpenDead(store.StageCapture)
	return &pass{Resolver: r, held: map[string]bool{}, openDead: open}, err
}

// Result is what one call did.
type Result struct {
	Counts Stats
	// Unblocked says the call linked a new key of an entity that others
	// refer to: changes held for it may go through now (see RetryHeld).
	Unblocked bool
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
	r := &Resolver{cfg: cfg, maps: maps, schemas: schemas, log: log,
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

func heldKey(system, entity, key string) string { return system + "\x00" + entity + "\x00" + key }

// Resolve handles captured changes of one system, in order.
func (r *Resolver) Resolve(tx store.Tx, changes []record.Change) (Result, error) {
	p, err := r.begin(tx)
	if err != nil {
		return Result{}, err
	}
	if err := preload(tx, changes); err != nil {
		return Result{}, err
	}
	if err := p.loadHeld(tx, changes); err != nil {
		return Result{}, err
	}
	st := Stats{}
	for i := range changes {
		c := &store.Change{Change: changes[i]}
		c.Seq = 0
		if err := p.one(tx, c, st); err != nil {
			return Result{}, err
		}
	}
	return Result{Counts: st, Unblocked: p.unblocked}, nil
}

// loadHeld marks the records of changes that have held changes already.
func (p *pass) loadHeld(tx store.Tx, changes []record.Change) error {
	keys := map[[2]string][]string{}
	for _, c := range changes {
		k := [2]string{c.System, c.Entity}
		keys[k] = append(keys[k], c.Key)
	}
	for k, ks := range keys {
		held, err := tx.HeldKeys(k[0], k[1], ks)
		if err != nil {
			return err
		}
		for key := range held {
			p.held[heldKey(k[0], k[1], key)] = true
		}
	}
	return nil
}

// Vanished records that system no longer holds the record gid of entity
// that its key named: the system's users deleted it, as tandem found out
// while writing there (the system gave the key to a new record, or
// answered that the record is gone). The delete reaches every other
// system, as a captured delete would.
func (r *Resolver) Vanished(tx store.Tx, system, entity, key, gid, why string) (Stats, error) {
	p, err := r.begin(tx)
	if err != nil {
		return nil, err
	}
	st := Stats{}
	c := &store.Change{Change: record.Change{System: system, Entity: entity, Key: key, Op: record.Delete, GID: gid, At: r.Now()}}
	return st, p.vanish(tx, c, gid, why, st.of(system, entity))
}

// RetryHeld resolves up to limit held changes again, oldest first; those
// whose parents are now known go through.
func (r *Resolver) RetryHeld(tx store.Tx, limit int) (Stats, error) {
	st := Stats{}
	held, err := tx.HeldChanges(limit)
	if err != nil || len(held) == 0 {
		return st, err
	}
	p, err := r.begin(tx)
	if err != nil {
		return nil, err
	}
	// Every held record is released: its changes are retried in order,
	// and the first held again holds the rest behind it.
	for i := range held {
		if err := p.one(tx, &held[i], st); err != nil {
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

// resolveDead marks dead letters of c's record resolved, now that a
// change of it went through.
func (r *pass) resolveDead(tx store.Tx, c *store.Change) error {
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
func (r *pass) one(tx store.Tx, c *store.Change, st Stats) error {
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
	if r.held[hk] {
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
		r.held[hk] = true
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
func (r *pass) finish(tx store.Tx, c *store.Change, s store.State, note string, cnt *store.Count) error {
	c.State, c.Note = s, note
	if r.log.Enabled(context.Background(), slog.LevelDebug) {
		r.log.Debug("resolved", "system", c.System, "entity", c.Entity, "key", c.Key, "gid", c.GID, "op", c.Op,
			"state", s, "note", note, "at", c.At, "fields", c.Fields)
	}
	if s == store.Dropped {
		cnt.Dropped++
	}
	if c.Seq != 0 {
		return tx.SetState(c.Seq, s, note)
	}
	return tx.Append(c)
}
