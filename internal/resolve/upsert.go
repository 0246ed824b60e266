package resolve

import (
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// upsert decides a create or update: it identifies the record, and
// unless that alone settles the change (settled), translates references,
// merges the change into the golden record and routes what changed.
func (r *Resolver) upsert(v View, c *store.Change, m *mapping.Map, again bool, o *Outcome) error {
	canon, err := m.ToCanonical(c.Fields)
	if err != nil {
		var fe *mapping.FieldError
		if errors.As(err, &fe) {
			return &deadErr{field: fe.Field, err: err}
		}
		return &deadErr{err: err}
	}
	id, err := r.identify(v, c, canon, again)
	if err != nil || id.vanish != nil {
		o.Vanish = id.vanish
		return err
	}
	o.GID, o.Alias = id.gid, id.alias
	if done, err := r.settled(v, c, id, o); done || err != nil {
		return err
	}
	g := id.g
	missing, cleared, err := r.translate(v, c, m, canon)
	if err != nil {
		return err
	}
	fieldMerge := r.cfg.Entities[c.Entity].FieldMerge()
	if !fieldMerge && g != nil && (older(c.At, g.At) || overwritten(c, g)) {
		r.lose(c, m, canon, id, missing != "", cleared, o)
		return nil
	}
	if missing != "" {
		return &holdErr{why: missing}
	}
	merged, changed, stale := r.merge(c, m, canon, g, id.linked, fieldMerge)
	var fl flip
	if g != nil && len(changed) > 0 {
		if fl.n, fl.peer, err = r.flipped(c, g, merged, changed); err != nil {
			return err
		}
	}
	// A reference to a deleted record was cleared: the source's row
	// still holds it and gets the record back.
	stale = stale || cleared
	if err := r.validate(c.Entity, merged); err != nil {
		return err
	}
	o.Unblocked = !id.linked && r.parents[c.Entity]
	o.Link = link(c, id)
	o.ResolveDead = true
	if g != nil && len(changed) == 0 {
		r.unchanged(c, g, stale, fieldMerge, o)
		return nil
	}
	return r.changed(v, c, g, merged, changed, fl, stale, o)
}

// settled decides a change whose outcome its identity decides alone: a
// read from before the record went from the system, tandem's own write
// come back, a change of a record deleted elsewhere. It reports whether
// it did.
func (r *Resolver) settled(v View, c *store.Change, id identity, o *Outcome) (bool, error) {
	gid, g := id.gid, id.g
	if id.earlier {
		o.finish(store.Dropped, "a read of an earlier record under key "+c.Key+
			", from before tandem's record got the key; that record is gone from "+c.System)
		return true, nil
	}
	if id.stale {
		o.finish(store.Dropped, "read before the record went from "+c.System+"; the delete wins")
		return true, nil
	}
	if !c.Echo && !c.UsersStamp && g != nil && r.ReadsBack[c.System] {
		var err error
		if o.Echo, err = sentThere(v, c, gid, r.Started); err != nil {
			return true, err
		}
	}
	if (c.Echo || o.Echo) && (id.linked || c.Base > 0 || g != nil) {
		// Not linked yet, an echo is tandem's create of a record it
		// knows, read before delivery could link the key: delivery does.
		r.echo(c, g, id.linked, o)
		return true, nil
	}
	if g == nil || !g.Deleted {
		return false, nil
	}
	// Delete wins: the record was deleted elsewhere; bring this system in line.
	if !id.linked {
		o.Link = Link{Kind: PutLink, At: shownAt(c)}
	}
	o.finish(store.Dropped, "record was deleted; the delete wins")
	o.Ver, o.Send = g.Ver, []string{c.System}
	return true, nil
}

// validate checks a merged record against its entity's schema; a
// failure is a dead letter naming the field.
func (r *Resolver) validate(entity string, merged record.Fields) error {
	sch := r.schemas[entity]
	if sch == nil {
		return nil
	}
	err := sch.Validate(merged)
	if err == nil {
		return nil
	}
	var ie *mapping.InvalidError
	if errors.As(err, &ie) {
		return &deadErr{field: ie.Field, err: err}
	}
	return &deadErr{err: err}
}

// unchanged decides a change that leaves the golden record g as it is
// (an echo or a no-op): its source holds the record, unless its row was
// stale, in which case it is sent the record again.
func (r *Resolver) unchanged(c *store.Change, g *store.Golden, stale, fieldMerge bool, o *Outcome) {
	if c.At.After(g.At) && !fieldMerge {
		// Its users wrote the record as it is, later than its last
		// change: an older change arriving now must not undo that.
		g.At = c.At
		o.Golden = g
	}
	o.Ver = g.Ver
	if stale {
		o.Send = []string{c.System}
	} else {
		// The system holds the record as it is: nothing to send it.
		o.Settle = true
	}
	o.finish(store.Dropped, "no change (echo or no-op)")
}

// flip is where a change stands in a streak of flips (see flipped).
type flip struct {
	n    int
	peer string
}

// changed makes the golden record (g, or a new one when nil) as merged
// by c, a new version, with which system set each changed field, and
// routes it.
func (r *Resolver) changed(v View, c *store.Change, g *store.Golden, merged record.Fields, changed []string, fl flip, stale bool, o *Outcome) error {
	o.finish(store.Resolved, "")
	if g == nil {
		g = &store.Golden{Entity: c.Entity, GID: o.GID, Sources: map[string]string{}}
	} else {
		var err error
		if o.DropNatural, err = r.dropNatural(v, g); err != nil {
			return err
		}
	}
	if g.Sources == nil {
		g.Sources = map[string]string{}
	}
	for _, k := range changed {
		g.Sources[k] = c.System
	}
	created := g.Ver == 0
	g.Fields, g.Updated, g.Flips, g.FlipPeer = merged, r.Now(), fl.n, fl.peer
	if c.At.After(g.At) {
		g.At = c.At
	}
	o.Golden, o.NewVersion = g, true
	if val, ok := r.naturalValue(c.Entity, merged); ok {
		o.PutNatural = val
	}
	if created {
		changed = nil // a create goes everywhere
	}
	r.route(c, changed, o)
	if stale {
		o.Send = append(o.Send, c.System)
	}
	return nil
}

// translate turns the references of canon from the system's keys into
// global ids. A reference to a record that was deleted becomes empty
// (as ON DELETE SET NULL would make it), and cleared says so. A parent
// tandem does not know yet is left as it was, and the reason returned.
func (r *Resolver) translate(v View, c *store.Change, m *mapping.Map, canon record.Fields) (missing string, cleared bool, err error) {
	for f, ent := range m.Refs {
		key, ok := canon[f].(string)
		if !ok || key == "" {
			continue
		}
		pg, ok, err := v.GID(ent, c.System, key)
		if err != nil {
			return "", false, err
		}
		if !ok {
			// A key whose record went from the system keeps a tombstone.
			if pg, _, ok, err = v.Tombstone(ent, c.System, key); err != nil {
				return "", false, err
			}
			ok = ok && pg != ""
		}
		if ok {
			p, err := v.Golden(ent, pg)
			if err != nil {
				return "", false, err
			}
			if p != nil && p.Deleted {
				canon[f], cleared = nil, true
				continue
			}
		}
		if !ok {
			missing = fmt.Sprintf("waiting for %s %s of %s (field %q)", ent, key, c.System, f)
			continue
		}
		canon[f] = pg
	}
	return missing, cleared, nil
}

// link is how the change's key is to be linked to its record.
func link(c *store.Change, id identity) Link {
	switch {
	case id.linked:
		return Link{}
	case id.fresh:
		return Link{Kind: NewLink, At: shownAt(c)}
	}
	return Link{Kind: PutLink, At: shownAt(c)}
}

// shownAt is when the system showed the record of c, which its link
// holds from: the change's time, where known and not in the future.
func shownAt(c *store.Change) time.Time {
	now := time.Now()
	if !c.At.IsZero() && c.At.Before(now) {
		return c.At
	}
	return now
}
