package resolve

import (
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Adopt links rows of a system whose changes of entity are not captured
// (it only receives the entity) to the records they are copies of: by
// the global id the row carries, else by the natural key. A store that
// is new to systems already in step (a lost or moved data directory)
// then updates those copies instead of making each a second time. Rows
// already linked, rows matching no record and rows of records the
// system already holds under another key are left alone. Adopt creates
// no record and routes nothing; it reports how many rows it linked.
func (r *Resolver) Adopt(tx store.Tx, system, entity string, rows []record.Change) (int, error) {
	m := r.maps[system][entity]
	if m == nil {
		return 0, nil
	}
	n := 0
	for _, c := range rows {
		if _, linked, err := tx.GID(entity, system, c.Key); err != nil {
			return n, err
		} else if linked {
			continue
		}
		gid := ""
		if c.GID != "" {
			other, g, err := r.carried(tx, entity, c.GID)
			if err != nil {
				return n, err
			}
			if g != nil && !g.Deleted {
				gid = other
			}
		}
		if gid == "" {
			canon, err := m.ToCanonical(c.Fields)
			if err != nil {
				continue // not a record tandem could have written
			}
			v, ok := r.naturalValue(entity, canon)
			if !ok {
				continue
			}
			found, ok, err := tx.Natural(entity, v)
			if err != nil {
				return n, err
			}
			if !ok {
				continue
			}
			gid = found
		}
		if _, other, err := tx.Key(entity, gid, system); err != nil {
			return n, err
		} else if other {
			continue
		}
		if err := tx.PutLinkAt(entity, system, c.Key, gid, time.Now()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
