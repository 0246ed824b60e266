package resolve

import (
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// identity is what identify found out about a captured record.
type identity struct {
	gid    string
	linked bool          // the system's key is linked to gid already
	fresh  bool          // gid was made just now: a record tandem never saw
	stale  bool          // a read of a record from before tandem saw it go from this system
	g      *store.Golden // its golden record, if any
	// earlier is set for a read of the key from before it was linked to
	// the record it names now, showing another record: one that had the
	// key before, and is gone from the system since (it gave the key to
	// tandem's record). It is news of neither.
	earlier bool
}

// identify finds the record a captured upsert is about. A linked key is
// trusted unless the evidence says it now names another record, in which
// case the record it named is gone from the system (see vanish). An
// unlinked key is identified by the global id the row carries, by the
// natural key, or made a new record.
func (r *pass) identify(tx store.Tx, c *store.Change, canon record.Fields, cnt *store.Count) (identity, error) {
	gid, linked, err := tx.GID(c.Entity, c.System, c.Key)
	if err != nil {
		return identity{}, err
	}
	if linked {
		g, err := tx.Golden(c.Entity, gid)
		if err != nil {
			return identity{}, err
		}
		why, err := r.replaced(tx, c, canon, gid, g)
		if err != nil {
			return identity{}, err
		}
		if why == "" {
			return identity{gid: gid, linked: true, g: g}, nil
		}
		if earlier, err := r.readBeforeLinked(tx, c); err != nil || earlier {
			// Logged with the record whose key it was read under.
			return identity{gid: gid, earlier: earlier}, err
		}
		v := &store.Change{Change: record.Change{System: c.System, Entity: c.Entity, Key: c.Key, Op: record.Delete, At: c.At}}
		if err := r.vanish(tx, v, gid, why, cnt); err != nil {
			return identity{}, err
		}
	} else if old, at, ok, err := tx.Tombstone(c.Entity, c.System, c.Key); err != nil {
		return identity{}, err
	} else if ok && !c.Inserted {
		stale, err := r.staleRead(tx, c, canon, old, at)
		if err != nil || stale {
			return identity{gid: old, stale: stale}, err
		}
	}
	if c.GID != "" {
		gid, g, err := r.carried(tx, c.Entity, c.GID)
		if err != nil {
			return identity{}, err
		}
		if g != nil && !r.otherNatural(canon, g) {
			return identity{gid: gid, g: g}, nil
		}
	}
	if v, has := r.naturalValue(c.Entity, canon); has {
		gid, ok, err := tx.Natural(c.Entity, v)
		if err != nil {
			return identity{}, err
		}
		if ok {
			// Only adopt a match this system is not already linked to
			// under another key: that would be a second copy in it.
			k, other, err := tx.Key(c.Entity, gid, c.System)
			if err != nil {
				return identity{}, err
			}
			if !other || k == c.Key {
				if c.GID != "" && c.GID != gid {
					// The row carries the id of an earlier store: the
					// system's other rows with it are this record too.
					if err := tx.PutAlias(c.Entity, c.GID, gid); err != nil {
						return identity{}, err
					}
				}
				g, err := tx.Golden(c.Entity, gid)
				return identity{gid: gid, g: g}, err
			}
		}
	}
	if c.GID != "" {
		if g, err := tx.Golden(c.Entity, c.GID); err != nil || g == nil {
			// A record of a store tandem kept before, as the system's id
			// table or lookup field remembers it: keep its id.
			return identity{gid: c.GID}, err
		}
	}
	return identity{gid: ulid.Make().String(), fresh: true}, nil
}

// carried returns the record a carried global id names: the record of
// that id, or of the id it is an alias of.
func (r *Resolver) carried(tx store.Tx, entity, gid string) (string, *store.Golden, error) {
	g, err := tx.Golden(entity, gid)
	if err != nil || g != nil {
		return gid, g, err
	}
	alias, ok, err := tx.Alias(entity, gid)
	if err != nil || !ok {
		return gid, nil, err
	}
	g, err = tx.Golden(entity, alias)
	return alias, g, err
}

// replaced says why a linked key now names another record than gid's,
// or "" if nothing says so.
func (r *pass) replaced(tx store.Tx, c *store.Change, canon record.Fields, gid string, g *store.Golden) (string, error) {
	switch {
	case c.Inserted:
		// The insert of the very row tandem linked (the initial snapshot
		// read it, and its insert is read from the outbox after; or its
		// insert and a later update are read again together after a
		// failed acknowledgement) is no news: only a row inserted after
		// the key was linked replaced it.
		at, ok, err := tx.LinkedAt(c.Entity, c.System, c.Key)
		if err != nil {
			return "", err
		}
		ins := c.InsertedAt
		if ins.IsZero() {
			ins = c.At
		}
		if !ok || at.IsZero() || ins.IsZero() || ins.After(at) {
			return "gone from " + c.System + ": its users inserted a new row under its key " + c.Key, nil
		}
	case c.GID != "" && c.GID != gid:
		// Only a record tandem knows is evidence: an id from a store
		// tandem kept before names none (the record was matched anew).
		other, g, err := r.carried(tx, c.Entity, c.GID)
		if err != nil {
			return "", err
		}
		if g != nil && other != gid {
			return fmt.Sprintf("gone from %s: its key %s now holds the record %s", c.System, c.Key, other), nil
		}
	}
	if c.Changed == nil && r.otherNatural(canon, g) {
		// A source that cannot tell an update from an insert: a row
		// under the key with another natural key is another record.
		return fmt.Sprintf("gone from %s: its key %s now holds a record with another natural key", c.System, c.Key), nil
	}
	return "", nil
}

// readBeforeLinked reports whether c, which shows another record under
// its key than the one the key is linked to, was read before the key was
// linked: then it is a row of an earlier record under the key, which the
// system has since deleted and given the key away, not a sign that the
// linked record went. A row its users inserted is judged by when they
// inserted it (see replaced); a read of unknown time proves nothing.
func (r *pass) readBeforeLinked(tx store.Tx, c *store.Change) (bool, error) {
	if c.Inserted || c.At.IsZero() {
		return false, nil
	}
	at, ok, err := tx.LinkedAt(c.Entity, c.System, c.Key)
	if err != nil || !ok || at.IsZero() {
		return false, err
	}
	return c.At.Before(at), nil
}

// otherNatural reports whether canon and g both have a natural key and
// the two differ.
func (r *Resolver) otherNatural(canon record.Fields, g *store.Golden) bool {
	if g == nil {
		return false
	}
	a, ok1 := r.naturalValue(g.Entity, canon)
	b, ok2 := r.naturalValue(g.Entity, g.Fields)
	return ok1 && ok2 && a != b
}

// staleRead reports whether a change of an unlinked key whose tombstone
// names gid is a read of that record from before it went: the same
// record by its carried id or natural key, and not newer than its going.
func (r *pass) staleRead(tx store.Tx, c *store.Change, canon record.Fields, gid string, gone time.Time) (bool, error) {
	g, err := tx.Golden(c.Entity, gid)
	if err != nil || g == nil {
		return false, err
	}
	if c.GID != "" && c.GID != gid {
		return false, nil
	}
	if r.otherNatural(canon, g) {
		return false, nil
	}
	if c.GID == gid {
		return true, nil
	}
	return !c.At.IsZero() && !c.At.After(gone), nil
}
