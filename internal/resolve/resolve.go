package resolve

import (
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
	w, err := r.begin(tx)
	if err != nil {
		return Result{}, err
	}
	if err := preload(tx, changes); err != nil {
		return Result{}, err
	}
	if err := w.loadHeld(changes); err != nil {
		return Result{}, err
	}
	for i := range changes {
		c := &store.Change{Change: changes[i]}
		c.Seq = 0
		if err := w.one(c); err != nil {
			return Result{}, err
		}
	}
	return Result{Counts: w.st, Unblocked: w.unblocked}, nil
}

// loadHeld marks the records of changes that have held changes already.
func (w *writer) loadHeld(changes []record.Change) error {
	keys := map[[2]string][]string{}
	for _, c := range changes {
		k := [2]string{c.System, c.Entity}
		keys[k] = append(keys[k], c.Key)
	}
	for k, ks := range keys {
		held, err := w.tx.HeldKeys(k[0], k[1], ks)
		if err != nil {
			return err
		}
		for key := range held {
			w.held[heldKey(k[0], k[1], key)] = true
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
	w, err := r.begin(tx)
	if err != nil {
		return nil, err
	}
	c := &store.Change{Change: record.Change{System: system, Entity: entity, Key: key, Op: record.Delete, GID: gid, At: r.Now()}}
	o := Outcome{GID: gid}
	if err := r.vanish(tx, c, gid, why, &o); err != nil {
		return nil, err
	}
	return w.st, w.write(c, o)
}

// RetryHeld resolves up to limit held changes again, oldest first; those
// whose parents are now known go through.
func (r *Resolver) RetryHeld(tx store.Tx, limit int) (Stats, error) {
	held, err := tx.HeldChanges(limit)
	if err != nil || len(held) == 0 {
		return Stats{}, err
	}
	w, err := r.begin(tx)
	if err != nil {
		return nil, err
	}
	// Every held record is released: its changes are retried in order,
	// and the first held again holds the rest behind it.
	for i := range held {
		if err := w.one(&held[i]); err != nil {
			return nil, err
		}
	}
	return w.st, nil
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

// deadErr is a capture failure that becomes a dead letter.
type deadErr struct {
	field string
	err   error
}

func (e *deadErr) Error() string { return e.err.Error() }

// holdErr means a referenced record is not known yet.
type holdErr struct{ why string }

func (e *holdErr) Error() string { return e.why }
