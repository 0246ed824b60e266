package sqldb

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// write is one record.Write checked and converted for its table.
type write struct {
	i       int // index in the call
	op      record.Op
	gid     string
	unkeyed bool     // the write has no Key: it is found, or made, by its global id
	key     any      // the encoded key (Key, or a create's own key field); nil when unknown
	cols    []Column // columns written, by name
	sig     string   // the names of cols, to group writes that share them
	vals    []any
}

// Apply writes records of entity in one transaction that the capture
// triggers ignore. Writes are grouped into multi-row statements; writes of
// one key keep their order. A create (an upsert without Key) first looks
// for its global id in the id table, so a create retried after a lost
// answer updates the row it made; otherwise it inserts, with the global id
// as key or, for tables that make their own keys, reading the new key
// back, and records the global id. A bad value or a constraint the
// database enforces fails the whole call with a *connector.Permanent error.
func (e *Engine) Apply(ctx context.Context, entity string, writes []record.Write) ([]record.Result, error) {
	t, err := e.table(entity)
	if err != nil {
		return nil, err
	}
	if len(writes) == 0 {
		return []record.Result{}, nil
	}
	ws := make([]write, len(writes))
	tc, _ := e.d.(TextChecker)
	for i := range writes {
		if ws[i], err = check(t, tc, i, &writes[i]); err != nil {
			return nil, fmt.Errorf("apply %s to %s system %q: %w", entity, e.d.Name(), e.system, err)
		}
	}
	if err := e.checkReady(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	p := &plan{e: e, t: t, keys: make([]*string, len(ws)), errs: make([]error, len(ws)),
		gids: map[string]*string{}, made: map[string]bool{}}
	err = e.d.Write(ctx, e.db, func(tx Tx) error {
		p.tx = tx
		return p.run(ctx, ws)
	})
	if err != nil {
		if !connector.IsPermanent(err) && !connector.IsBusy(err) {
			if b := e.d.Classify(err); connector.IsBusy(b) {
				err = b // a lock given up anywhere in the transaction
			}
		}
		return nil, fmt.Errorf("apply %d %s writes to %s system %q: %w", len(writes), entity, e.d.Name(), e.system, err)
	}
	res := make([]record.Result, len(ws))
	busy := 0
	for i, k := range p.keys {
		res[i].Key, res[i].Err = *k, p.errs[i]
		if p.errs[i] != nil {
			busy++
		}
	}
	e.log.Debug("applied", "entity", entity, "writes", len(ws), "busy", busy, "took", time.Since(start))
	return res, nil
}

// check validates w against t and converts its values; tc, if not nil,
// says which text the database cannot store.
func check(t *table, tc TextChecker, i int, w *record.Write) (write, error) {
	out := write{i: i, op: w.Op, gid: w.GID, unkeyed: w.Key == ""}
	which := func() string {
		if w.Key != "" {
			return fmt.Sprintf("%s key %q", t.Entity, w.Key)
		}
		return fmt.Sprintf("%s with global id %q", t.Entity, w.GID)
	}
	if w.Op != record.Upsert && w.Op != record.Delete {
		return out, &connector.Permanent{Err: fmt.Errorf("%s: unknown operation %v", which(), w.Op)}
	}
	if w.Key != "" {
		k, err := Encode(t.key, w.Key)
		if err != nil {
			return out, &connector.Permanent{Field: t.Key, Err: fmt.Errorf("%s: key column %q (%s): %w", which(), t.Key, t.key.Kind, err)}
		}
		out.key = k
	}
	if w.Op == record.Delete {
		return out, nil
	}
	names := make([]string, 0, len(w.Fields))
	for n := range w.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	out.cols = make([]Column, 0, len(names))
	out.vals = make([]any, 0, len(names))
	var sig strings.Builder
	for _, n := range names {
		c, ok := t.all[n]
		if !ok {
			return out, &connector.Permanent{Field: n, Err: fmt.Errorf("%s: table %q has no column %q", which(), t.Name, n)}
		}
		v, err := Encode(c, w.Fields[n])
		if err == nil && tc != nil {
			if s, ok := v.(string); ok {
				err = tc.CheckText(s)
			}
		}
		if err != nil {
			return out, &connector.Permanent{Field: n, Err: fmt.Errorf("%s: column %q (%s): %w", which(), n, c.Kind, err)}
		}
		if n == t.Key {
			if out.key == nil && v != nil {
				out.key = v // a create naming its own key
			}
			continue
		}
		out.cols = append(out.cols, c)
		out.vals = append(out.vals, v)
		sig.WriteString(n)
		sig.WriteByte(0)
	}
	out.sig = sig.String()
	return out, nil
}
