package resolve

import (
	"strings"

	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

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

func (r *pass) dropNatural(tx store.Tx, g *store.Golden) error {
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
func (r *pass) route(tx store.Tx, c *store.Change, g *store.Golden, changed []string) error {
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
