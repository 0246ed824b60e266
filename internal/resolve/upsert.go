package resolve

import (
	"errors"
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// upsert resolves a create or update: it identifies the record, and
// unless that alone settles the change (settled), translates references,
// merges the change into the golden record and routes what changed.
func (r *pass) upsert(tx store.Tx, c *store.Change, m *mapping.Map, cnt *store.Count) error {
	canon, err := m.ToCanonical(c.Fields)
	if err != nil {
		var fe *mapping.FieldError
		if errors.As(err, &fe) {
			return &deadErr{field: fe.Field, err: err}
		}
		return &deadErr{err: err}
	}
	id, err := r.identify(tx, c, canon, cnt)
	if err != nil {
		return err
	}
	c.GID = id.gid
	if done, err := r.settled(tx, c, id, cnt); done || err != nil {
		return err
	}
	g := id.g
	missing, cleared, err := r.translate(tx, c, m, canon)
	if err != nil {
		return err
	}
	fieldMerge := r.cfg.Entities[c.Entity].FieldMerge()
	if !fieldMerge && g != nil && (older(c.At, g.At) || overwritten(c, g)) {
		return r.lose(tx, c, m, canon, id, missing != "", cleared, cnt)
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
	if !id.linked && r.parents[c.Entity] {
		r.unblocked = true
	}
	if err := r.link(tx, c, id); err != nil {
		return err
	}
	if err := r.resolveDead(tx, c); err != nil {
		return err
	}
	if g != nil && len(changed) == 0 {
		return r.unchanged(tx, c, g, stale, fieldMerge, cnt)
	}
	return r.changed(tx, c, g, merged, changed, fl, stale, cnt)
}

// settled handles a change whose outcome its identity decides alone: a
// read from before the record went from the system, tandem's own write
// come back, a change of a record deleted elsewhere. It reports whether
// it did.
func (r *pass) settled(tx store.Tx, c *store.Change, id identity, cnt *store.Count) (bool, error) {
	gid, g := id.gid, id.g
	if id.earlier {
		return true, r.finish(tx, c, store.Dropped, "a read of an earlier record under key "+c.Key+
			", from before tandem's record got the key; that record is gone from "+c.System, cnt)
	}
	if id.stale {
		return true, r.finish(tx, c, store.Dropped, "read before the record went from "+c.System+"; the delete wins", cnt)
	}
	if !c.Echo && !c.UsersStamp && g != nil && r.ReadsBack[c.System] {
		var err error
		if c.Echo, err = sentThere(tx, c, gid, r.Started); err != nil {
			return true, err
		}
	}
	if c.Echo && (id.linked || c.Base > 0 || g != nil) {
		// Not linked yet, an echo is tandem's create of a record it
		// knows, read before delivery could link the key: delivery does.
		return true, r.echo(tx, c, g, id.linked, cnt)
	}
	if g == nil || !g.Deleted {
		return false, nil
	}
	// Delete wins: the record was deleted elsewhere; bring this system in line.
	if !id.linked {
		if err := tx.PutLinkAt(c.Entity, c.System, c.Key, gid, shownAt(c)); err != nil {
			return true, err
		}
	}
	if err := r.finish(tx, c, store.Dropped, "record was deleted; the delete wins", cnt); err != nil {
		return true, err
	}
	return true, tx.Enqueue(c.System, c.Entity, gid, g.Ver, r.Now())
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

// unchanged finishes a change that leaves the golden record g as it is
// (an echo or a no-op): its source holds the record, unless its row was
// stale, in which case it is sent the record again.
func (r *pass) unchanged(tx store.Tx, c *store.Change, g *store.Golden, stale, fieldMerge bool, cnt *store.Count) error {
	if c.At.After(g.At) && !fieldMerge {
		// Its users wrote the record as it is, later than its last
		// change: an older change arriving now must not undo that.
		g.At = c.At
		if err := tx.PutGolden(g); err != nil {
			return err
		}
	}
	if stale {
		if err := tx.Enqueue(c.System, c.Entity, c.GID, g.Ver, r.Now()); err != nil {
			return err
		}
	} else if err := tx.Settle(c.System, c.Entity, c.GID, g.Ver); err != nil {
		// The system holds the record as it is: nothing to send it.
		return err
	}
	return r.finish(tx, c, store.Dropped, "no change (echo or no-op)", cnt)
}

// flip is where a change stands in a streak of flips (see flipped).
type flip struct {
	n    int
	peer string
}

// changed writes the golden record (g, or a new one when nil) as merged
// by c, with which system set each changed field, and routes it.
func (r *pass) changed(tx store.Tx, c *store.Change, g *store.Golden, merged record.Fields, changed []string, fl flip, stale bool, cnt *store.Count) error {
	if err := r.finish(tx, c, store.Resolved, "", cnt); err != nil {
		return err
	}
	if g == nil {
		g = &store.Golden{Entity: c.Entity, GID: c.GID, Sources: map[string]string{}}
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
	g.Fields, g.Ver, g.Updated, g.Flips, g.FlipPeer = merged, c.Seq, r.Now(), fl.n, fl.peer
	if c.At.After(g.At) {
		g.At = c.At
	}
	if err := tx.PutGolden(g); err != nil {
		return err
	}
	if v, ok := r.naturalValue(c.Entity, merged); ok {
		if err := tx.PutNatural(c.Entity, v, c.GID); err != nil {
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
		return tx.Enqueue(c.System, c.Entity, c.GID, g.Ver, r.Now())
	}
	return nil
}

// translate turns the references of canon from the system's keys into
// global ids. A reference to a record that was deleted becomes empty
// (as ON DELETE SET NULL would make it), and cleared says so. A parent
// tandem does not know yet is left as it was, and the reason returned.
func (r *pass) translate(tx store.Tx, c *store.Change, m *mapping.Map, canon record.Fields) (missing string, cleared bool, err error) {
	for f, ent := range m.Refs {
		v, ok := canon[f].(string)
		if !ok || v == "" {
			continue
		}
		pg, ok, err := tx.GID(ent, c.System, v)
		if err != nil {
			return "", false, err
		}
		if !ok {
			// A key whose record went from the system keeps a tombstone.
			if pg, _, ok, err = tx.Tombstone(ent, c.System, v); err != nil {
				return "", false, err
			}
			ok = ok && pg != ""
		}
		if ok {
			p, err := tx.Golden(ent, pg)
			if err != nil {
				return "", false, err
			}
			if p != nil && p.Deleted {
				canon[f], cleared = nil, true
				continue
			}
		}
		if !ok {
			missing = fmt.Sprintf("waiting for %s %s of %s (field %q)", ent, v, c.System, f)
			continue
		}
		canon[f] = pg
	}
	return missing, cleared, nil
}

// link links the change's key to its record, if it is not yet.
func (r *pass) link(tx store.Tx, c *store.Change, id identity) error {
	if id.linked {
		return nil
	}
	if id.fresh {
		return tx.NewLinkAt(c.Entity, c.System, c.Key, id.gid, shownAt(c))
	}
	return tx.PutLinkAt(c.Entity, c.System, c.Key, id.gid, shownAt(c))
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
