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

// dropNatural is the natural-key value of g to drop from the index: g's
// own, while the index gives it to g.
func (r *Resolver) dropNatural(v View, g *store.Golden) (string, error) {
	val, ok := r.naturalValue(g.Entity, g.Fields)
	if !ok {
		return "", nil
	}
	cur, found, err := v.Natural(g.Entity, val)
	if err != nil || !found || cur != g.GID {
		return "", err
	}
	return val, nil
}

// route sends the record to every destination of the change, and makes
// what is in flight to the change's own system count for nothing. With
// changed set, a destination that maps none of the changed fields is
// skipped.
func (r *Resolver) route(c *store.Change, changed []string, o *Outcome) {
	o.Touch = true
	for _, dst := range r.cfg.Targets(c.Entity, c.System) {
		if r.maps[dst][c.Entity] == nil {
			continue
		}
		if changed != nil && !r.anyMapped(dst, c.Entity, changed) {
			continue
		}
		o.Send = append(o.Send, dst)
	}
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
