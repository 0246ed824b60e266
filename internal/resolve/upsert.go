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
func (r *Resolver) upsert(tx store.Tx, c *store.Change, m *mapping.Map, cnt *store.Count) error {
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
	flips := 0
	if g != nil && len(changed) > 0 {
		if flips, err = r.flipped(c, g, merged, changed); err != nil {
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
	return r.changed(tx, c, g, merged, changed, flips, stale, cnt)
}

// settled handles a change whose outcome its identity decides alone: a
// read from before the record went from the system, tandem's own write
// come back, a change of a record deleted elsewhere. It reports whether
// it did.
func (r *Resolver) settled(tx store.Tx, c *store.Change, id identity, cnt *store.Count) (bool, error) {
	gid, g := id.gid, id.g
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
func (r *Resolver) unchanged(tx store.Tx, c *store.Change, g *store.Golden, stale, fieldMerge bool, cnt *store.Count) error {
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

// changed writes the golden record (g, or a new one when nil) as merged
// by c, with which system set each changed field, and routes it.
func (r *Resolver) changed(tx store.Tx, c *store.Change, g *store.Golden, merged record.Fields, changed []string, flips int, stale bool, cnt *store.Count) error {
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
	g.Fields, g.Ver, g.Updated, g.Flips = merged, c.Seq, r.Now(), flips
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
func (r *Resolver) translate(tx store.Tx, c *store.Change, m *mapping.Map, canon record.Fields) (missing string, cleared bool, err error) {
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
func (r *Resolver) lose(tx store.Tx, c *store.Change, m *mapping.Map, canon record.Fields, id identity, refMissing, cleared bool, cnt *store.Count) error {
	g := id.g
	if err := r.link(tx, c, id); err != nil {
		return err
	}
	if err := r.resolveDead(tx, c); err != nil {
		return err
	}
	differs := refMissing || cleared
	for f, v := range canon {
		if m.Writes(f) && !record.Equal(v, g.Fields[f]) {
			differs = true
			break
		}
	}
	note := fmt.Sprintf("older than the record's last change (at %s); the newer one wins", g.At.UTC().Format(time.RFC3339Nano))
	if err := r.finish(tx, c, store.Dropped, note, cnt); err != nil {
		return err
	}
	if !differs {
		return nil
	}
	return tx.Enqueue(c.System, c.Entity, g.GID, g.Ver, r.Now())
}

// link links the change's key to its record, if it is not yet.
func (r *Resolver) link(tx store.Tx, c *store.Change, id identity) error {
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

// echo drops tandem's own write, come back. When it names the version it
// carried (c.Base) and the record has a newer one, the system applied
// that older state after the newer was made, by its own users say (their
// change may come just before this echo): the system is sent the record
// again. An echo of a key not yet linked is left for delivery or the
// system's report to link.
func (r *Resolver) echo(tx store.Tx, c *store.Change, g *store.Golden, linked bool, cnt *store.Count) error {
	if !linked || g == nil || g.Deleted || c.Base == 0 || c.Base >= g.Ver {
		return r.finish(tx, c, store.Dropped, "tandem's own write, come back", cnt)
	}
	note := fmt.Sprintf("tandem's own write of version %d, come back after version %d was made; the record is sent again", c.Base, g.Ver)
	if err := r.finish(tx, c, store.Dropped, note, cnt); err != nil {
		return err
	}
	return tx.Enqueue(c.System, c.Entity, g.GID, g.Ver, r.Now())
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
func sentThere(tx store.Tx, c *store.Change, gid string, started time.Time) (bool, error) {
	if !c.Observed && !c.At.IsZero() && c.At.After(started.Add(landsWithin)) {
		return false, nil
	}
	sent, err := tx.Sent(c.System, c.Entity, gid)
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
