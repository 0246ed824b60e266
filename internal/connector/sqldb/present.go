package sqldb

import (
	"context"
	"fmt"

	"github.com/tandemhub/tandem/internal/record"
)

// RowLocker is implemented by dialects whose databases lock single
// rows (the servers; SQLite locks the whole database for one writer).
type RowLocker interface {
	// LockRows is the clause that makes a SELECT lock the rows it reads
	// until the transaction ends without ever waiting for a row that
	// another transaction holds: such rows are left out (SKIP LOCKED),
	// or, where the database cannot skip them, the SELECT fails with an
	// error that Classify marks *connector.Busy.
	LockRows() string
}

// rowState is what present found of a row that writes expect to find.
type rowState uint8

const (
	gone   rowState = iota // not there: the system's users deleted it
	held                   // there, and locked by this transaction until it ends
	edited                 // held, and changed by the system's users since tandem last captured it
	busy                   // there, but another transaction holds it
)

// present looks at the rows that updates and deletes expect to find, and
// locks those it can so that none changes between this look and the
// write. It never waits for a row that one of the system's own
// transactions holds: waiting while holding other rows is how a
// deadlock starts, and the database may then choose the application's
// transaction as its victim. Such a row is busy, and left for later:
// the transaction that holds it may yet change it, delete it or roll
// back.
//
// Of the rows it holds, present then reads which have an edit tandem
// has yet to capture (a row in the outbox). This read takes no locks,
// so it never conflicts with the capture triggers of the applications'
// transactions; it still sees every committed edit of those rows,
// because it starts after the rows are locked (each statement of a
// READ COMMITTED transaction reads the latest commits), and no edit can
// commit while tandem holds them.
func (p *plan) present(ctx context.Context, ws []write) (map[string]rowState, error) {
	var keys []any
	seen := map[string]bool{}
	for _, w := range ws {
		key := w.key
		if w.unkeyed {
			key = nil
			if ptr, ok := p.gids[w.gid]; ok && *ptr != "" {
				k, err := Encode(p.t.key, *ptr)
				if err != nil {
					continue // reported when the write is planned
				}
				key = k
			}
		}
		if key == nil || seen[Format(key)] {
			continue
		}
		seen[Format(key)] = true
		keys = append(keys, key)
	}
	out := make(map[string]rowState, len(keys))
	d := p.e.d
	l, locks := d.(RowLocker)
	col := d.Quote(p.t.Key)
	find := func(keys []any, lock bool) ([]any, error) {
		var args []any
		q := "SELECT " + col + " FROM " + p.t.quoted + " WHERE " + d.In(&args, col, p.t.key, keys)
		if lock {
			q += l.LockRows()
		}
		rows, err := p.tx.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		found := make([]any, len(rows))
		for i, r := range rows {
			found[i] = Format(record.Normalize(r[0]))
		}
		return found, nil
	}
	for len(keys) > 0 {
		n := min(len(keys), maxList)
		part := keys[:n]
		keys = keys[n:]
		found, err := find(part, locks)
		if err != nil {
			return nil, fmt.Errorf("look for the rows to write: %w", err)
		}
		for _, k := range found {
			out[k.(string)] = held
		}
		if locks && len(found) < len(part) {
			// Rows left out are gone, or held by another transaction.
			var rest []any
			for _, k := range part {
				if _, ok := out[Format(k)]; !ok {
					rest = append(rest, k)
				}
			}
			there, err := find(rest, false)
			if err != nil {
				return nil, fmt.Errorf("look for the rows to write: %w", err)
			}
			for _, k := range there {
				out[k.(string)] = busy
			}
		}
		if len(found) == 0 {
			continue
		}
		var args []any
		q := "SELECT k FROM " + d.Outbox() + " WHERE tbl = " + d.Param(&args, p.t.Name) +
			" AND " + d.In(&args, "k", idKey, found)
		pending, err := p.tx.Query(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("look for unsynced edits of the rows to write: %w", err)
		}
		for _, r := range pending {
			k := canonicalKey(p.t, Format(record.Normalize(r[0])))
			if out[k] == held {
				out[k] = edited
				p.e.log.Debug("not overwriting an edit tandem has yet to capture", "entity", p.t.Entity, "key", k)
			}
		}
	}
	return out, nil
}
