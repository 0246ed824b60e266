package resolve

import (
	"github.com/tandemhub/tandem/internal/store"
)

// delete decides a captured delete: the record its key names is gone
// from that system, and from every other once routed (delete wins).
func (r *Resolver) delete(v View, c *store.Change, o *Outcome) error {
	gid, ok, err := v.GID(c.Entity, c.System, c.Key)
	if err != nil {
		return err
	}
	if ok && c.GID != "" && c.GID != gid {
		// The row carried another live record's id, one this system
		// holds under no other key: the delete is of that record, which
		// the key named before tandem linked it to a new one (a system
		// that reuses keys). The new record stays. A carried id of a
		// record already deleted, or kept elsewhere, says nothing: a
		// source may remember an id the key held before its reuse.
		other, g, err := r.carried(v, c.Entity, c.GID)
		if err != nil {
			return err
		}
		if g != nil && !g.Deleted && other != gid {
			if k, linked, err := v.Key(c.Entity, other, c.System); err != nil {
				return err
			} else if !linked || k == c.Key {
				return r.vanish(v, c, other, "", o)
			}
		}
	}
	if ok && c.Observed && !c.At.IsZero() {
		// Seen gone before tandem linked the key to the record it names
		// now (a system that gave the freed key to a new record): the
		// delete was of the record the key named before.
		at, linked, err := v.LinkedAt(c.Entity, c.System, c.Key)
		if err != nil {
			return err
		}
		if linked && at.After(c.At) {
			o.finish(store.Dropped, "seen gone before its key was linked to the record it names now")
			return nil
		}
	}
	if ok {
		return r.vanish(v, c, gid, "", o)
	}
	if c.GID != "" {
		// A row tandem made, whose key it may not have linked yet (or
		// one an earlier store made, and this one matched anew).
		gid, g, err := r.carried(v, c.Entity, c.GID)
		if err != nil {
			return err
		}
		if g != nil {
			if key, linked, err := v.Key(c.Entity, gid, c.System); err != nil {
				return err
			} else if !linked {
				// Delivery may be about to link the key to it: the
				// tombstone tells it the record is gone, and when tandem
				// learnt so (by its own clock, as delivery's).
				o.Bury = &Burial{GID: gid, At: r.Now()}
				return r.vanish(v, c, gid, "", o)
			} else if key == c.Key {
				return r.vanish(v, c, gid, "", o)
			}
		}
	}
	// Remember the key went, in case tandem is linking it right now.
	at := c.At
	if at.IsZero() {
		at = r.Now()
	}
	o.Bury = &Burial{GID: c.GID, At: at}
	o.finish(store.Dropped, "delete of a record tandem never knew")
	return nil
}

// vanish decides a delete of gid that c's system made: its key stops
// naming the record there (a tombstone remembers it), the golden record
// is deleted, a new version, and the delete is routed to the other
// systems.
func (r *Resolver) vanish(v View, c *store.Change, gid, why string, o *Outcome) error {
	o.GID = gid
	if key, ok, err := v.Key(c.Entity, gid, c.System); err != nil {
		return err
	} else if ok && key == c.Key {
		o.Unlink = true
	}
	g, err := v.Golden(c.Entity, gid)
	if err != nil {
		return err
	}
	if g == nil || g.Deleted {
		o.finish(store.Dropped, "already deleted")
		return nil
	}
	o.finish(store.Resolved, why)
	if o.DropNatural, err = r.dropNatural(v, g); err != nil {
		return err
	}
	g.Deleted, g.Updated = true, r.Now()
	if c.At.After(g.At) {
		g.At = c.At
	}
	o.Golden, o.NewVersion = g, true
	o.ResolveDead = true
	r.route(c, nil, o)
	return nil
}
