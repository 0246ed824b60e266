package resolve

import (
	"github.com/tandemhub/tandem/internal/store"
)

// delete resolves a captured delete: the record its key names is gone
// from that system, and from every other once routed (delete wins).
func (r *pass) delete(tx store.Tx, c *store.Change, cnt *store.Count) error {
	gid, ok, err := tx.GID(c.Entity, c.System, c.Key)
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
		other, g, err := r.carried(tx, c.Entity, c.GID)
		if err != nil {
			return err
		}
		if g != nil && !g.Deleted && other != gid {
			if k, linked, err := tx.Key(c.Entity, other, c.System); err != nil {
				return err
			} else if !linked || k == c.Key {
				return r.vanish(tx, c, other, "", cnt)
			}
		}
	}
	if ok && c.Observed && !c.At.IsZero() {
		// Seen gone before tandem linked the key to the record it names
		// now (a system that gave the freed key to a new record): the
		// delete was of the record the key named before.
		at, linked, err := tx.LinkedAt(c.Entity, c.System, c.Key)
		if err != nil {
			return err
		}
		if linked && at.After(c.At) {
			return r.finish(tx, c, store.Dropped, "seen gone before its key was linked to the record it names now", cnt)
		}
	}
	if ok {
		return r.vanish(tx, c, gid, "", cnt)
	}
	if c.GID != "" {
		// A row tandem made, whose key it may not have linked yet (or
		// one an earlier store made, and this one matched anew).
		gid, g, err := r.carried(tx, c.Entity, c.GID)
		if err != nil {
			return err
		}
		if g != nil {
			if key, linked, err := tx.Key(c.Entity, gid, c.System); err != nil {
				return err
			} else if !linked {
				// Delivery may be about to link the key to it: the
				// tombstone tells it the record is gone, and when tandem
				// learnt so (by its own clock, as delivery's).
				if err := tx.Bury(c.Entity, c.System, c.Key, gid, r.Now()); err != nil {
					return err
				}
				return r.vanish(tx, c, gid, "", cnt)
			} else if key == c.Key {
				return r.vanish(tx, c, gid, "", cnt)
			}
		}
	}
	// Remember the key went, in case tandem is linking it right now.
	at := c.At
	if at.IsZero() {
		at = r.Now()
	}
	if err := tx.Bury(c.Entity, c.System, c.Key, c.GID, at); err != nil {
		return err
	}
	return r.finish(tx, c, store.Dropped, "delete of a record tandem never knew", cnt)
}

// vanish applies a delete of gid that c's system made: its key stops
// naming the record there (a tombstone remembers it), the golden record
// is deleted and the delete is routed to the other systems.
func (r *pass) vanish(tx store.Tx, c *store.Change, gid, why string, cnt *store.Count) error {
	c.GID = gid
	if key, ok, err := tx.Key(c.Entity, gid, c.System); err != nil {
		return err
	} else if ok && key == c.Key {
		if err := tx.Unlink(c.Entity, c.System, c.Key, r.Now()); err != nil {
			return err
		}
	}
	g, err := tx.Golden(c.Entity, gid)
	if err != nil {
		return err
	}
	if g == nil || g.Deleted {
		return r.finish(tx, c, store.Dropped, "already deleted", cnt)
	}
	if err := r.finish(tx, c, store.Resolved, why, cnt); err != nil {
		return err
	}
	if err := r.dropNatural(tx, g); err != nil {
		return err
	}
	g.Deleted, g.Ver, g.Updated = true, c.Seq, r.Now()
	if c.At.After(g.At) {
		g.At = c.At
	}
	if err := tx.PutGolden(g); err != nil {
		return err
	}
	if err := r.resolveDead(tx, c); err != nil {
		return err
	}
	return r.route(tx, c, g, nil)
}
