package sqldb

import (
	"context"
	"fmt"
	"slices"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

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

// run plans the writes in their order and runs the statements, then
// records the global ids of the rows the call made.
func (p *plan) run(ctx context.Context, ws []write) error {
	if err := p.lookup(ctx, ws); err != nil {
		return err
	}
	rows, err := p.present(ctx, ws)
	if err != nil {
		return err
	}
	for i := range ws {
		w := &ws[i]
		key, known, madeHere, err := p.keyOf(ctx, w)
		if err != nil {
			return err
		}
		if w.op == record.Delete {
			p.planDelete(w, key, madeHere, rows)
			continue
		}
		if err := p.planUpsert(w, key, known, madeHere, rows); err != nil {
			return err
		}
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	return p.recordIDs(ctx)
}

// keyOf returns the key w writes (nil when unknown): its own, or for a
// write without one, the key its global id has in the id table or was
// given earlier in this call. known says the global id has a key;
// madeHere, that this call made its row. A key an insert of this call
// has yet to make is made first, by running the statements planned so
// far.
func (p *plan) keyOf(ctx context.Context, w *write) (key any, known, madeHere bool, err error) {
	key = w.key
	if !w.unkeyed || w.gid == "" {
		return key, false, false, nil
	}
	ptr, ok := p.gids[w.gid]
	if !ok {
		return key, false, false, nil
	}
	known = true
	madeHere = p.made[w.gid]
	if key != nil {
		return key, known, madeHere, nil
	}
	if *ptr == "" { // made earlier in this call, by an insert not yet run
		if err := p.flush(ctx); err != nil {
			return nil, false, false, err
		}
	}
	k, err := Encode(p.t.key, *ptr)
	if err != nil {
		return nil, false, false, fmt.Errorf("%s with global id %q has key %q in the id table: %w", p.t.Entity, w.gid, *ptr, err)
	}
	return k, known, madeHere, nil
}

// planDelete plans the delete w of the row under key (nil: a record never
// made here, so nothing to delete). Unless this call made the row, what
// present found of it decides: a row gone is deleted already, and a busy
// one or one with an edit still to capture is left for later.
func (p *plan) planDelete(w *write, key any, madeHere bool, rows map[string]rowState) {
	t := p.t
	if key == nil {
		p.keys[w.i] = new(string) // never made here: nothing to delete
		return
	}
	if !madeHere {
		switch k := Format(key); rows[k] {
		case busy:
			p.busyWrite(w, k)
			return
		case gone:
			p.keys[w.i] = &k // nothing to delete
			return
		case edited:
			// The key may name a new row its users inserted after
			// deleting the one tandem knows: wait until that is in.
			p.keys[w.i] = &k
			p.errs[w.i] = &connector.Busy{Err: fmt.Errorf(
				"%s key %q has a change tandem has yet to capture from %s system %q; it is deleted once that change is in",
				t.Entity, k, p.e.d.Name(), p.e.system)}
			return
		}
	}
	p.add('d', w, key, nil)
	p.dels = append(p.dels, Format(key))
}

// planUpsert plans the upsert w of the row under key (nil when unknown):
// a create without a key takes its global id as key, or has the
// database make one. An update of a row this call did not make is
// planned only if present found it held: a row gone stays deleted
// (Gone), and a busy one or one with an edit still to capture is left
// for later.
func (p *plan) planUpsert(w *write, key any, known, madeHere bool, rows map[string]rowState) error {
	t := p.t
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
		return nil
	}
	if (!w.unkeyed || known) && !madeHere {
		switch k := Format(key); rows[k] {
		case busy:
			p.busyWrite(w, k)
			return nil
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
			return nil
		case edited:
			// The row has an edit tandem has yet to capture: writing
			// would overwrite it. It is written once the edit is in
			// (which wins, or loses and is overwritten then).
			p.keys[w.i] = &k
			p.errs[w.i] = &connector.Busy{Err: fmt.Errorf(
				"%s key %q has an edit tandem has yet to capture from %s system %q; it is written once that edit is in",
				t.Entity, k, p.e.d.Name(), p.e.system)}
			return nil
		}
	}
	p.add('u', w, key, nil)
	if w.unkeyed && w.gid != "" && !known {
		p.remember(w.gid, p.keys[w.i])
	}
	return nil
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
