package sqldb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tandemhub/tandem/internal/record"
)

const (
	// maxList is the most values put in one IN list.
	maxList = 1000
	// defaultMax is the page size when a caller asks for none.
	defaultMax = 500
)

// selectRows reads rows of t as upserts. where renders the condition (and
// any ORDER BY/LIMIT) after the select list, appending to args.
func (e *Engine) selectRows(ctx context.Context, q querier, t *table, where func(args *[]any) string) ([]record.Change, error) {
	d := e.d
	var args []any
	sel := "SELECT " + d.KeyText("r."+d.Quote(t.Key))
	for _, c := range t.cols {
		sel += ", r." + d.Quote(c.Name)
	}
	sel += ", i.gid FROM " + t.quoted + " r LEFT JOIN " + d.IDs() + " i ON i.entity = " + d.Param(&args, t.Entity) +
		" AND i.k = " + d.KeyText("r."+d.Quote(t.Key)) + " " + where(&args)

	rows, err := q.QueryContext(ctx, sel, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := make([]any, len(t.cols)+2)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []record.Change
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		c := record.Change{System: e.system, Entity: t.Entity, Op: record.Upsert,
			Key: Format(record.Normalize(vals[0])), Fields: make(record.Fields, len(t.cols))}
		for i, col := range t.cols {
			c.Fields[col.Name] = Decode(col, vals[i+1])
		}
		if g := vals[len(vals)-1]; g != nil {
			c.GID = Format(record.Normalize(g))
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Snapshot reads up to max rows of entity in key order after the cursor,
// which is the text of the last key read ("" for the start).
func (e *Engine) Snapshot(ctx context.Context, entity string, after string, max int) ([]record.Change, string, error) {
	t, err := e.table(entity)
	if err != nil {
		return nil, after, err
	}
	if max <= 0 {
		max = defaultMax
	}
	var from any
	if after != "" {
		if from, err = Encode(t.key, after); err != nil {
			return nil, after, fmt.Errorf("snapshot of %s in system %q: bad cursor %q: %w", entity, e.system, after, err)
		}
	}
	rows, err := e.selectRows(ctx, e.db, t, func(args *[]any) string {
		w := ""
		if after != "" {
			w = "WHERE r." + e.d.Quote(t.Key) + " > " + e.d.Param(args, from)
		}
		return w + " ORDER BY r." + e.d.Quote(t.Key) + " LIMIT " + e.d.Param(args, int64(max))
	})
	if err != nil {
		return nil, after, fmt.Errorf("snapshot of %s in %s system %q: %w", entity, e.d.Name(), e.system, err)
	}
	if len(rows) == 0 {
		return nil, after, nil
	}
	return rows, rows[len(rows)-1].Key, nil
}

// Fetch reads the current rows of entity with the given keys, in the order
// asked; a key without a row comes back as a delete.
func (e *Engine) Fetch(ctx context.Context, entity string, keys []string) ([]record.Change, error) {
	t, err := e.table(entity)
	if err != nil {
		return nil, err
	}
	found, err := e.fetch(ctx, e.db, t, keys)
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s system %q: %w", entity, e.d.Name(), e.system, err)
	}
	out := make([]record.Change, len(keys))
	for i, k := range keys {
		if c, ok := found[canonicalKey(t, k)]; ok {
			out[i] = c
			continue
		}
		out[i] = record.Change{System: e.system, Entity: entity, Key: k, Op: record.Delete}
	}
	return out, nil
}

// fetch reads the rows of t with the given keys, by canonical key.
// Keys that cannot be keys of t are absent.
func (e *Engine) fetch(ctx context.Context, q querier, t *table, keys []string) (map[string]record.Change, error) {
	found := make(map[string]record.Change, len(keys))
	var enc []any
	seen := map[string]bool{}
	for _, k := range keys {
		v, err := Encode(t.key, k)
		if err != nil || seen[Format(v)] {
			continue
		}
		seen[Format(v)] = true
		enc = append(enc, v)
	}
	for len(enc) > 0 {
		n := min(len(enc), maxList)
		part := enc[:n]
		enc = enc[n:]
		rows, err := e.selectRows(ctx, q, t, func(args *[]any) string {
			return "WHERE " + e.d.In(args, "r."+e.d.Quote(t.Key), t.key, part)
		})
		if err != nil {
			return nil, err
		}
		for _, c := range rows {
			found[canonicalKey(t, c.Key)] = c
		}
	}
	return found, nil
}

// canonicalKey is the key as the database would print it ("007" → "7"
// for an integer key), so keys compare the way the database compares them.
func canonicalKey(t *table, k string) string {
	if v, err := Encode(t.key, k); err == nil && v != nil {
		return Format(v)
	}
	return k
}

// querier runs read statements: the database itself, or one read
// transaction of it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}
