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
	// alias is a global id the row carries, of a store tandem kept
	// before, which is to name gid from now on.
	alias string
	// vanish is set when the key named another record, gone from the
	// system since: that delete is applied first, and the change
	// identified again.
	vanish *Vanish
}

// identify finds the record a captured upsert is about. A linked key is
// trusted unless the evidence says it now names another record, in which
// case the record it named is gone from the system (see vanish). An
// unlinked key is identified by the global id the row carries, by the
// natural key, or made a new record. Identified again after such a
// vanish (again), a key is not taken for a read from before the record
// went.
func (r *Resolver) identify(v View, c *store.Change, canon record.Fields, again bool) (identity, error) {
	gid, linked, err := v.GID(c.Entity, c.System, c.Key)
	if err != nil {
		return identity{}, err
	}
	if linked {
		g, err := v.Golden(c.Entity, gid)
		if err != nil {
			return identity{}, err
		}
		why, err := r.replaced(v, c, canon, gid, g)
		if err != nil {
			return identity{}, err
		}
		if why == "" {
			return identity{gid: gid, linked: true, g: g}, nil
		}
		if earlier, err := r.readBeforeLinked(v, c); err != nil || earlier {
			// Logged with the record whose key it was read under.
			return identity{gid: gid, earlier: earlier}, err
		}
		vc := &store.Change{Change: record.Change{System: c.System, Entity: c.Entity, Key: c.Key, Op: record.Delete, At: c.At}}
		vo := Outcome{GID: gid}
		if err := r.vanish(v, vc, gid, why, &vo); err != nil {
			return identity{}, err
		}
		return identity{vanish: &Vanish{Change: vc, Outcome: vo}}, nil
	} else if again {
		// The key's record just vanished: the change is of another one.
	} else if old, at, ok, err := v.Tombstone(c.Entity, c.System, c.Key); err != nil {
		return identity{}, err
	} else if ok && !c.Inserted {
		stale, err := r.staleRead(v, c, canon, old, at)
		if err != nil || stale {
			return identity{gid: old, stale: stale}, err
		}
	}
	if c.GID != "" {
		gid, g, err := r.carried(v, c.Entity, c.GID)
		if err != nil {
			return identity{}, err
		}
		if g != nil && !r.otherNatural(canon, g) {
			return identity{gid: gid, g: g}, nil
		}
	}
	if nat, has := r.naturalValue(c.Entity, canon); has {
		gid, ok, err := v.Natural(c.Entity, nat)
		if err != nil {
			return identity{}, err
		}
		if ok {
			// Only adopt a match this system is not already linked to
			// under another key: that would be a second copy in it.
			k, other, err := v.Key(c.Entity, gid, c.System)
			if err != nil {
				return identity{}, err
			}
			if !other || k == c.Key {
				id := identity{gid: gid}
				if c.GID != "" && c.GID != gid {
					// The row carries the id of an earlier store: the
					// system's other rows with it are this record too.
					id.alias = c.GID
				}
				id.g, err = v.Golden(c.Entity, gid)
				return id, err
			}
		}
	}
	if c.GID != "" {
		if g, err := v.Golden(c.Entity, c.GID); err != nil || g == nil {
			// A record of a store tandem kept before, as the system's id
			// table or lookup field remembers it: keep its id.
			return identity{gid: c.GID}, err
		}
	}
	return identity{gid: ulid.Make().String(), fresh: true}, nil
}

// carried returns the record a carried global id names: the record of
// that id, or of the id it is an alias of.
func (r *Resolver) carried(v View, entity, gid string) (string, *store.Golden, error) {
	g, err := v.Golden(entity, gid)
	if err != nil || g != nil {
		return gid, g, err
	}
	alias, ok, err := v.Alias(entity, gid)
	if err != nil || !ok {
		return gid, nil, err
	}
	g, err = v.Golden(entity, alias)
	return alias, g, err
}

// replaced says why a linked key now names another record than gid's,
// or "" if nothing says so.
func (r *Resolver) replaced(v View, c *store.Change, canon record.Fields, gid string, g *store.Golden) (string, error) {
	switch {
	case c.Inserted:
		// The insert of the very row tandem linked (the initial snapshot
		// read it, and its insert is read from the outbox after; or its
		// insert and a later update are read again together after a
		// failed acknowledgement) is no news: only a row inserted after
		// the key was linked replaced it.
		at, ok, err := v.LinkedAt(c.Entity, c.System, c.Key)
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
		other, g, err := r.carried(v, c.Entity, c.GID)
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
func (r *Resolver) readBeforeLinked(v View, c *store.Change) (bool, error) {
	if c.Inserted || c.At.IsZero() {
		return false, nil
	}
	at, ok, err := v.LinkedAt(c.Entity, c.System, c.Key)
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
func (r *Resolver) staleRead(v View, c *store.Change, canon record.Fields, gid string, gone time.Time) (bool, error) {
	g, err := v.Golden(c.Entity, gid)
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
