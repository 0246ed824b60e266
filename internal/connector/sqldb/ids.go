package sqldb

import (
	"context"
	"fmt"

	"github.com/tandemhub/tandem/internal/record"
)

// The columns of the id table.
var (
	idEntity = Column{Name: "entity", Type: "text", Kind: Text}
	idGID    = Column{Name: "gid", Type: "text", Kind: Text}
	idKey    = Column{Name: "k", Type: "text", Kind: Text}
)

// idRow is one row of the id table.
type idRow struct{ entity, gid, key string }

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

// idsOf reads the id-table rows of entity's keys.
func (e *Engine) idsOf(ctx context.Context, q querier, entity string, keys []string) ([]idRow, error) {
	var out []idRow
	for len(keys) > 0 {
		n := min(len(keys), maxList)
		vals := make([]any, n)
		for i, k := range keys[:n] {
			vals[i] = k
		}
		keys = keys[n:]
		var err error
		if out, err = e.appendIDs(ctx, q, out, entity, vals); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// appendIDs appends to out the id-table rows of entity's keys vals, at
// most maxList of them.
func (e *Engine) appendIDs(ctx context.Context, qr querier, out []idRow, entity string, vals []any) ([]idRow, error) {
	var args []any
	q := "SELECT gid, k FROM " + e.d.IDs() + " WHERE entity = " + e.d.Param(&args, entity) + " AND " + e.d.In(&args, "k", idKey, vals)
	rows, err := qr.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gid, k string
		if err := rows.Scan(&gid, &k); err != nil {
			return nil, err
		}
		out = append(out, idRow{entity: entity, gid: gid, key: k})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// forget deletes id-table rows, each only while it still says what it said.
func (e *Engine) forget(ctx context.Context, ids []idRow) error {
	for _, id := range ids {
		var args []any
		q := "DELETE FROM " + e.d.IDs() + " WHERE entity = " + e.d.Param(&args, id.entity) +
			" AND gid = " + e.d.Param(&args, id.gid) + " AND k = " + e.d.Param(&args, id.key)
		if _, err := e.db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}
