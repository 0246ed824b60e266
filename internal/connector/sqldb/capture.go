package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"tandem/internal/connector"
	"tandem/internal/record"
)

// seqs is the Ack token of a batch: the outbox rows it covers. Sequence
// numbers of concurrent transactions commit out of order, so a batch
// names its rows one by one; a lower one that shows up later is read
// by a later batch instead of being skipped.
type seqs []int64

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
		changes, err := e.resolve(ctx, rows)
		if err != nil {
			return connector.Batch{}, fmt.Errorf("read changes from %s system %q: %w", e.d.Name(), e.system, err)
		}
		return connector.Batch{Changes: changes, Ack: known}, nil
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
		r.all = strings.TrimSpace(op) != "U" || !cols.Valid
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
// last row of each record.
func (e *Engine) resolve(ctx context.Context, rows []outboxRow) ([]record.Change, error) {
	type last struct {
		seq  int64
		at   time.Time
		all  bool            // some row of the record changed all of it
		cols map[string]bool // else the columns its updates changed
	}
	keys := map[string][]string{}  // table name → keys, first-seen order
	latest := map[[2]string]last{} // (table, key) → last row
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
		for _, c := range r.cols {
			l.cols[c] = true
		}
		latest[id] = l
	}
	var out []record.Change
	for name, ks := range keys {
		for _, t := range e.byName[name] {
			found, err := e.fetch(ctx, t, ks)
			if err != nil {
				return nil, fmt.Errorf("read rows of %s: %w", t.Entity, err)
			}
			for _, k := range ks {
				c, ok := found[canonicalKey(t, k)]
				if !ok {
					c = record.Change{System: e.system, Entity: t.Entity, Key: k, Op: record.Delete}
				}
				l := latest[[2]string{name, k}]
				c.Version, c.At = l.seq, l.at
				if c.Op == record.Upsert && !l.all {
					c.Changed = make([]string, 0, len(l.cols))
					for col := range l.cols {
						c.Changed = append(c.Changed, col)
					}
					slices.Sort(c.Changed)
				}
				out = append(out, c)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b record.Change) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Entity, b.Entity))
	})
	return out, nil
}

// Ack deletes exactly the outbox rows of b.
func (e *Engine) Ack(ctx context.Context, b connector.Batch) error {
	s, ok := b.Ack.(seqs)
	if !ok {
		if b.Ack == nil {
			return nil
		}
		return fmt.Errorf("ack to %s system %q: not a token of this system (%T)", e.d.Name(), e.system, b.Ack)
	}
	if err := e.deleteSeqs(ctx, s); err != nil {
		return fmt.Errorf("ack %d changes to %s system %q: %w", len(s), e.d.Name(), e.system, err)
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
