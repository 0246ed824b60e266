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

// plan turns checked writes into statements and runs them in one transaction.
type plan struct {
	e     *Engine
	t     *table
	tx    Tx
	keys  []*string          // per write: its result key, filled once its statement ran
	errs  []error            // per write: why it was not applied (its row is busy)
	gids  map[string]*string // global id → key text ("" while its insert is pending)
	made  map[string]bool    // global ids whose rows this call made
	ids   [][2]any           // tandem_ids rows to record: global id, *string key
	dels  []any              // keys deleted or found gone, whose tandem_ids rows go
	seg   segment
	stmts []Stmt
}

// segment is a run of writes that one statement can carry: same kind, same
// columns, no key twice.
type segment struct {
	kind byte // 'u' upsert, 'i' insert with a generated key, 'd' delete
	sig  string
	cols []Column
	rows [][]any
	ptrs []*string // inserts: where each generated key goes
	seen map[string]bool
}

func (p *plan) run(ctx context.Context, ws []write) error {
	if err := p.lookup(ctx, ws); err != nil {
		return err
	}
	rows, err := p.present(ctx, ws)
	if err != nil {
		return err
	}
	t := p.t
	for i := range ws {
		w := &ws[i]
		key, known, madeHere := w.key, false, false
		if w.unkeyed && w.gid != "" {
			if ptr, ok := p.gids[w.gid]; ok {
				known = true
				madeHere = p.made[w.gid]
				if key == nil {
					if *ptr == "" { // made earlier in this call, by an insert not yet run
						if err := p.flush(ctx); err != nil {
							return err
						}
					}
					k, err := Encode(t.key, *ptr)
					if err != nil {
						return fmt.Errorf("%s with global id %q has key %q in the id table: %w", t.Entity, w.gid, *ptr, err)
					}
					key = k
				}
			}
		}
		if w.op == record.Delete {
			if key == nil {
				p.keys[w.i] = new(string) // never made here: nothing to delete
				continue
			}
			if !madeHere {
				switch k := Format(key); rows[k] {
				case busy:
					p.busyWrite(w, k)
					continue
				case gone:
					p.keys[w.i] = &k // nothing to delete
					continue
				case edited:
					// The key may name a new row its users inserted after
					// deleting the one tandem knows: wait until that is in.
					p.keys[w.i] = &k
					p.errs[w.i] = &connector.Busy{Err: fmt.Errorf(
						"%s key %q has a change tandem has yet to capture from %s system %q; it is deleted once that change is in",
						t.Entity, k, p.e.d.Name(), p.e.system)}
					continue
				}
			}
			p.add('d', w, key, nil)
			p.dels = append(p.dels, Format(key))
			continue
		}
		if key == nil && !t.KeyGenerated {
			if w.gid == "" {
				return &connector.Permanent{Field: t.Key, Err: fmt.Errorf("%s: a create needs a key or a global id", t.Entity)}
			}
			k, err := Encode(t.key, w.gid)
			if err != nil {
				return &connector.Permanent{Field: t.Key, Err: noKey(t, w.gid, err)}
			}
			key = k
		}
		if key == nil {
			ptr := new(string)
			p.add('i', w, nil, ptr)
			if w.gid != "" {
				p.remember(w.gid, ptr)
			}
			continue
		}
		if (!w.unkeyed || known) && !madeHere {
			switch k := Format(key); rows[k] {
			case busy:
				p.busyWrite(w, k)
				continue
			case gone:
				// The system's users deleted the row: writing would
				// bring it back. Delivery decides what the delete means.
				// The key names no record now: a create of the record
				// (made again where their delete does not count) must
				// not find the row by its global id.
				p.keys[w.i] = &k
				p.dels = append(p.dels, k)
				p.errs[w.i] = &connector.Gone{Err: fmt.Errorf("%s key %q is no longer in %s system %q",
					t.Entity, k, p.e.d.Name(), p.e.system)}
				continue
			case edited:
				// The row has an edit tandem has yet to capture: writing
				// would overwrite it. It is written once the edit is in
				// (which wins, or loses and is overwritten then).
				p.keys[w.i] = &k
				p.errs[w.i] = &connector.Busy{Err: fmt.Errorf(
					"%s key %q has an edit tandem has yet to capture from %s system %q; it is written once that edit is in",
					t.Entity, k, p.e.d.Name(), p.e.system)}
				continue
			}
		}
		p.add('u', w, key, nil)
		if w.unkeyed && w.gid != "" && !known {
			p.remember(w.gid, p.keys[w.i])
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	return p.recordIDs(ctx)
}

// noKey says why a create of t has no key: its global id, the key of
// last resort, does not fit the key column (err), and how to give it one.
func noKey(t *table, gid string, err error) error {
	if t.keyField {
		return fmt.Errorf("%s with global id %q has no value for the key column %q, and the global id cannot be a key of %s column %q (%w); "+
			"give the field mapped to %q a value in every record written here, or set key_generated: true if the table makes its own keys",
			t.Entity, gid, t.Key, t.key.Kind, t.Key, err, t.Key)
	}
	return fmt.Errorf("%s with global id %q: the global id cannot be a key of %s column %q (%w); "+
		"to keep the keys of the system the record comes from, map a field to the key column in both mappings (like fields: {%s: %s}), "+
		"or set key_generated: true if the table makes its own keys",
		t.Entity, gid, t.key.Kind, t.Key, err, t.Key, t.Key)
}

// busyWrite reports w not applied: another transaction holds its row.
func (p *plan) busyWrite(w *write, k string) {
	p.keys[w.i] = &k
	p.errs[w.i] = &connector.Busy{Err: fmt.Errorf(
		"%s key %q is locked by another transaction of %s system %q; tandem will write it once that transaction ends",
		p.t.Entity, k, p.e.d.Name(), p.e.system)}
}

func (p *plan) remember(gid string, key *string) {
	p.gids[gid] = key
	p.made[gid] = true
	p.ids = append(p.ids, [2]any{gid, key})
}

// The columns of the id table.
var (
	idEntity = Column{Name: "entity", Type: "text", Kind: Text}
	idGID    = Column{Name: "gid", Type: "text", Kind: Text}
	idKey    = Column{Name: "k", Type: "text", Kind: Text}
)

// LookupIDs is the plain form of Dialect.LookupIDs, for dialects whose
// planners need no help.
func LookupIDs(d Dialect, args *[]any, entity string, gids []any) string {
	return "SELECT gid, k FROM " + d.IDs() + " WHERE entity = " + d.Param(args, entity) +
		" AND " + d.In(args, "gid", idGID, gids)
}

// lookup reads the keys of the global ids that writes without a key name.
func (p *plan) lookup(ctx context.Context, ws []write) error {
	var gids []any
	seen := map[string]bool{}
	for _, w := range ws {
		if w.unkeyed && w.gid != "" && !seen[w.gid] {
			seen[w.gid] = true
			gids = append(gids, w.gid)
		}
	}
	d := p.e.d
	for len(gids) > 0 {
		n := min(len(gids), maxList)
		var args []any
		q := d.LookupIDs(&args, p.t.Entity, gids[:n])
		gids = gids[n:]
		rows, err := p.tx.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("look up global ids: %w", err)
		}
		for _, r := range rows {
			if r[1] == nil {
				continue
			}
			k := Format(record.Normalize(r[1]))
			p.gids[Format(record.Normalize(r[0]))] = &k
		}
	}
	return nil
}

// add puts one write into the current segment, starting a new one when it
// cannot share the statement.
func (p *plan) add(kind byte, w *write, key any, ptr *string) {
	s := &p.seg
	var k string
	if key != nil {
		k = Format(key)
	}
	if s.kind != kind || s.sig != w.sig || (kind == 'u' && s.seen[k]) {
		p.emit()
		*s = segment{kind: kind, sig: w.sig, cols: w.cols, seen: map[string]bool{}}
	}
	switch kind {
	case 'u':
		s.seen[k] = true
		s.rows = append(s.rows, append([]any{key}, w.vals...))
		p.keys[w.i] = &k
	case 'd':
		s.rows = append(s.rows, []any{key})
		p.keys[w.i] = &k
	case 'i':
		s.rows = append(s.rows, w.vals)
		s.ptrs = append(s.ptrs, ptr)
		p.keys[w.i] = ptr
	}
}

// emit turns the current segment into statements.
func (p *plan) emit() {
	s := &p.seg
	if len(s.rows) == 0 {
		return
	}
	d, t := p.e.d, p.t
	switch s.kind {
	case 'u':
		if absent := t.absent(s.cols); len(absent) == 0 {
			p.stmts = append(p.stmts, d.Upsert(t.quoted, []Column{t.key}, s.cols, s.rows)...)
		} else {
			p.stmts = append(p.stmts, d.Merge(t.quoted, t.key, s.cols, s.rows, absent)...)
		}
	case 'i':
		p.stmts = append(p.stmts, d.Insert(t.quoted, t.key, s.cols, s.rows, s.ptrs)...)
	case 'd':
		keys := make([]any, len(s.rows))
		for i, r := range s.rows {
			keys[i] = r[0]
		}
		p.stmts = append(p.stmts, d.Delete(t.quoted, t.key, keys)...)
	}
	*s = segment{}
}

// flush runs the statements planned so far.
func (p *plan) flush(ctx context.Context) error {
	p.emit()
	if len(p.stmts) == 0 {
		return nil
	}
	err := p.tx.Run(ctx, p.stmts)
	p.stmts = nil
	if err != nil {
		return p.e.d.Classify(err)
	}
	return nil
}

// recordIDs stores the global ids of the rows this call created, and
// forgets those of keys it deleted or made anew: a key names one record
// at a time, and a system may give a freed key to a new row.
func (p *plan) recordIDs(ctx context.Context) error {
	d := p.e.d
	gone := p.dels
	for _, id := range p.ids {
		k := *id[1].(*string)
		if k == "" {
			return fmt.Errorf("the database returned no key for the new %s with global id %q", p.t.Entity, id[0])
		}
		if k != id[0] { // a key that is the global id names no other record
			gone = append(gone, k)
		}
	}
	for len(gone) > 0 {
		n := min(len(gone), maxList)
		var args []any
		q := "DELETE FROM " + d.IDs() + " WHERE entity = " + d.Param(&args, p.t.Entity) + " AND " + d.In(&args, "k", idKey, gone[:n])
		gone = gone[n:]
		if err := p.tx.Run(ctx, []Stmt{{SQL: q, Args: args}}); err != nil {
			return fmt.Errorf("forget global ids of replaced rows: %w", err)
		}
	}
	if len(p.ids) == 0 {
		return nil
	}
	rows := make([][]any, len(p.ids))
	for i, id := range p.ids {
		k := *id[1].(*string)
		if k == "" {
			return fmt.Errorf("the database returned no key for the new %s with global id %q", p.t.Entity, id[0])
		}
		rows[i] = []any{p.t.Entity, id[0], k}
	}
	// A plain INSERT: when two calls create one record at once, the second
	// fails on the primary key (to be retried, finding the first's row)
	// instead of both making a row.
	if err := p.tx.Run(ctx, d.Upsert(d.IDs(), nil, []Column{idEntity, idGID, idKey}, rows)); err != nil {
		return fmt.Errorf("record global ids: %w", err)
	}
	return nil
}

// absent returns the required columns of t that cols lack: an upsert
// without them cannot insert a complete row.
func (t *table) absent(cols []Column) []Column {
	var out []Column
	for _, r := range t.required {
		if !slices.ContainsFunc(cols, func(c Column) bool { return c.Name == r.Name }) {
			out = append(out, r)
		}
	}
	return out
}
