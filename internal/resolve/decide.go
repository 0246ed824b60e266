package resolve

import (
	"errors"
	"fmt"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Decide decides what change c comes to, reading v and writing nothing:
// its entry in the log and the writes that go with it (see Outcome).
// held says the record has held changes already, which c waits behind.
// again says c is decided a second time, after the Vanish its first
// outcome asked for was applied. Decide does not change c.
func (r *Resolver) Decide(v View, c *store.Change, held, again bool) (Outcome, error) {
	m := r.maps[c.System][c.Entity]
	if m == nil {
		return Outcome{}, fmt.Errorf("resolve: system %q has no mapping for entity %q", c.System, c.Entity)
	}
	o := Outcome{GID: c.GID}
	if held {
		o.finish(store.Held, "waiting behind an earlier held change of the same record")
		return o, nil
	}
	var err error
	if c.Op == record.Delete {
		err = r.delete(v, c, &o)
	} else {
		err = r.upsert(v, c, m, again, &o)
	}
	var de *deadErr
	var he *holdErr
	switch {
	case errors.As(err, &he):
		o.finish(store.Held, he.why)
		return o, nil
	case errors.As(err, &de):
		o.finish(store.Dead, fmt.Sprintf("%s %s %s: %v", c.System, c.Entity, c.Key, de.err))
		o.DeadField = de.field
		return o, nil
	}
	return o, err
}

// finish sets the change's entry in the log.
func (o *Outcome) finish(s store.State, note string) { o.State, o.Note = s, note }
