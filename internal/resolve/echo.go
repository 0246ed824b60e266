package resolve

import (
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// echo drops tandem's own write, come back. When it names the version it
// carried (c.Base) and the record has a newer one, the system applied
// that older state after the newer was made, by its own users say (their
// change may come just before this echo): the system is sent the record
// again. An echo of a key not yet linked is left for delivery or the
// system's report to link.
func (r *Resolver) echo(c *store.Change, g *store.Golden, linked bool, o *Outcome) {
	if !linked || g == nil || g.Deleted || c.Base == 0 || c.Base >= g.Ver {
		o.finish(store.Dropped, "tandem's own write, come back")
		return
	}
	o.finish(store.Dropped, fmt.Sprintf("tandem's own write of version %d, come back after version %d was made; the record is sent again", c.Base, g.Ver))
	o.Ver, o.Send = g.Ver, []string{c.System}
}

// landsWithin is how long after a hub starts a write its predecessor
// sent may still land: requests the dead hub left buffered on the way
// (its own retries ended with it), and some skew between the system's
// clock and tandem's.
const landsWithin = 5 * time.Second

// sentThere reports whether c holds what a delivery of record gid to its
// system sent there before started (store.Tx.Sent): tandem's own write,
// read back by a hub that did not make it. A record the system stamped
// well after started was written since, by its users, whatever it holds
// (one saving a state tandem once sent is a change).
func sentThere(v View, c *store.Change, gid string, started time.Time) (bool, error) {
	if !c.Observed && !c.At.IsZero() && c.At.After(started.Add(landsWithin)) {
		return false, nil
	}
	sent, err := v.Sent(c.System, c.Entity, gid)
	if err != nil || len(sent) == 0 {
		return false, err
	}
	for _, s := range sent {
		if !s.At.Before(started) || (s.Stamp != 0 && s.Stamp != c.Version) {
			// This hub's own, or answered with another version than
			// the one read: its users wrote the record since.
			continue
		}
		same, n := true, 0
		for k, v := range s.Fields {
			got, ok := c.Fields[k]
			if !ok {
				continue
			}
			n++
			if !record.Equal(got, v) {
				same = false
				break
			}
		}
		if same && n > 0 {
			return true, nil
		}
	}
	return false, nil
}
