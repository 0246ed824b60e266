package resolve

import (
	"fmt"
	"time"

	"github.com/tandemhub/tandem/internal/record"
	"github.com/tandemhub/tandem/internal/store"
)

// Two systems whose rules (or mappings) undo each other's values pass a
// record back and forth for ever: each takes tandem's write of the other's
// value for a reason to write its own, which tandem passes on in turn. A
// user who edits a record just after another system's user did is a
// flip too, but not a dozen times in a row, seconds apart.
const (
	// flipWithin is how soon after the record's last change a change must
	// come to count as a flip.
	flipWithin = 10 * time.Second
	// maxFlips is how many flips in a row tandem passes on; the next one
	// is stopped as a dead letter.
	maxFlips = 12
)

// flipped counts c's change of the golden record g as a flip when it
// takes a field from the system that set it last, within flipWithin of
// that change, and returns the flips in a row it makes and the system it
// took the field from. A streak goes on only while the same two systems
// take the field back from each other in turn, as rules that undo each
// other do; a third system, or a system taking it from another than the
// one that last took it from it, starts a new one: users of several
// systems editing a busy record are no loop. One flip too many is a dead
// letter naming the field, its two values and both systems: the record
// stops going round, and an operator sees why.
func (r *Resolver) flipped(c *store.Change, g *store.Golden, merged record.Fields, changed []string) (int, string, error) {
	if r.Now().Sub(g.Updated) >= flipWithin {
		return 0, "", nil
	}
	for _, f := range changed {
		from := g.Sources[f]
		if from == "" || from == c.System {
			continue
		}
		if g.Flips == 0 || g.FlipPeer != c.System {
			return 1, from, nil
		}
		if g.Flips < maxFlips {
			return g.Flips + 1, from, nil
		}
		return 0, "", &deadErr{field: f, err: fmt.Errorf(
			"field %q went back and forth between systems %d times in a row, each within %s of the last: %s now sets %#v where %s had just set %#v. "+
				"Their rules or mappings undo each other, so tandem stopped passing the record on; "+
				"make the systems agree on the value (a mapping's in must undo its out), then retry this dead letter",
			f, maxFlips+1, flipWithin, c.System, merged[f], from, g.Fields[f])}
	}
	return 0, "", nil
}
