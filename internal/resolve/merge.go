package resolve

import (
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/mapping"
	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// older reports whether a change at c came before the golden record's
// last change at g: a change of unknown time is older than one of known
// time, and a golden record of unknown time is older than any change.
func older(c, g time.Time) bool {
	if g.IsZero() {
		return false
	}
	if c.IsZero() {
		return true
	}
	return c.Before(g)
}

// overwritten reports whether c, from the system and of the very time
// of the golden record's last change, is a read of that change's row as
// tandem overwrote it since: only tandem's own writes keep a row's
// updated-at (an API that stamps records itself gives every write a new
// one). Its content is not the user's, and the row gets the record back.
func overwritten(c *store.Change, g *store.Golden) bool {
	if c.At.IsZero() || !c.At.Equal(g.At) {
		return false
	}
	for _, sys := range g.Sources {
		if sys == c.System {
			return true
		}
	}
	return false
}

// lose drops a change older than the golden record, record-level "last
// change wins": the record changed since, elsewhere. Its source is sent
// the golden record when its row differs from it.
func (r *Resolver) lose(c *store.Change, m *mapping.Map, canon record.Fields, id identity, refMissing, cleared bool, o *Outcome) {
	g := id.g
	o.Link = link(c, id)
	o.ResolveDead = true
	differs := refMissing || cleared
	for f, v := range canon {
		if m.Writes(f) && !record.Equal(v, g.Fields[f]) {
			differs = true
			break
		}
	}
	o.finish(store.Dropped, fmt.Sprintf("older than the record's last change (at %s); the newer one wins", g.At.UTC().Format(time.RFC3339Nano)))
	if differs {
		o.Ver, o.Send = g.Ver, []string{c.System}
	}
}

// merge combines a change with the golden record. With record-level
// merge every field the system holds is taken. With field-level merge,
// where the source says which columns its users changed, only the fields
// read from them are news; the rest of its row may be stale (read before
// tandem wrote a newer value there) and must not undo other systems'
// changes: stale says the source should get the record back.
func (r *Resolver) merge(c *store.Change, m *mapping.Map, canon record.Fields, g *store.Golden, linked, fieldMerge bool) (merged record.Fields, changed []string, stale bool) {
	merged = record.Fields{}
	if g != nil {
		for k, v := range g.Fields {
			merged[k] = v
		}
	}
	var only map[string]bool
	if fieldMerge && c.Changed != nil && g != nil && linked {
		only = m.Changed(c.Changed)
	}
	for k, v := range canon {
		old, ok := merged[k]
		if only != nil && !only[k] {
			// An update that changed no mapped column sends nothing back:
			// were a field not to survive the trip to this system and back,
			// that would never end.
			stale = stale || (ok && len(c.Changed) > 0 && !record.Equal(old, v))
			continue
		}
		if !ok || !record.Equal(old, v) {
			changed = append(changed, k)
		}
		merged[k] = v
	}
	return merged, changed, stale
}
