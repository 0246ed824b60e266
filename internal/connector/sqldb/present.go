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
	keys := p.expected(ws)
	out := make(map[string]rowState, len(keys))
	_, locks := p.e.d.(RowLocker)
	for len(keys) > 0 {
		n := min(len(keys), maxList)
		part := keys[:n]
		keys = keys[n:]
		if err := p.look(ctx, part, locks, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// expected returns the keys of the rows that ws expect to find, each
// once: a write's own key, or for a write without one, the key its
// global id has in the id table.
func (p *plan) expected(ws []write) []any {
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
	return keys
}

// look notes in out what present finds of the rows under keys (at most
// maxList of them): held (locked, when the database locks rows), busy,
// or gone (left out), and edited, of those held.
func (p *plan) look(ctx context.Context, keys []any, locks bool, out map[string]rowState) error {
	found, err := p.find(ctx, keys, locks)
	if err != nil {
		return fmt.Errorf("look for the rows to write: %w", err)
	}
	for _, k := range found {
		out[k.(string)] = held
	}
	if locks && len(found) < len(keys) {
		// Rows left out are gone, or held by another transaction.
		var rest []any
		for _, k := range keys {
			if _, ok := out[Format(k)]; !ok {
				rest = append(rest, k)
			}
		}
		there, err := p.find(ctx, rest, false)
		if err != nil {
			return fmt.Errorf("look for the rows to write: %w", err)
		}
		for _, k := range there {
			out[k.(string)] = busy
		}
	}
	if len(found) == 0 {
		return nil
	}
	return p.markEdited(ctx, found, out)
}

// find returns, as text, the keys of the rows among keys that exist;
// with lock, it locks them until the transaction ends, leaving out those
// another transaction holds (see RowLocker).
func (p *plan) find(ctx context.Context, keys []any, lock bool) ([]any, error) {
	d := p.e.d
	col := d.Quote(p.t.Key)
	var args []any
	q := "SELECT " + col + " FROM " + p.t.quoted + " WHERE " + d.In(&args, col, p.t.key, keys)
	if lock {
		q += d.(RowLocker).LockRows()
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

// markEdited marks edited the rows, of those held under the keys found,
// that have an edit tandem has yet to capture: a row in the outbox.
func (p *plan) markEdited(ctx context.Context, found []any, out map[string]rowState) error {
	d := p.e.d
	var args []any
	q := "SELECT k FROM " + d.Outbox() + " WHERE tbl = " + d.Param(&args, p.t.Name) +
		" AND " + d.In(&args, "k", idKey, found)
	pending, err := p.tx.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("look for unsynced edits of the rows to write: %w", err)
	}
	for _, r := range pending {
		k := canonicalKey(p.t, Format(record.Normalize(r[0])))
		if out[k] == held {
			out[k] = edited
			p.e.log.Debug("not overwriting an edit tandem has yet to capture", "entity", p.t.Entity, "key", k)
		}
	}
	return nil
}
