package resolve

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/tandemhub/tandem/internal/store"
)

// writer applies outcomes to the store in one transaction, for one call
// of the resolver, and keeps what the call learns as it goes. It ends
// with the call: a rolled-back transaction leaves nothing behind.
type writer struct {
	*Resolver
	tx store.Tx
	// held marks records with held changes (system/entity/key): a later
	// change of one waits behind them.
	held map[string]bool
	// openDead is whether capture dead letters may be open; while false,
	// resolving them is skipped.
	openDead bool
	// unblocked is whether the call linked a new key of a parent entity.
	unblocked bool
	st        Stats
}

// begin starts a call in tx.
func (r *Resolver) begin(tx store.Tx) (*writer, error) {
	open, err := tx.HasOpenDead(store.StageCapture)
	return &writer{Resolver: r, tx: tx, held: map[string]bool{}, openDead: open, st: Stats{}}, err
}

// one decides c and applies the outcome. A c with Seq != 0 is in the log
// already (a held change). An outcome that asks for a Vanish first is
// applied, and c decided again, once.
func (w *writer) one(c *store.Change) error {
	hk := heldKey(c.System, c.Entity, c.Key)
	if c.Seq == 0 {
		cnt := w.st.of(c.System, c.Entity)
		cnt.Captured++
		cnt.LastCapture = w.Now()
	}
	again := false
	for {
		o, err := w.Decide(w.tx, c, w.held[hk], again)
		if err != nil {
			return err
		}
		if o.Vanish == nil {
			if o.State == store.Held {
				w.held[hk] = true
			}
			return w.write(c, o)
		}
		if again {
			return fmt.Errorf("resolve: %s %s %s: its key named another record again after that record vanished", c.System, c.Entity, c.Key)
		}
		if err := w.write(o.Vanish.Change, o.Vanish.Outcome); err != nil {
			return err
		}
		again = true
	}
}

// write applies o, the outcome of c: the log entry first (a new version
// is the change's position in the log), then links, the golden record
// and its index, dead letters and the outbound queue.
func (w *writer) write(c *store.Change, o Outcome) error {
	tx := w.tx
	cnt := w.st.of(c.System, c.Entity)
	c.GID = o.GID
	c.Echo = c.Echo || o.Echo
	if err := w.logChange(c, o.State, o.Note, cnt); err != nil {
		return err
	}
	ver := o.Ver
	if o.NewVersion {
		o.Golden.Ver, ver = c.Seq, c.Seq
	}
	if err := w.links(c, o); err != nil {
		return err
	}
	if o.DropNatural != "" {
		if err := tx.DeleteNatural(c.Entity, o.DropNatural); err != nil {
			return err
		}
	}
	if o.Golden != nil {
		if err := tx.PutGolden(o.Golden); err != nil {
			return err
		}
	}
	if o.PutNatural != "" {
		if err := tx.PutNatural(c.Entity, o.PutNatural, o.GID); err != nil {
			return err
		}
	}
	if o.ResolveDead && w.openDead {
		if err := tx.ResolveDead(store.StageCapture, c.System, c.Entity, c.Key); err != nil {
			return err
		}
	}
	if o.State == store.Dead {
		cnt.Dead++
		w.openDead = true
		if err := tx.AddDead(&store.DeadLetter{Stage: store.StageCapture, System: c.System, Entity: c.Entity,
			Key: c.Key, GID: c.GID, Op: c.Op, Fields: c.Fields, Field: o.DeadField, Error: o.Note, At: w.Now()}); err != nil {
			return err
		}
	}
	if o.Touch {
		// A delivery to the source itself may be in flight with an older
		// state; make it count for nothing so the source gets the new one.
		if err := tx.Touch(c.System, c.Entity, o.GID, ver); err != nil {
			return err
		}
	}
	for _, dst := range o.Send {
		if err := tx.Enqueue(dst, c.Entity, o.GID, ver, w.Now()); err != nil {
			return err
		}
	}
	if o.Settle {
		if err := tx.Settle(c.System, c.Entity, o.GID, ver); err != nil {
			return err
		}
	}
	w.unblocked = w.unblocked || o.Unblocked
	return nil
}

// links applies what o does to c's key: a link, an alias, an unlink, a
// tombstone.
func (w *writer) links(c *store.Change, o Outcome) error {
	tx := w.tx
	var err error
	switch o.Link.Kind {
	case PutLink:
		err = tx.PutLinkAt(c.Entity, c.System, c.Key, o.GID, o.Link.At)
	case NewLink:
		err = tx.NewLinkAt(c.Entity, c.System, c.Key, o.GID, o.Link.At)
	}
	if err != nil {
		return err
	}
	if o.Alias != "" {
		if err := tx.PutAlias(c.Entity, o.Alias, o.GID); err != nil {
			return err
		}
	}
	if o.Unlink {
		if err := tx.Unlink(c.Entity, c.System, c.Key, w.Now()); err != nil {
			return err
		}
	}
	if o.Bury != nil {
		return tx.Bury(c.Entity, c.System, c.Key, o.Bury.GID, o.Bury.At)
	}
	return nil
}

// logChange writes c to the log in state s (or updates it if already logged).
func (w *writer) logChange(c *store.Change, s store.State, note string, cnt *store.Count) error {
	c.State, c.Note = s, note
	if w.Resolver.log.Enabled(context.Background(), slog.LevelDebug) {
		w.Resolver.log.Debug("resolved", "system", c.System, "entity", c.Entity, "key", c.Key, "gid", c.GID, "op", c.Op,
			"state", s, "note", note, "at", c.At, "fields", c.Fields)
	}
	if s == store.Dropped {
		cnt.Dropped++
	}
	if c.Seq != 0 {
		return w.tx.SetState(c.Seq, s, note)
	}
	return w.tx.Append(c)
}
