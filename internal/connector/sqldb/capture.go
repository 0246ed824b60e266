package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tandemhub/tandem/internal/connector"
	"github.com/tandemhub/tandem/internal/record"
)

// seqs lists outbox rows. Sequence numbers of concurrent transactions
// commit out of order, so a batch names its rows one by one; a lower one
// that shows up later is read by a later batch instead of being skipped.
type seqs []int64

// ticket is the Ack token of a batch: the outbox rows it covers, and the
// id-table rows of records it found gone, to forget once it is stored.
type ticket struct {
	seqs  seqs
	stale []idRow
}

// outboxRow is one row of the outbox.
type outboxRow struct {
	seq int64
	tbl string
	key string
	at  time.Time
	// cols are the columns an update changed; all is set for inserts,
	// deletes and rows written before tandem recorded columns.
	cols []string
	all  bool
	op   byte // I, U or D
}

// Changes reads up to max outbox rows in sequence order and returns one
// change per record they name, with the record's current row (or a delete
// when the row is gone). Several rows of one record become one change whose
// Version is the highest sequence number. Nothing is released until Ack.
func (e *Engine) Changes(ctx context.Context, max int) (connector.Batch, error) {
	if err := e.checkReady(ctx); err != nil {
		return connector.Batch{}, err
	}
	if max <= 0 {
		max = defaultMax
	}
	for {
		rows, err := e.readOutbox(ctx, max)
		if err != nil {
			return connector.Batch{}, fmt.Errorf("read changes from %s system %q: %w", e.d.Name(), e.system, err)
		}
		var known, unknown seqs
		for _, r := range rows {
			if e.byName[r.tbl] == nil {
				unknown = append(unknown, r.seq)
				if _, warned := e.unmapped.LoadOrStore(r.tbl, true); !warned {
					e.log.Warn("dropping captured changes of a table that is no longer mapped; remove its tandem triggers",
						"table", r.tbl)
				}
				continue
			}
			known = append(known, r.seq)
		}
		if len(unknown) > 0 {
			// Triggers of tables no longer configured: nobody wants these rows.
			if err := e.deleteSeqs(ctx, unknown); err != nil {
				return connector.Batch{}, fmt.Errorf("drop changes of unmapped tables in %s system %q: %w", e.d.Name(), e.system, err)
			}
		}
		if len(known) == 0 && len(rows) == max {
			continue // a full page of unmapped rows: there may be more behind it
		}
		changes, stale, err := e.resolve(ctx, rows)
		if err != nil {
			return connector.Batch{}, fmt.Errorf("read changes from %s system %q: %w", e.d.Name(), e.system, err)
		}
		return connector.Batch{Changes: changes, Ack: &ticket{seqs: known, stale: stale}}, nil
	}
}

func (e *Engine) readOutbox(ctx context.Context, max int) ([]outboxRow, error) {
	var args []any
	q := "SELECT seq, tbl, k, at, op, cols FROM " + e.d.Outbox() + " ORDER BY seq LIMIT " + e.d.Param(&args, int64(max))
	rs, err := e.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []outboxRow
	for rs.Next() {
		var r outboxRow
		var at any
		var op string
		var cols sql.NullString
		if err := rs.Scan(&r.seq, &r.tbl, &r.key, &at, &op, &cols); err != nil {
			return nil, err
		}
		r.at = scanTime(at)
		if op = strings.TrimSpace(op); op != "" {
			r.op = op[0]
		}
		r.all = r.op != 'U' || !cols.Valid
		if !r.all && cols.String != "" {
			r.cols = strings.Split(cols.String, ",")
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

func scanTime(v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case []byte:
		t, _ := ParseTime(string(x))
		return t
	case string:
		t, _ := ParseTime(x)
		return t
	}
	return time.Time{}
}

// resolve turns outbox rows into changes, one per record, ordered by the
// last row of each record. A key whose row is gone is a delete. A row
// its users inserted since the last read (after any delete of the key)
// is marked Inserted, and its id-table entry, which can only be left
// from a record the key named before, is not trusted. A row that exists
// though the last row of its key is a delete was made by tandem itself
// after the users' delete (a key the system reused): its id-table entry
// is tandem's own. A row inserted after a delete of its key, whose
// id-table entry names a record, comes after a delete of that record. It
// also returns the id-table rows of keys whose
// record went, for Ack to forget.
func (e *Engine) resolve(ctx context.Context, rows []outboxRow) ([]record.Change, []idRow, error) {
	keys, latest := e.lastRows(rows)
	var out []record.Change
	var stale []idRow
	// The rows and the id table are read from one snapshot: tandem's own
	// write of a row under a key its users freed, made between two reads,
	// would otherwise lend the freed key's delete the id of tandem's new
	// record.
	err := e.snapshot(ctx, func(q querier) error {
		for name, ks := range keys {
			for _, t := range e.byName[name] {
				var ids []idRow
				var err error
				if out, ids, err = e.resolveTable(ctx, q, t, ks, latest, out); err != nil {
					return err
				}
				stale = append(stale, ids...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	slices.SortStableFunc(out, func(a, b record.Change) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Entity, b.Entity))
	})
	return out, stale, nil
}

// lastRow is what the outbox rows of one record in a batch say, up to
// its last.
type lastRow struct {
	seq   int64
	at    time.Time
	all   bool            // some row of the record changed all of it
	cols  map[string]bool // else the columns its updates changed
	del   int64           // seq of the last delete, 0 if none
	delAt time.Time       // when that delete was made
	ins   int64           // seq of the last insert, 0 if none
	insAt time.Time       // when that insert was made
}

// lastRows sums rows up by record, leaving out tables no longer mapped:
// the keys of each table in the order first seen, and what the rows of
// each (table, key) say.
func (e *Engine) lastRows(rows []outboxRow) (map[string][]string, map[[2]string]lastRow) {
	keys := map[string][]string{}     // table name → keys, first-seen order
	latest := map[[2]string]lastRow{} // (table, key) → last row
	for _, r := range rows {
		if e.byName[r.tbl] == nil {
			continue
		}
		id := [2]string{r.tbl, r.key}
		if _, ok := latest[id]; !ok {
			keys[r.tbl] = append(keys[r.tbl], r.key)
		}
		l, seen := latest[id]
		if !seen {
			l.cols = map[string]bool{}
		}
		l.seq, l.at, l.all = r.seq, r.at, l.all || r.all
		switch r.op {
		case 'D':
			l.del, l.delAt = r.seq, r.at
		case 'I':
			l.ins, l.insAt = r.seq, r.at
		}
		for _, c := range r.cols {
			l.cols[c] = true
		}
		latest[id] = l
	}
	return keys, latest
}

// resolveTable appends to out the changes of t's keys ks, as resolve
// says, reading their rows; it also gives the deletes of t already in
// out the global ids the id table holds for their keys. It returns the
// id-table rows of the keys whose record went.
func (e *Engine) resolveTable(ctx context.Context, q querier, t *table, ks []string, latest map[[2]string]lastRow, out []record.Change) ([]record.Change, []idRow, error) {
	found, err := e.fetch(ctx, q, t, ks)
	if err != nil {
		return nil, nil, fmt.Errorf("read rows of %s: %w", t.Entity, err)
	}
	var gone []string
	var reused []int // changes of rows inserted after a delete of their key
	for _, k := range ks {
		c, ok := found[canonicalKey(t, k)]
		l := latest[[2]string{t.Name, k}]
		switch {
		case !ok:
			c = record.Change{System: e.system, Entity: t.Entity, Key: k, Op: record.Delete}
			gone = append(gone, k)
		case l.ins > l.del:
			c.Inserted, c.InsertedAt, c.GID = true, l.insAt, ""
			gone = append(gone, k)
			if l.del > 0 {
				reused = append(reused, len(out))
			}
		}
		l.stamp(&c)
		out = append(out, c)
	}
	if e.betweenReads != nil {
		e.betweenReads()
	}
	ids, err := e.idsOf(ctx, q, t.Entity, gone)
	if err != nil {
		return nil, nil, fmt.Errorf("read the id table: %w", err)
	}
	// A delete names the record tandem made under the key, if it
	// made one: the key may not be linked yet.
	gidOf := make(map[string]string, len(ids))
	for _, id := range ids {
		gidOf[id.key] = id.gid
	}
	for i := range out {
		if c := &out[i]; c.Entity == t.Entity && c.Op == record.Delete && c.GID == "" {
			c.GID = gidOf[canonicalKey(t, c.Key)]
		}
	}
	// A row inserted after a delete of its key, where the id table
	// names a record: that record was deleted first (a key the
	// database gave again, maybe before tandem linked the key to
	// the record it made there). Its delete comes before the new
	// row, or tandem would never hear of it.
	for _, i := range reused {
		c := out[i]
		gid := gidOf[canonicalKey(t, c.Key)]
		if gid == "" {
			continue
		}
		l := latest[[2]string{t.Name, c.Key}]
		out = append(out, record.Change{System: e.system, Entity: t.Entity, Key: c.Key, Op: record.Delete,
			GID: gid, Version: l.del, At: l.delAt})
	}
	return out, ids, nil
}

// stamp gives c the version and time of the record's last row and, for
// an upsert none of whose rows changed all of it, the columns changed.
func (l lastRow) stamp(c *record.Change) {
	c.Version, c.At = l.seq, l.at
	if c.Op == record.Upsert && !l.all {
		c.Changed = make([]string, 0, len(l.cols))
		for col := range l.cols {
			c.Changed = append(c.Changed, col)
		}
		slices.Sort(c.Changed)
	}
}

// Ack forgets the id-table rows of records b found gone, then deletes
// exactly the outbox rows of b.
func (e *Engine) Ack(ctx context.Context, b connector.Batch) error {
	t, ok := b.Ack.(*ticket)
	if !ok {
		if b.Ack == nil {
			return nil
		}
		return fmt.Errorf("ack to %s system %q: not a token of this system (%T)", e.d.Name(), e.system, b.Ack)
	}
	if err := e.forget(ctx, t.stale); err != nil {
		return fmt.Errorf("ack to %s system %q: forget the ids of deleted rows: %w", e.d.Name(), e.system, err)
	}
	if err := e.deleteSeqs(ctx, t.seqs); err != nil {
		return fmt.Errorf("ack %d changes to %s system %q: %w", len(t.seqs), e.d.Name(), e.system, err)
	}
	return nil
}

var seqColumn = Column{Name: "seq", Type: "bigint", Kind: Int}

func (e *Engine) deleteSeqs(ctx context.Context, s seqs) error {
	for len(s) > 0 {
		n := min(len(s), maxList)
		vals := make([]any, n)
		for i, v := range s[:n] {
			vals[i] = v
		}
		s = s[n:]
		var args []any
		q := "DELETE FROM " + e.d.Outbox() + " WHERE " + e.d.In(&args, "seq", seqColumn, vals)
		if _, err := e.db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// snapshot runs fn's reads in one read-only transaction that sees the
// database as of one moment (see Dialect.Snapshot).
func (e *Engine) snapshot(ctx context.Context, fn func(querier) error) error {
	tx, err := e.db.BeginTx(ctx, e.d.Snapshot())
	if err != nil {
		return fmt.Errorf("begin a read: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(tx)
}

// HookCaptureReads sets a function that capture calls between its read
// of a batch's rows and its read of the id table, for tests of what may
// happen between the two.
func (e *Engine) HookCaptureReads(f func()) { e.betweenReads = f }
